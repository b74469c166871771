"""The workloads written once as Theano-style graphs. symgraph and PyTensor both
build them from here, through a small adapter, so both compile the same graph."""
from dataclasses import dataclass
from typing import Any, Callable

from common import Case
from workloads import W3_PARAMS, W4_PARAMS


@dataclass
class Api:
    T: Any                       # the tensor namespace: dvector, dot, grad, ...
    shared: Callable             # shared(value, name, broadcastable=None)
    function: Callable           # function(inputs, output, updates)
    sigmoid: Callable
    softmax: Callable            # row-wise on a matrix


def _sgd(api, cost, params, lr):
    grads = api.T.grad(cost, params)
    return [(p, p - lr * g) for p, g in zip(params, grads)]


def _values(params):
    return lambda: [p.get_value() for p in params]


def w0(api, d):
    T = api.T
    w = api.shared(d["w"].copy(), "w")
    x = T.dvector("x")
    cost = T.sum(w * x)
    f = api.function([x], cost, _sgd(api, cost, [w], d["lr"]))
    xv = d["x"]
    return Case(lambda: f(xv), _values([w]))


def w1(api, d):
    a, b = api.T.dvectors("a", "b")
    f = api.function([a, b], a ** 2 + 2 * a * b + b ** 2, None)
    av, bv = d["a"], d["b"]
    return Case(lambda: f(av, bv))


def w2(api, d):
    T = api.T
    X, y = T.dmatrix("X"), T.ivector("y")
    w = api.shared(d["w"].copy(), "w")
    b = api.shared(d["b"].copy(), "b")
    p = api.sigmoid(T.dot(X, w) + b)
    cost = -T.mean(y * T.log(p) + (1 - y) * T.log(1 - p))
    f = api.function([X, y], cost, _sgd(api, cost, [w, b], d["lr"]))
    Xv, yv = d["X"], d["y"]
    return Case(lambda: f(Xv, yv), _values([w, b]))


def w3(api, d):
    T = api.T
    x, y = T.dmatrix("x"), T.ivector("y")
    W1 = api.shared(d["W1"].copy(), "W1")
    b1 = api.shared(d["b1"].copy(), "b1", broadcastable=(False, True))
    W2 = api.shared(d["W2"].copy(), "W2")
    b2 = api.shared(d["b2"].copy(), "b2", broadcastable=(False, True))
    h = api.sigmoid(T.dot(W1, x) + b1)
    p = api.softmax((T.dot(W2, h) + b2).T).T
    cost = -T.mean(T.log(p[y, T.arange(y.shape[0])]))
    params = [W1, b1, W2, b2]
    f = api.function([x, y], cost, _sgd(api, cost, params, d["lr"]))
    xv, yv = d["x"], d["y"]
    return Case(lambda: f(xv, yv), _values(params))


def w4(api, d):
    T = api.T
    x, y = T.dmatrix("x"), T.ivector("y")
    params = [api.shared(d[k].copy(), k) for k in W4_PARAMS]
    W1, b1, W2, b2, W3, b3 = params
    h1 = T.tanh(T.dot(x, W1) + b1)
    h2 = T.tanh(T.dot(h1, W2) + b2)
    p = api.softmax(T.dot(h2, W3) + b3)
    cost = -T.mean(T.log(p[T.arange(y.shape[0]), y]))
    f = api.function([x, y], cost, _sgd(api, cost, params, d["lr"]))
    batches = d["batches"]

    def epoch():
        for xv, yv in batches:
            c = f(xv, yv)
        return c
    return Case(epoch, _values(params))


def workloads(api):
    return {name: (lambda d, build=build: build(api, d))
            for name, build in [("W0", w0), ("W1", w1), ("W2", w2), ("W3", w3), ("W4", w4)]}
