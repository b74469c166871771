"""Numba by hand: njit kernels written the way an experienced Numba user would,
with the gradients derived by hand. BLAS (np.dot) for the matrix products, plain
loops for everything elementwise.

Numba's on-disk cache is off except in W5's fresh processes (SG_BENCH_NUMBA_CACHE=1,
with NUMBA_CACHE_DIR pointing to a temporary folder)."""
import os

import numpy as np
from numba import njit, prange

from common import Case
from workloads import W3_PARAMS, W4_PARAMS

CACHE = os.environ.get("SG_BENCH_NUMBA_CACHE") == "1"


@njit(cache=CACHE)
def _w0_step(w, x, lr):
    cost = 0.0
    for i in range(w.shape[0]):
        cost += w[i] * x[i]
        w[i] -= lr * x[i]
    return cost


def w0(d):
    w, x, lr = d["w"].copy(), d["x"], d["lr"]
    return Case(lambda: _w0_step(w, x, lr), lambda: [w])


@njit(cache=CACHE)
def _w1_kernel(a, b, out):
    for i in range(a.shape[0]):
        out[i] = a[i] ** 2 + 2.0 * a[i] * b[i] + b[i] ** 2


@njit(cache=CACHE, parallel=True)
def _w1_kernel_par(a, b, out):
    for i in prange(a.shape[0]):
        out[i] = a[i] ** 2 + 2.0 * a[i] * b[i] + b[i] ** 2


def _w1_with(kernel):
    def build(d):
        a, b = d["a"], d["b"]

        def step():
            # Allocated by NumPy, outside the kernel: NumPy's allocator gets huge
            # pages for big arrays, Numba's does not (DESIGN.md section 4).
            out = np.empty_like(a)
            kernel(a, b, out)
            return out
        return Case(step)
    return build


@njit(cache=CACHE)
def _w2_step(X, y, w, b, lr):
    n = X.shape[0]
    z = np.dot(X, w)
    e = np.empty(n)
    cost = 0.0
    for i in range(n):
        p = 1.0 / (1.0 + np.exp(-(z[i] + b[0])))
        cost -= y[i] * np.log(p) + (1 - y[i]) * np.log(1.0 - p)
        e[i] = (p - y[i]) / n
    g = np.dot(X.T, e)
    for j in range(w.shape[0]):
        w[j] -= lr * g[j]
    b[0] -= lr * e.sum()
    return cost / n


def w2(d):
    X, y, lr = d["X"], d["y"], d["lr"]
    w, b = d["w"].copy(), d["b"].reshape(1).copy()
    return Case(lambda: _w2_step(X, y, w, b, lr), lambda: [w, b])


@njit(cache=CACHE)
def _w3_step(W1, b1, W2, b2, x, y, lr):
    hid, dim = W1.shape
    cls, n = W2.shape[0], x.shape[1]
    h = np.dot(W1, x)
    for i in range(hid):
        for j in range(n):
            h[i, j] = 1.0 / (1.0 + np.exp(-(h[i, j] + b1[i, 0])))
    dz2 = np.dot(W2, h)
    cost = 0.0
    for j in range(n):                       # softmax down each column, then p - onehot
        m = -np.inf
        for k in range(cls):
            dz2[k, j] += b2[k, 0]
            m = max(m, dz2[k, j])
        s = 0.0
        for k in range(cls):
            dz2[k, j] = np.exp(dz2[k, j] - m)
            s += dz2[k, j]
        for k in range(cls):
            dz2[k, j] /= s
        cost -= np.log(dz2[y[j], j])
        dz2[y[j], j] -= 1.0
        for k in range(cls):
            dz2[k, j] /= n
    dz1 = np.zeros((hid, n))
    for i in range(hid):
        for j in range(n):
            s = 0.0
            for k in range(cls):
                s += W2[k, i] * dz2[k, j]
            dz1[i, j] = s * h[i, j] * (1.0 - h[i, j])
    for k in range(cls):
        g = 0.0
        for j in range(n):
            g += dz2[k, j]
        b2[k, 0] -= lr * g
        for i in range(hid):
            g = 0.0
            for j in range(n):
                g += dz2[k, j] * h[i, j]
            W2[k, i] -= lr * g
    # The expensive part: W1 -= lr * dz1 @ x.T done in place, row by row, without
    # materialising the 20 x 13989 gradient. One axpy per (row, sample) over x's
    # transposed rows keeps the inner loop contiguous, so LLVM vectorises it.
    xT = np.ascontiguousarray(x.T)
    for i in range(hid):
        row = W1[i]
        g = 0.0
        for j in range(n):
            g += dz1[i, j]
            a = lr * dz1[i, j]
            xr = xT[j]
            for c in range(dim):
                row[c] -= a * xr[c]
        b1[i, 0] -= lr * g
    return cost / n


