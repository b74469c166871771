"""A network built layer by layer, trained with SGD, momentum and Adam on digits.

    python examples/digits_layers.py [--epochs N] [--small] [--mode M]

Each layer is a small object that owns its shared parameters and maps a
symbolic input to a symbolic output; a network is a list of layers.  The
optimizers are plain functions from (parameters, gradients) to an ``updates``
list, the way Theano code wrote them: momentum and Adam keep their state
(velocities, moment estimates, the step count) in shared variables of their
own, updated in the same compiled step as the weights.

The data are the 8x8 digits shipped with scikit-learn (no download).
"""
import argparse
import sys
import time

import numpy as np

import symgraph as sg
import symgraph.tensor as T

ACTIVATIONS = {
    "sigmoid": T.nnet.sigmoid,
    "tanh": T.tanh,
    "relu": T.nnet.relu,
    "softplus": T.nnet.softplus,
    "softmax": T.nnet.softmax,          # row-wise: the output layer
}


# ------------------------------------------------------------------- layers
class Dense:
    """``activation(x . W + b)`` for a minibatch ``x`` of row vectors."""

    def __init__(self, n_in, n_out, activation, rng, name):
        if activation == "softmax":         # the classifier starts from uniform probabilities
            W = np.zeros((n_in, n_out))
        else:                               # Glorot's range (x4 for the sigmoid), He's for relu
            scale = {"sigmoid": 4 * np.sqrt(6.0 / (n_in + n_out)),
                     "relu": np.sqrt(6.0 / n_in)}.get(activation, np.sqrt(6.0 / (n_in + n_out)))
            W = rng.uniform(-scale, scale, (n_in, n_out))
        self.W = sg.shared(W, name=f"W_{name}")
        self.b = sg.shared(np.zeros(n_out), name=f"b_{name}")
        self.activation = ACTIVATIONS[activation]
        self.params = [self.W, self.b]

    def __call__(self, x):
        return self.activation(T.dot(x, self.W) + self.b)


def build_network(sizes, activation, rng):
    """Hidden layers of ``sizes[1:-1]`` units, then a softmax over ``sizes[-1]`` classes."""
    layers = [Dense(n_in, n_out, activation, rng, name=str(k + 1))
              for k, (n_in, n_out) in enumerate(zip(sizes[:-2], sizes[1:-1]))]
    layers.append(Dense(sizes[-2], sizes[-1], "softmax", rng, name="out"))
    return layers


def forward(layers, x):
    for layer in layers:
        x = layer(x)
    return x


# --------------------------------------------------------------- optimizers
def sgd(params, grads, lr=0.2):
    return [(p, p - lr * g) for p, g in zip(params, grads)]


def momentum(params, grads, lr=0.05, mu=0.9):
    """Heavy-ball momentum: a velocity per parameter, in a shared variable."""
    updates = []
    for p, g in zip(params, grads):
        v = sg.shared(np.zeros_like(p.get_value()), name=f"velocity_{p.name}")
        v_new = mu * v - lr * g
        updates += [(v, v_new), (p, p + v_new)]
    return updates


def adam(params, grads, lr=0.005, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma and Ba): first and second moment estimates with bias correction."""
    t = sg.shared(0.0, name="adam_t")
    t_new = t + 1
    step = lr * T.sqrt(1 - beta2 ** t_new) / (1 - beta1 ** t_new)
    updates = [(t, t_new)]
    for p, g in zip(params, grads):
        m = sg.shared(np.zeros_like(p.get_value()), name=f"m_{p.name}")
        v = sg.shared(np.zeros_like(p.get_value()), name=f"v_{p.name}")
        m_new = beta1 * m + (1 - beta1) * g
        v_new = beta2 * v + (1 - beta2) * T.sqr(g)
        updates += [(m, m_new), (v, v_new), (p, p - step * m_new / (T.sqrt(v_new) + eps))]
    return updates


OPTIMIZERS = {"sgd": sgd, "momentum": momentum, "adam": adam}


# ----------------------------------------------------------------- training
def load_digits(seed=0):
    from sklearn.datasets import load_digits as sklearn_digits
    data = sklearn_digits()
    X, y = data.data / 16.0, data.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:450], order[450:]
    return (X[train], y[train]), (X[test], y[test])


def train(activation, optimizer, data, epochs=10, hidden=(64,), batch=32, seed=0):
    """Train one network; returns (test accuracies per epoch, seconds)."""
    (Xtr, ytr), (Xte, yte) = data
    rng = np.random.default_rng(seed)
    layers = build_network([Xtr.shape[1], *hidden, 10], activation, rng)
    params = [p for layer in layers for p in layer.params]
    x, y = T.dmatrix("x"), T.ivector("y")
    p = forward(layers, x)
    cost = T.mean(T.nnet.categorical_crossentropy(p, y))
    step = sg.function([x, y], cost, updates=OPTIMIZERS[optimizer](params, T.grad(cost, params)),
                       name=f"{activation}_{optimizer}")
    predict = sg.function([x], T.argmax(p, axis=1), name="predict")
    start, accuracies = time.perf_counter(), []
    for _ in range(epochs):
        order = rng.permutation(len(ytr))
        for k in range(0, len(order) - batch + 1, batch):
            rows = order[k:k + batch]
            step(Xtr[rows], ytr[rows])
        accuracies.append(float(np.mean(predict(Xte) == yte)))
    return accuracies, time.perf_counter() - start


def run(epochs=10, runs=None, hidden=(64,), show=print):
    """Train every (activation, optimizer) pair of ``runs``; returns {pair: accuracies}."""
    runs = runs or [(a, o) for a in ("sigmoid", "tanh", "relu") for o in OPTIMIZERS]
    data = load_digits()
    show(f"digits: {len(data[0][1])} training and {len(data[1][1])} test images; "
         f"layers 64-{'-'.join(map(str, hidden))}-10; {epochs} epochs\n")
    show(f"{'activation':>10s} {'optimizer':>9s}  test accuracy  seconds (compile included)")
    results = {}
    for activation, optimizer in runs:
        t0 = time.perf_counter()
        accuracies, _ = train(activation, optimizer, data, epochs, hidden)
        results[activation, optimizer] = accuracies
        show(f"{activation:>10s} {optimizer:>9s}  {accuracies[-1]:13.3f}  "
             f"{time.perf_counter() - t0:7.2f}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--small", action="store_true",
                        help="three pairs (sigmoid+sgd, tanh+momentum, relu+adam): a smoke test")
    parser.add_argument("--mode", default=None, help="numba (default), python, debug, cuda")
    args = parser.parse_args(argv)
    runs = [("sigmoid", "sgd"), ("tanh", "momentum"), ("relu", "adam")] if args.small else None
    with sg.config.change(mode=args.mode or sg.config.mode):
        results = run(args.epochs, runs)
    return 0 if min(acc[-1] for acc in results.values()) > 0.8 else 1


if __name__ == "__main__":
    sys.exit(main())
