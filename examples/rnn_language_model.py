"""An Elman recurrent language model trained with ``scan`` (the LXMLS kind).

    python examples/rnn_language_model.py [--epochs N] [--small] [--mode M]

Each word is an index into the vocabulary; the model reads a sentence one
word at a time,

    h_t = sigmoid(W_x[x_t] + h_{t-1} W_h)        (the embedding lookup is W_x[x_t])
    p(x_{t+1} | x_1..x_t) = softmax(h_t W_o)

and is trained by SGD on the mean cross-entropy of the next word, with the
gradient from ``T.grad`` through the scan (backpropagation through time).
``numpy_bptt`` is the same gradient written by hand, to check it.

The sentences are drawn from a random Markov chain over the vocabulary
(each word has a few likely successors), so the loss has something to learn.
"""
import argparse
import time

import numpy as np

import symgraph as theano          # the lab's spelling
import symgraph.tensor as T


def make_sentences(n_sentences, length, vocab, seed=0, successors=3):
    rng = np.random.default_rng(seed)
    nexts = rng.integers(0, vocab, size=(vocab, successors))
    data = np.empty((n_sentences, length), np.int32)
    for s in range(n_sentences):
        w = rng.integers(vocab)
        for t in range(length):
            data[s, t] = w
            w = nexts[w, rng.integers(successors)]
    return data


def init_params(vocab, hidden, seed=1):
    rng = np.random.default_rng(seed)
    return {"W_x": rng.normal(0, 0.1, (vocab, hidden)),
            "W_h": rng.normal(0, 0.1, (hidden, hidden)),
            "W_o": rng.normal(0, 0.1, (hidden, vocab))}


def build(params, learning_rate=0.5):
    """The symbolic model over shared parameters: (loss function, train step)."""
    shared = {k: theano.shared(v.copy(), name=k) for k, v in params.items()}
    W_x, W_h, W_o = shared["W_x"], shared["W_h"], shared["W_o"]
    x = T.ivector("x")                  # a sentence: the words, then the targets shifted
    h0 = T.zeros((W_h.shape[0],))

    def step(x_t, h_prev):
        return T.nnet.sigmoid(W_x[x_t] + T.dot(h_prev, W_h))
    h, _ = theano.scan(step, sequences=x[:-1], outputs_info=h0)
    p = T.nnet.softmax(T.dot(h, W_o))
    loss = T.mean(T.nnet.categorical_crossentropy(p, x[1:]))
    grads = T.grad(loss, [W_x, W_h, W_o])
    updates = [(w, w - learning_rate * g) for w, g in zip([W_x, W_h, W_o], grads)]
    loss_fn = theano.function([x], loss)
    grad_fn = theano.function([x], grads)
    train = theano.function([x], loss, updates=updates)
    return shared, loss_fn, grad_fn, train


def numpy_bptt(params, x):
    """The loss gradient by hand: forward through the sentence, then back."""
    W_x, W_h, W_o = params["W_x"], params["W_h"], params["W_o"]
    n = len(x) - 1
    hs = [np.zeros(W_h.shape[0])]
    for t in range(n):
        hs.append(1 / (1 + np.exp(-(W_x[x[t]] + hs[-1] @ W_h))))
    H = np.array(hs[1:])
    logits = H @ W_o
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    dlogits = p.copy()
    dlogits[np.arange(n), x[1:]] -= 1
    dlogits /= n
    g = {"W_x": np.zeros_like(W_x), "W_h": np.zeros_like(W_h), "W_o": H.T @ dlogits}
    dh_next = np.zeros(W_h.shape[0])
    for t in reversed(range(n)):
        dh = dlogits[t] @ W_o.T + dh_next
        dz = dh * hs[t + 1] * (1 - hs[t + 1])
        g["W_x"][x[t]] += dz
        g["W_h"] += np.outer(hs[t], dz)
        dh_next = dz @ W_h.T
    return [g["W_x"], g["W_h"], g["W_o"]]


def run(epochs=5, n_sentences=200, length=21, vocab=50, hidden=30, verbose=True):
    data = make_sentences(n_sentences, length, vocab)
    params = init_params(vocab, hidden)
    start = time.perf_counter()
    shared, loss_fn, grad_fn, train = build(params)
    compiled = time.perf_counter() - start
    diff = max(np.abs(a - b).max() for a, b in zip(grad_fn(data[0]), numpy_bptt(params, data[0])))
    if verbose:
        print(f"compiled in {compiled:.1f} s; gradient vs NumPy BPTT: max difference {diff:.1e}")
    losses = [float(np.mean([loss_fn(s) for s in data]))]
    for epoch in range(epochs):
        start = time.perf_counter()
        for s in data:
            train(s)
        losses.append(float(np.mean([loss_fn(s) for s in data])))
        if verbose:
            print(f"epoch {epoch + 1}: loss {losses[-1]:.3f} "
                  f"({len(data) / (time.perf_counter() - start):.0f} sentences/s)")
    return {"losses": losses, "grad_max_diff": diff}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--small", action="store_true", help="a quick run on less data")
    parser.add_argument("--mode", default=None, help="python, numba (default: the config's)")
    args = parser.parse_args(argv)
    if args.mode:
        theano.config.mode = args.mode
    run(epochs=2 if args.small else args.epochs, n_sentences=40 if args.small else 200)


if __name__ == "__main__":
    main()
