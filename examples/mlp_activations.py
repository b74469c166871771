"""Deeper and deeper: affine + sigmoid / tanh / relu stacks of 2 to 5 layers on digits.

    python examples/mlp_activations.py [--epochs N] [--out DIR] [--small] [--mode M]

Every network is a stack of affine layers ``h = f(h . W + b)`` with the same
hidden width, a softmax on top and the mean cross-entropy as the cost, trained
by plain minibatch SGD with the same learning rate.  The training cost and the
validation cost and accuracy are recorded after every epoch and drawn as
curves, one panel per activation, into ``<out>/mlp_activations.png``.  With
the same initialisation rule for all, the deep sigmoid stacks are the slow
starters (their gradients shrink layer by layer), tanh and relu are not.
"""
import argparse
import os
import sys

import numpy as np

import symgraph as sg
import symgraph.tensor as T

ACTIVATIONS = {"sigmoid": T.nnet.sigmoid, "tanh": T.tanh, "relu": T.nnet.relu}


def load_digits(seed=0, n_validation=450):
    from sklearn.datasets import load_digits as sklearn_digits
    data = sklearn_digits()
    X, y = data.data / 16.0, data.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(y))
    valid, train = order[:n_validation], order[n_validation:]
    return (X[train], y[train]), (X[valid], y[valid])


def affine(x, W, b):
    return T.dot(x, W) + b


def build(n_layers, activation, n_in=64, width=32, n_out=10, seed=0):
    """``n_layers`` affine layers (``n_layers - 1`` hidden ones) and the softmax
    cross-entropy; returns (x, y, params, cost, accuracy)."""
    rng = np.random.default_rng(seed)
    sizes = [n_in] + [width] * (n_layers - 1) + [n_out]
    x, y = T.dmatrix("x"), T.ivector("y")
    h, params = x, []
    for k, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        bound = np.sqrt(6.0 / (a + b))            # Glorot's uniform range for every layer
        W = sg.shared(rng.uniform(-bound, bound, (a, b)), name=f"W{k + 1}")
        c = sg.shared(np.zeros(b), name=f"b{k + 1}")
        params += [W, c]
        z = affine(h, W, c)
        h = T.nnet.softmax(z) if k == len(sizes) - 2 else ACTIVATIONS[activation](z)
    cost = T.mean(T.nnet.categorical_crossentropy(h, y))
    accuracy = T.mean(T.eq(T.argmax(h, axis=1), y))
    return x, y, params, cost, accuracy


def train(n_layers, activation, data, epochs=20, lr=0.3, batch=32, seed=0):
    """Curves of one network: {'train_cost', 'valid_cost', 'valid_accuracy'}, one value per epoch."""
    (Xtr, ytr), (Xva, yva) = data
    x, y, params, cost, accuracy = build(n_layers, activation, seed=seed)
    updates = [(p, p - lr * g) for p, g in zip(params, T.grad(cost, params))]
    step = sg.function([x, y], cost, updates=updates, name="step")
    evaluate = sg.function([x, y], [cost, accuracy], name="evaluate")
    rng = np.random.default_rng(seed)
    curves = {"train_cost": [], "valid_cost": [], "valid_accuracy": []}
    for _ in range(epochs):
        order, costs = rng.permutation(len(ytr)), []
        for k in range(0, len(order) - batch + 1, batch):
            rows = order[k:k + batch]
            costs.append(float(step(Xtr[rows], ytr[rows])))
        valid_cost, valid_accuracy = evaluate(Xva, yva)
        curves["train_cost"].append(float(np.mean(costs)))
        curves["valid_cost"].append(float(valid_cost))
        curves["valid_accuracy"].append(float(valid_accuracy))
    return curves


def plot(results, path):
    """One panel per activation: training (solid) and validation (dashed) cost per depth."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    activations = sorted({a for a, _ in results}, key=list(ACTIVATIONS).index)
    depths = sorted({d for _, d in results})
    fig, axes = plt.subplots(1, len(activations), figsize=(4 * len(activations), 3.4),
                             sharey=True, squeeze=False)
    for ax, activation in zip(axes[0], activations):
        for colour, depth in zip(plt.cm.viridis(np.linspace(0, 0.85, len(depths))), depths):
            curves = results[activation, depth]
            epochs = np.arange(1, len(curves["train_cost"]) + 1)
            ax.plot(epochs, curves["train_cost"], color=colour, label=f"{depth} layers")
            ax.plot(epochs, curves["valid_cost"], color=colour, linestyle="--")
        ax.set_title(f"{activation} (dashed: validation)")
        ax.set_xlabel("epoch")
        ax.set_yscale("log")
    axes[0][0].set_ylabel("cross-entropy")
    axes[0][-1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def run(epochs=20, depths=(2, 3, 4, 5), activations=tuple(ACTIVATIONS), out=".", show=print):
    """Train every (activation, depth) pair, draw the curves; returns {(activation, depth): curves}."""
    data = load_digits()
    show(f"digits: {len(data[0][1])} training and {len(data[1][1])} validation images, "
         f"{epochs} epochs of SGD\n")
    show(f"{'activation':>10s} {'layers':>6s}  train cost  valid cost  valid accuracy")
    results = {}
    for activation in activations:
        for depth in depths:
            curves = train(depth, activation, data, epochs)
            results[activation, depth] = curves
            show(f"{activation:>10s} {depth:6d}  {curves['train_cost'][-1]:10.4f}  "
                 f"{curves['valid_cost'][-1]:10.4f}  {curves['valid_accuracy'][-1]:14.3f}")
    os.makedirs(out, exist_ok=True)
    show(f"\nwrote {plot(results, os.path.join(out, 'mlp_activations.png'))}")
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default=".", help="folder for mlp_activations.png")
    parser.add_argument("--small", action="store_true", help="depths 2 and 3 only (a smoke test)")
    parser.add_argument("--mode", default=None, help="numba (default), python, debug, cuda")
    args = parser.parse_args(argv)
    depths = (2, 3) if args.small else (2, 3, 4, 5)
    with sg.config.change(mode=args.mode or sg.config.mode):
        run(args.epochs, depths, out=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
