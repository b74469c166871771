"""The deep-learning day of the LXMLS summer school (Lisbon), with symgraph.

    python examples/lxmls_mlp.py [--epochs N] [--batch B] [--small] [--mode M]

The lab's exercises, in order:

1. a symbolic log-linear layer, ``p(y | x) = softmax(W x + b)``, printed with
   ``debugprint``;
2. its forward pass in NumPy and compiled: the same probabilities;
3. the gradient of the mean negative log-likelihood, compiled with ``grad``,
   against the one written by hand;
4. the lab's timing comparison on a two-layer MLP (sigmoid hidden layer of
   20, softmax output): NumPy backpropagation written by hand, the compiled
   gradient with the update done in Python, and one compiled batch update
   (``updates`` + ``givens`` over the data held in shared variables).  All
   three start from the same weights and see the same minibatches, so they
   reach the same accuracy; only the time differs.

The lab trains on the Amazon sentiment corpus (bag-of-words counts over
13989 words, 2 classes).  There is no download here: ``make_sentiment_data``
draws documents of that shape, with words whose frequencies lean towards one
class, so there is something to learn.  As in the lab, examples are the
columns of ``x`` (features x examples) and ``W`` is (outputs x inputs).
"""
import argparse
import sys
import time

import numpy as np

import symgraph as theano          # the lab's spelling
import symgraph.tensor as T

N_FEATURES = 13989                 # the lab's vocabulary


# --------------------------------------------------------------------- data
def make_sentiment_data(n_train=1600, n_test=400, n_features=N_FEATURES, seed=0,
                        words_per_doc=120, n_sentiment_words=2000, strength=0.7,
                        zipf_exponent=0.6):
    """Synthetic bag-of-words reviews: ``(train_x, train_y), (test_x, test_y)``.

    ``x`` is (n_features, n_documents) of word counts (float64, mostly zeros);
    ``y`` the int32 labels 0 (negative) or 1 (positive).  Word frequencies
    follow a power law (flatter than Zipf's, as after removing stop words);
    ``n_sentiment_words`` of the words are ``exp(strength)`` times more
    frequent in one class and as much rarer in the other.
    """
    rng = np.random.default_rng(seed)
    frequency = 1.0 / np.arange(1, n_features + 1) ** zipf_exponent
    rng.shuffle(frequency)
    lean = np.zeros(n_features)
    chosen = rng.choice(n_features, size=n_sentiment_words, replace=False)
    lean[chosen] = strength * rng.choice([-1.0, 1.0], size=n_sentiment_words)
    n = n_train + n_test
    y = rng.integers(0, 2, size=n).astype("int32")
    lengths = rng.poisson(words_per_doc, size=n)
    x = np.zeros((n, n_features))
    for label in (0, 1):
        p = frequency * np.exp(lean if label else -lean)
        rows = np.flatnonzero(y == label)
        x[rows] = rng.multinomial(lengths[rows], p / p.sum())
    # stored one document per row, handed out transposed (a view): a minibatch
    # of documents, x[:, i:j], is then one contiguous block of memory
    return (x[:n_train].T, y[:n_train]), (x[n_train:].T, y[n_train:])


# ------------------------------------------------------ exercise 1: a layer
def log_linear_layer(n_in, n_out, rng):
    """The symbolic log-linear model: variables, shared weights, ``p(y | x)``."""
    x = T.dmatrix("x")                                   # features x examples
    W = theano.shared(rng.uniform(-0.1, 0.1, (n_out, n_in)), name="W", borrow=True)
    b = theano.shared(np.zeros((n_out, 1)), name="b", borrow=True,
                      broadcastable=(False, True))      # added to every column
    z = T.dot(W, x) + b
    p_y = T.nnet.softmax(z.T).T                          # softmax over the classes
    p_y.name = "p_y"
    return x, W, b, p_y


def numpy_log_linear(W, b, x):
    z = W.dot(x) + b
    e = np.exp(z - z.max(axis=0))
    return e / e.sum(axis=0)


def nll(p_y, y):
    """The mean negative log-likelihood of the labels ``y`` (the lab's F)."""
    cost = -T.mean(T.log(p_y[y, T.arange(y.shape[0])]))
    cost.name = "F"
    return cost


# ----------------------------------------------------------- the MLP (ex. 4)
def init_mlp(geometry, rng):
    """Weights as in the lab: uniform in +-sqrt(6 / (n_in + n_out)), times 4
    for sigmoid layers; biases zero.  A list of (W, b) NumPy pairs."""
    params = []
    for n_in, n_out in zip(geometry[:-1], geometry[1:]):
        bound = 4 * np.sqrt(6.0 / (n_in + n_out))
        params.append((rng.uniform(-bound, bound, (n_out, n_in)), np.zeros((n_out, 1))))
    return params