def w3(d):
    x, y, lr = d["x"], d["y"], d["lr"]
    W1, b1, W2, b2 = (d[k].copy() for k in W3_PARAMS)
    return Case(lambda: _w3_step(W1, b1, W2, b2, x, y, lr), lambda: [W1, b1, W2, b2])


@njit(cache=CACHE)
def _bias_tanh(z, b):
    for i in range(z.shape[0]):
        for j in range(z.shape[1]):
            z[i, j] = np.tanh(z[i, j] + b[j])


@njit(cache=CACHE)
def _tanh_backward(dh, h):
    for i in range(dh.shape[0]):
        for j in range(dh.shape[1]):
            dh[i, j] *= 1.0 - h[i, j] * h[i, j]


@njit(cache=CACHE)
def _sgd(w, g, lr):
    w = w.reshape(w.size)
    g = g.reshape(g.size)
    for i in range(w.shape[0]):
        w[i] -= lr * g[i]


@njit(cache=CACHE)
def _w4_step(x, y, W1, b1, W2, b2, W3, b3, lr):
    n = x.shape[0]
    h1 = np.dot(x, W1)
    _bias_tanh(h1, b1)
    h2 = np.dot(h1, W2)
    _bias_tanh(h2, b2)
    dz3 = np.dot(h2, W3)
    cost = 0.0
    for i in range(n):                       # softmax along each row, then p - onehot
        m = -np.inf
        for k in range(dz3.shape[1]):
            dz3[i, k] += b3[k]
            m = max(m, dz3[i, k])
        s = 0.0
        for k in range(dz3.shape[1]):
            dz3[i, k] = np.exp(dz3[i, k] - m)
            s += dz3[i, k]
        for k in range(dz3.shape[1]):
            dz3[i, k] /= s
        cost -= np.log(dz3[i, y[i]])
        dz3[i, y[i]] -= 1.0
        for k in range(dz3.shape[1]):
            dz3[i, k] /= n
    dz2 = np.dot(dz3, W3.T)
    _tanh_backward(dz2, h2)
    dz1 = np.dot(dz2, W2.T)
    _tanh_backward(dz1, h1)
    _sgd(W3, np.dot(h2.T, dz3), lr)
    _sgd(b3, dz3.sum(axis=0), lr)
    _sgd(W2, np.dot(h1.T, dz2), lr)
    _sgd(b2, dz2.sum(axis=0), lr)
    _sgd(W1, np.dot(x.T, dz1), lr)
    _sgd(b1, dz1.sum(axis=0), lr)
    return cost / n


def w4(d):
    batches, lr = d["batches"], d["lr"]
    W1, b1, W2, b2, W3, b3 = (d[k].copy() for k in W4_PARAMS)

    def epoch():
        for x, y in batches:
            cost = _w4_step(x, y, W1, b1, W2, b2, W3, b3, lr)
        return cost
    return Case(epoch, lambda: [W1, b1, W2, b2, W3, b3])


def workloads(variant=None):
    if variant == "parallel":                # only W1 has a prange variant
        return {"W1": _w1_with(_w1_kernel_par)}
    return {"W0": w0, "W1": _w1_with(_w1_kernel), "W2": w2, "W3": w3, "W4": w4}
