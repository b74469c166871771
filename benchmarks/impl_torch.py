"""PyTorch CPU, eager mode: autograd for the gradients, SGD written out under no_grad."""
import torch

from common import Case
from workloads import W3_PARAMS, W4_PARAMS


def _tensor(a):
    return torch.from_numpy(a)               # shares memory with the NumPy data


def _sgd(params, cost, lr):
    cost.backward()
    with torch.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return cost.detach()


def _trainer(loss, params, lr):
    params = [torch.tensor(p, requires_grad=True) for p in params]   # copies
    return Case(lambda: _sgd(params, loss(*params), lr), lambda: [p.detach() for p in params])


def w0(d):
    x = _tensor(d["x"])
    return _trainer(lambda w: (w * x).sum(), [d["w"]], d["lr"])


def w1(d):
    a, b = _tensor(d["a"]), _tensor(d["b"])
    return Case(lambda: a ** 2 + 2 * a * b + b ** 2)


def w2(d):
    X, y = _tensor(d["X"]), _tensor(d["y"]).double()

    def loss(w, b):
        p = torch.sigmoid(X @ w + b)
        return -torch.mean(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    return _trainer(loss, [d["w"], d["b"]], d["lr"])


def w3(d):
    x, y = _tensor(d["x"]), _tensor(d["y"]).long()
    cols = torch.arange(y.shape[0])

    def loss(W1, b1, W2, b2):
        h = torch.sigmoid(W1 @ x + b1)
        logp = torch.log_softmax(W2 @ h + b2, dim=0)
        return -logp[y, cols].mean()
    return _trainer(loss, [d[k] for k in W3_PARAMS], d["lr"])


def _w4_loss(x, y, W1, b1, W2, b2, W3, b3):
    h1 = torch.tanh(x @ W1 + b1)
    h2 = torch.tanh(h1 @ W2 + b2)
    logp = torch.log_softmax(h2 @ W3 + b3, dim=1)
    return -logp[torch.arange(y.shape[0]), y].mean()


def w4(d):
    batches = [(_tensor(x), _tensor(y).long()) for x, y in d["batches"]]
    params = [torch.tensor(d[k], requires_grad=True) for k in W4_PARAMS]
    lr = d["lr"]

    def epoch():
        for x, y in batches:
            cost = _sgd(params, _w4_loss(x, y, *params), lr)
        return cost
    return Case(epoch, lambda: [p.detach() for p in params])


def workloads(variant=None):
    return {"W0": w0, "W1": w1, "W2": w2, "W3": w3, "W4": w4}