class NumpyMLP:
    """The lab's MLP with backpropagation written by hand."""

    def __init__(self, params):
        self.params = [(W.copy(), b.copy()) for W, b in params]

    def forward(self, x, all_layers=False):
        activations = [x]
        for k, (W, b) in enumerate(self.params):
            z = W.dot(activations[-1]) + b
            if k < len(self.params) - 1:
                activations.append(1.0 / (1.0 + np.exp(-z)))
            else:
                e = np.exp(z - z.max(axis=0))
                activations.append(e / e.sum(axis=0))
        return activations if all_layers else activations[-1]

    def grads(self, x, y):
        activations = self.forward(x, all_layers=True)
        error = activations[-1].copy()                   # d F / d z of the output layer
        error[y, np.arange(len(y))] -= 1.0
        error /= len(y)
        grads = []
        for k in range(len(self.params) - 1, -1, -1):
            W, _ = self.params[k]
            grads.append((error.dot(activations[k].T), error.sum(axis=1, keepdims=True)))
            if k:
                h = activations[k]
                error = W.T.dot(error) * h * (1.0 - h)
        return grads[::-1]

    def update(self, x, y, lr):
        for (W, b), (gW, gb) in zip(self.params, self.grads(x, y)):
            W -= lr * gW
            b -= lr * gb

    def predict(self, x):
        return self.forward(x).argmax(axis=0)


class SymbolicMLP:
    """The same network as a symgraph graph over shared weights."""

    def __init__(self, params):
        self.x = T.dmatrix("x")
        self.y = T.ivector("y")
        self.params = []
        h = self.x
        for k, (W, b) in enumerate(params):
            W = theano.shared(W.copy(), name=f"W{k + 1}", borrow=True)
            b = theano.shared(b.copy(), name=f"b{k + 1}", borrow=True, broadcastable=(False, True))
            self.params += [W, b]
            z = T.dot(W, h) + b
            h = T.nnet.sigmoid(z) if k < len(params) - 1 else T.nnet.softmax(z.T).T
        self.p_y = h
        self.cost = nll(self.p_y, self.y)
        self.predict = theano.function([self.x], T.argmax(self.p_y, axis=0), name="predict")

    def compiled_gradient(self):
        """The lab's second version: ``grad`` compiled, the update in Python."""
        grads = theano.function([self.x, self.y], T.grad(self.cost, self.params), name="grads")

        def update(x, y, lr):
            for p, g in zip(self.params, grads(x, y)):
                p.set_value(p.get_value(borrow=True) - lr * g, borrow=True)
        return update

    def compiled_batch_update(self, train_x, train_y, batch, lr):
        """The lab's third version: one compiled function per minibatch, the data
        in shared variables and the minibatch chosen by ``givens``."""
        # one document per row (train_x.T is a view, not a copy): the window of
        # rows X[i*batch:(i+1)*batch] is contiguous, and its transpose is the
        # (features x batch) minibatch the graph was written for
        X = theano.shared(train_x.T, name="train_docs", borrow=True)
        Y = theano.shared(train_y, name="train_y", borrow=True)
        i = T.lscalar("i")
        window = slice(i * batch, (i + 1) * batch)
        updates = [(p, p - lr * g) for p, g in zip(self.params, T.grad(self.cost, self.params))]
        return theano.function([i], [], updates=updates, name="train_batch",
                               givens={self.x: X[window].T, self.y: Y[window]})

    def numpy_params(self):
        values = [p.get_value() for p in self.params]
        return list(zip(values[::2], values[1::2]))


# ------------------------------------------------------------------ the run
def _accuracy(predicted, y):
    return float(np.mean(predicted == y))


