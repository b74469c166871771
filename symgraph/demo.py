"""The demo: a two-layer MLP trained on scikit-learn's digits, Theano style.

    python -m symgraph.demo [--mode numba|python|cuda] [--epochs N] [--out DIR]
    symgraph demo ...

It shows the whole idea in one run: symbolic variables and shared parameters,
the cost graph printed before and after the optimizer, ``grad``, one compiled
training step with an ``updates`` list and ``givens`` over the data held in
shared variables, training with a progress bar, and the pictures (the graph,
when graphviz's ``dot`` is installed, and the training curve).
"""
import argparse
import os
import shutil
import sys
import time

import numpy as np

import symgraph as sg
import symgraph.tensor as T


def load_digits(seed=0, test_fraction=0.25):
    """The 8x8 digits shipped with scikit-learn (no download), scaled to [0, 1]."""
    from sklearn.datasets import load_digits as sklearn_digits  # optional: the examples extra
    data = sklearn_digits()
    X = data.data / 16.0
    y = data.target.astype("int32")
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return (X[train], y[train]), (X[test], y[test])


def build_mlp(n_in, n_hidden, n_out, rng):
    """The model: ``p(y | x) = softmax(W2 . sigmoid(W1 . x + b1) + b2)``."""
    x = T.dmatrix("x")
    y = T.ivector("y")
    W1 = sg.shared(rng.uniform(-1, 1, (n_in, n_hidden)) * np.sqrt(6.0 / (n_in + n_hidden)), name="W1")
    b1 = sg.shared(np.zeros(n_hidden), name="b1")
    W2 = sg.shared(np.zeros((n_hidden, n_out)), name="W2")
    b2 = sg.shared(np.zeros(n_out), name="b2")
    hidden = T.nnet.sigmoid(T.dot(x, W1) + b1)
    hidden.name = "hidden"
    p = T.nnet.softmax(T.dot(hidden, W2) + b2)
    p.name = "p_y_given_x"
    # log(softmax(.)) is rewritten into the stable log_softmax by the optimizer
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    cost.name = "cost"
    return x, y, (W1, b1, W2, b2), p, cost


def train_step(x, y, params, cost, X_data, y_data, batch, lr):
    """One compiled SGD step over minibatch ``index`` of the shared data."""
    index = T.lscalar("index")
    updates = [(v, v - lr * g) for v, g in zip(params, T.grad(cost, params))]
    window = slice(index * batch, (index + 1) * batch)
    return sg.function([index], cost, updates=updates,
                       givens={x: X_data[window], y: y_data[window]}, name="train")


class _Progress:
    """One bar for the whole training (tqdm); plain lines every few epochs without it."""

    def __init__(self, total, show):
        try:
            from tqdm import tqdm  # optional: the examples extra
            self.bar = tqdm(total=total, desc="training", unit="step", file=sys.stdout)
        except ImportError:       # the bar is cosmetic: train without it
            self.bar = None
        self.show = show

    def step(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def epoch(self, k, epochs, cost, accuracy):
        if self.bar is not None:
            self.bar.set_postfix(epoch=k, cost=f"{cost:.4f}", test_acc=f"{accuracy:.3f}")
        elif k == 1 or k % 5 == 0 or k == epochs:
            self.show(f"epoch {k:3d}  cost {cost:.4f}  test accuracy {accuracy:.3f}")

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _count(var):
    return len(sg.graph.toposort([var]))


def _plot(losses, accuracies, path):
    try:
        import matplotlib  # optional: the examples extra
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # optional: the examples extra
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib); no training plot"
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(losses) + 1)
    ax.plot(epochs, losses, color="tab:blue", label="training cost")
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy", color="tab:blue")
    acc_ax = ax.twinx()
    acc_ax.plot(epochs, accuracies, color="tab:orange", label="test accuracy")
    acc_ax.set_ylabel("test accuracy", color="tab:orange")
    ax.set_title("symgraph demo: MLP on digits")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return f"wrote {path}"


def run(mode=None, epochs=30, out=".", batch=20, lr=0.5, hidden=64, seed=0, show=print):
    """Train and report; returns a dict of the figures (tests read it)."""
    (Xtr, ytr), (Xte, yte) = load_digits(seed)
    rng = np.random.default_rng(seed)
    x, y, params, p, cost = build_mlp(Xtr.shape[1], hidden, 10, rng)

    show(f"digits: {len(ytr)} training and {len(yte)} test images of 8x8 pixels; "
         f"MLP 64-{hidden}-10, minibatches of {batch}, mode={mode or sg.config.mode}\n")
    show(f"the cost as written ({_count(cost)} nodes):")
    show(sg.debugprint(cost, file="str"))
    optimized = sg.optimize(cost)
    show(f"the cost after the optimizer ({_count(optimized)} nodes):")
    show(sg.debugprint(optimized, file="str"))

    X_data = sg.shared(Xtr, name="X_train", borrow=True)
    y_data = sg.shared(ytr, name="y_train", borrow=True)
    start = time.perf_counter()
    with sg.config.change(mode=mode or sg.config.mode):
        train = train_step(x, y, params, cost, X_data, y_data, batch, lr)
        predict = sg.function([x], T.argmax(p, axis=1), name="predict")
        predict(Xte[:1])
    compile_s = time.perf_counter() - start
    show(f"compiled the training step ({len(train.graph.toposort())} nodes with the gradient "
         f"and updates) and the predictor in {compile_s:.2f} s")

    n_batches = len(ytr) // batch
    losses, accuracies, steps, train_s = [], [], 0, 0.0
    progress = _Progress(epochs * n_batches, show)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        total = 0.0
        for i in range(n_batches):
            total += float(train(i))
        train_s += time.perf_counter() - t0
        steps += n_batches
        progress.step(n_batches)
        losses.append(total / n_batches)
        accuracies.append(float(np.mean(predict(Xte) == yte)))
        progress.epoch(epoch + 1, epochs, losses[-1], accuracies[-1])
    progress.close()
    show(f"{steps / train_s:,.0f} training steps per second; test accuracy {accuracies[-1]:.3f}")

    os.makedirs(out, exist_ok=True)
    if shutil.which("dot"):
        path = sg.printing.pydotprint(train, outfile=os.path.join(out, "graph.svg"))
        show(f"wrote {path} (the compiled training step)")
    else:
        show("graphviz's `dot` was not found: install graphviz (apt-get install graphviz) "
             "to get graph.svg")
    show(_plot(losses, accuracies, os.path.join(out, "training.png")))
    return {"accuracy": accuracies[-1], "losses": losses, "compile_s": compile_s,
            "steps_per_s": steps / train_s}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="symgraph demo", description=__doc__.split("\n")[0])
    parser.add_argument("--mode", choices=["numba", "python", "cuda"], default=None,
                        help="the backend (default: sg.config.mode)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--out", default=".", help="folder for graph.svg and training.png")
    args = parser.parse_args(argv)
    result = run(args.mode, args.epochs, args.out)
    return 0 if result["accuracy"] >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
