"""The Elman RNN training step (issue 14's benchmark): sequence length 50,
hidden 100, vocabulary 1000, float64.  One step = forward through the
sentence with a scan, softmax cross-entropy of the next word, gradient
through the scan, SGD update of the three weight matrices.

    python benchmarks/rnn.py [--rounds 5] [--peers symgraph,numpy,pytensor,jax,torch]

Peers (each where installed): symgraph (numba), NumPy by hand (BPTT),
PyTensor's scan, JAX ``lax.scan`` under ``jit``, PyTorch (a Python loop
over ``nn.RNNCell``-style cells written with the same weights and autograd).
Rounds are interleaved; the table prints medians and ratios to symgraph,
plus each peer's compile (first call) time.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

LENGTH, HIDDEN, VOCAB, LR = 50, 100, 1000, 0.1


def data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, size=LENGTH + 1).astype(np.int32)
    params = [rng.normal(0, 0.1, (VOCAB, HIDDEN)), rng.normal(0, 0.1, (HIDDEN, HIDDEN)),
              rng.normal(0, 0.1, (HIDDEN, VOCAB))]
    return x, params


def peer_symgraph(x, params):
    import symgraph as sg
    import rnn_language_model as lm
    with sg.config.change(mode="numba"):
        shared, _, _, train = lm.build(dict(zip(["W_x", "W_h", "W_o"], params)), LR)
    return lambda: train(x), lambda: [shared[k].get_value() for k in ("W_x", "W_h", "W_o")]


def peer_numpy(x, params):
    import rnn_language_model as lm
    ps = [p.copy() for p in params]

    def step():
        grads = lm.numpy_bptt(dict(zip(["W_x", "W_h", "W_o"], ps)), x)
        for p, g in zip(ps, grads):
            p -= LR * g
    return step, lambda: ps


def peer_pytensor(x, params):
    import pytensor
    import pytensor.tensor as pt
    shared = [pytensor.shared(p.copy()) for p in params]
    W_x, W_h, W_o = shared
    xs = pt.ivector("x")
    h, _ = pytensor.scan(lambda x_t, h: pt.sigmoid(W_x[x_t] + pt.dot(h, W_h)),
                         sequences=xs[:-1], outputs_info=pt.zeros((HIDDEN,), "float64"))
    p = pt.special.softmax(pt.dot(h, W_o), axis=-1)
    loss = -pt.mean(pt.log(p[pt.arange(LENGTH), xs[1:]]))
    grads = pytensor.grad(loss, shared)
    f = pytensor.function([xs], loss, updates=[(w, w - LR * g) for w, g in zip(shared, grads)])
    return lambda: f(x), lambda: [s.get_value() for s in shared]


def peer_jax(x, params):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def loss_fn(ps, xs):
        W_x, W_h, W_o = ps

        def cell(h, x_t):
            h = jax.nn.sigmoid(W_x[x_t] + h @ W_h)
            return h, h
        _, hs = jax.lax.scan(cell, jnp.zeros(HIDDEN), xs[:-1])
        logp = jax.nn.log_softmax(hs @ W_o)
        return -jnp.mean(logp[jnp.arange(LENGTH), xs[1:]])

    @jax.jit
    def step(ps, xs):
        loss, g = jax.value_and_grad(loss_fn)(ps, xs)
        return [p - LR * gi for p, gi in zip(ps, g)], loss
    state = {"ps": [jnp.asarray(p) for p in params]}
    xs = jnp.asarray(x)

    def run():
        state["ps"], loss = step(state["ps"], xs)
        loss.block_until_ready()
    return run, lambda: [np.asarray(p) for p in state["ps"]]


def peer_torch(x, params):
    import torch
    torch.set_num_threads(os.cpu_count() or 1)
    ps = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    xs = torch.tensor(x, dtype=torch.long)

    def step():
        W_x, W_h, W_o = ps
        h, hs = torch.zeros(HIDDEN, dtype=torch.float64), []
        for t in range(LENGTH):
            h = torch.sigmoid(W_x[xs[t]] + h @ W_h)
            hs.append(h)
        logits = torch.stack(hs) @ W_o
        loss = torch.nn.functional.cross_entropy(logits, xs[1:])
        for p in ps:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in ps:
                p -= LR * p.grad
    return step, lambda: [p.detach().numpy() for p in ps]


PEERS = {"symgraph": peer_symgraph, "numpy": peer_numpy, "pytensor": peer_pytensor,
         "jax": peer_jax, "torch": peer_torch}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20, help="steps timed per round")
    parser.add_argument("--peers", default=",".join(PEERS))
    args = parser.parse_args(argv)
    x, params = data()
    steps, compile_s, after_one = {}, {}, {}
    for name in args.peers.split(","):
        try:
            start = time.perf_counter()
            step, get = PEERS[name](x, params)
            step()   # the first call compiles (JAX, and symgraph's cache misses)
            compile_s[name] = time.perf_counter() - start
            after_one[name] = [np.array(p) for p in get()]
            steps[name] = step
        except ImportError as exc:
            print(f"{name}: not installed ({exc.name})")
    # every peer took the same first step from the same weights
    ref = after_one.get("numpy")
    for name, ps in after_one.items():
        if ref is not None:
            err = max(float(np.abs(a - b).max()) for a, b in zip(ps, ref))
            print(f"{name}: after one step, max difference to NumPy {err:.1e}")
    times = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():       # interleaved
            start = time.perf_counter()
            for _ in range(args.calls):
                step()
            times[name].append((time.perf_counter() - start) / args.calls)
    base = statistics.median(times["symgraph"]) if "symgraph" in times else None
    print(f"\nRNN step (length {LENGTH}, hidden {HIDDEN}, vocabulary {VOCAB}, float64), "
          f"medians of {args.rounds} interleaved rounds of {args.calls} steps")
    print("| peer | ms/step | x symgraph | first call (compile) s |")
    print("|---|---|---|---|")
    for name, ts in times.items():
        med = statistics.median(ts)
        ratio = f"{med / base:.2f}" if base else "-"
        print(f"| {name} | {med * 1e3:.3f} | {ratio} | {compile_s[name]:.2f} |")


if __name__ == "__main__":
    main()