def run(epochs=5, batch=30, lr=0.3, hidden=20, n_train=1600, n_test=400, seed=1, show=print):
    """Every exercise in turn; returns the figures (the smoke test reads them)."""
    (train_x, train_y), (test_x, test_y) = make_sentiment_data(n_train, n_test, seed=seed)
    n_in = train_x.shape[0]
    nnz = np.count_nonzero(train_x) / train_x.shape[1]
    show(f"sentiment-like data: {train_x.shape[1]} training and {test_x.shape[1]} test "
         f"documents, {n_in} features ({nnz:.0f} distinct words per document), 2 classes\n")
    rng = np.random.default_rng(seed)
    result = {}

    # exercise 1: the symbolic layer
    x, W, b, p_y = log_linear_layer(n_in, 2, rng)
    show("exercise 1: the symbolic log-linear layer p(y | x) = softmax(W x + b)")
    show(theano.debugprint(p_y, file="str"))

    # exercise 2: NumPy forward against the compiled forward
    forward = theano.function([x], p_y, name="forward")
    p_numpy = numpy_log_linear(W.get_value(), b.get_value(), test_x)
    p_compiled = forward(test_x)
    result["forward_max_diff"] = float(np.max(np.abs(p_numpy - p_compiled)))
    show(f"exercise 2: NumPy and compiled forward agree: max |difference| "
         f"{result['forward_max_diff']:.2e}")

    # exercise 3: the compiled gradient against the one by hand
    y = T.ivector("y")
    F = nll(p_y, y)
    nabla_F = theano.function([x, y], T.grad(F, W), name="nabla_F")
    xb, yb = train_x[:, :batch], train_y[:batch]
    error = numpy_log_linear(W.get_value(), b.get_value(), xb)
    error[yb, np.arange(len(yb))] -= 1.0
    by_hand = error.dot(xb.T) / len(yb)
    result["grad_max_diff"] = float(np.max(np.abs(nabla_F(xb, yb) - by_hand)))
    show(f"exercise 3: compiled gradient T.grad(F, W) against backpropagation by hand: "
         f"max |difference| {result['grad_max_diff']:.2e}\n")

    # exercise 4: three ways to train the same MLP
    geometry = [n_in, hidden, 2]
    start = init_mlp(geometry, rng)
    n_batches = train_x.shape[1] // batch
    show(f"exercise 4: MLP {geometry}, sigmoid hidden layer, {epochs} epochs of "
         f"{n_batches} minibatches of {batch}, learning rate {lr}")

    numpy_mlp = NumpyMLP(start)
    mlp_b, mlp_c = SymbolicMLP(start), SymbolicMLP(start)
    t0 = time.perf_counter()
    update_b = mlp_b.compiled_gradient()
    update_c = mlp_c.compiled_batch_update(train_x, train_y, batch, lr)
    for f in (mlp_b.predict, mlp_c.predict):
        f(test_x[:, :1])
    compile_s = time.perf_counter() - t0
    show(f"  (compiling the gradient, the batch update and the predictors took {compile_s:.1f} s)")

    batches = [(train_x[:, k * batch:(k + 1) * batch], train_y[k * batch:(k + 1) * batch])
               for k in range(n_batches)]
    versions = [
        ("numpy", "NumPy, backpropagation by hand", lambda k: numpy_mlp.update(*batches[k], lr)),
        ("compiled_gradient", "compiled gradient, update in Python",
         lambda k: update_b(*batches[k], lr)),
        ("compiled_batch_update", "compiled batch update (givens)", lambda k: update_c(k)),
    ]
    seconds = {name: 0.0 for name, _, _ in versions}
    for _ in range(epochs):
        for name, _, step in versions:          # interleaved: the machine's load hits all three
            t0 = time.perf_counter()
            for k in range(n_batches):
                step(k)
            seconds[name] += time.perf_counter() - t0
    accuracy = {"numpy": _accuracy(numpy_mlp.predict(test_x), test_y),
                "compiled_gradient": _accuracy(mlp_b.predict(test_x), test_y),
                "compiled_batch_update": _accuracy(mlp_c.predict(test_x), test_y)}
    show(f"  {'':38s} {'training':>9s}  {'per step':>8s}  {'vs NumPy':>8s}  test accuracy")
    for name, label, _ in versions:
        per_step = seconds[name] / (epochs * n_batches)
        show(f"  {label:38s} {seconds[name]:7.3f} s  {per_step * 1e3:5.2f} ms  "
             f"{seconds['numpy'] / seconds[name]:7.2f}x  {accuracy[name]:.3f}")
    show(f"  fastest: {min(seconds, key=seconds.get)}; the same accuracy for all three: "
         f"{'yes' if len(set(accuracy.values())) == 1 else 'NO'}")
    result.update(seconds=seconds, accuracy=accuracy, compile_s=compile_s,
                  params={"numpy": numpy_mlp.params, "compiled_gradient": mlp_b.numpy_params(),
                          "compiled_batch_update": mlp_c.numpy_params()})
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=30)
    parser.add_argument("--lr", type=float, default=0.3)
    parser.add_argument("--small", action="store_true",
                        help="300 training and 100 test documents (a smoke test)")
    parser.add_argument("--mode", default=None, help="numba (default), python, debug, cuda")
    args = parser.parse_args(argv)
    sizes = dict(n_train=300, n_test=100) if args.small else {}
    with theano.config.change(mode=args.mode or theano.config.mode):
        result = run(epochs=args.epochs, batch=args.batch, lr=args.lr, **sizes)
    return 0 if len(set(result["accuracy"].values())) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
