"""NumPy by hand: forward pass and hand-derived backward pass. Also the reference
that every other peer is checked against."""
import numpy as np

from common import Case
from workloads import W3_PARAMS, W4_PARAMS


def w0(d):
    w, x, lr = d["w"].copy(), d["x"], d["lr"]

    def step():
        cost = np.dot(w, x)
        w[:] -= lr * x                       # d cost / d w = x
        return cost
    return Case(step, lambda: [w])


def w1(d):
    a, b = d["a"], d["b"]
    return Case(lambda: a ** 2 + 2 * a * b + b ** 2)


def w2(d):
    X, y, lr = d["X"], d["y"], d["lr"]
    w, b = d["w"].copy(), d["b"].copy()
    n = X.shape[0]

    def step():
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        cost = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        e = (p - y) / n                      # d cost / d (X@w + b)
        w[:] -= lr * (X.T @ e)
        b[...] -= lr * e.sum()
        return cost
    return Case(step, lambda: [w, b])


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def w3(d):
    x, y, lr = d["x"], d["y"], d["lr"]
    W1, b1, W2, b2 = (d[k].copy() for k in W3_PARAMS)
    n = x.shape[1]
    cols = np.arange(n)

    def step():
        h = 1.0 / (1.0 + np.exp(-(W1 @ x + b1)))
        p = _softmax(W2 @ h + b2, axis=0)    # softmax(z2.T).T: per column
        cost = -np.mean(np.log(p[y, cols]))
        dz2 = p
        dz2[y, cols] -= 1.0
        dz2 /= n
        dz1 = (W2.T @ dz2) * h * (1.0 - h)
        W2[:] -= lr * (dz2 @ h.T)
        b2[:] -= lr * dz2.sum(axis=1, keepdims=True)
        W1[:] -= lr * (dz1 @ x.T)
        b1[:] -= lr * dz1.sum(axis=1, keepdims=True)
        return cost
    return Case(step, lambda: [W1, b1, W2, b2])


def w4(d):
    batches, lr = d["batches"], d["lr"]
    W1, b1, W2, b2, W3, b3 = (d[k].copy() for k in W4_PARAMS)

    def train_step(x, y):
        n = x.shape[0]
        rows = np.arange(n)
        h1 = np.tanh(x @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        p = _softmax(h2 @ W3 + b3, axis=1)
        cost = -np.mean(np.log(p[rows, y]))
        dz3 = p
        dz3[rows, y] -= 1.0
        dz3 /= n
        dz2 = (dz3 @ W3.T) * (1.0 - h2 ** 2)
        dz1 = (dz2 @ W2.T) * (1.0 - h1 ** 2)
        W3[:] -= lr * (h2.T @ dz3)
        b3[:] -= lr * dz3.sum(axis=0)
        W2[:] -= lr * (h1.T @ dz2)
        b2[:] -= lr * dz2.sum(axis=0)
        W1[:] -= lr * (x.T @ dz1)
        b1[:] -= lr * dz1.sum(axis=0)
        return cost

    def epoch():
        for x, y in batches:
            cost = train_step(x, y)
        return cost
    return Case(epoch, lambda: [W1, b1, W2, b2, W3, b3])


def workloads(variant=None):
    return {"W0": w0, "W1": w1, "W2": w2, "W3": w3, "W4": w4}
