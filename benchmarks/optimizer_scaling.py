"""How the optimizer's time grows with the graph: the SGD step graph (cost and
parameter updates) of MLPs of 10, 50 and 200 tanh layers with a softmax
output, optimized with 'fast_run' (every pass) and 'fast_compile'.

    python benchmarks/optimizer_scaling.py [--layers 10,50,200] [--repeat 3]

Prints, per depth, the node count before and after, the median wall and CPU
time over --repeat runs, and the CPU time per node before optimization: a
near-constant last column means time grows about linearly with the graph.
(CPU time is the steadier figure on a machine shared with other work.)  The
first run of each depth includes SymPy's simplifications, which are cached by
structure; the median is over the runs that follow it as well.
"""
import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import symgraph as sg  # noqa: E402
import symgraph.tensor as T  # noqa: E402
from symgraph.graph import FunctionGraph, toposort  # noqa: E402
from symgraph.optimize import optimize_fgraph  # noqa: E402


def mlp_step(layers, width=16, classes=4):
    """Inputs and outputs (cost, then one update per parameter) of an SGD step."""
    rng = np.random.default_rng(0)
    x, y = T.dmatrix("x"), T.ivector("y")
    params, h = [], x
    for k in range(layers):
        out = classes if k == layers - 1 else width
        W = sg.shared(rng.standard_normal((width, out)) * 0.1, f"W{k}")
        b = sg.shared(np.zeros(out), f"b{k}")
        params += [W, b]
        z = T.dot(h, W) + b
        h = T.nnet.softmax(z) if k == layers - 1 else T.tanh(z)
    cost = -T.mean(T.log(h[T.arange(y.shape[0]), y]))
    grads = T.grad(cost, params)
    return [x, y] + params, [cost] + [p - 0.1 * g for p, g in zip(params, grads)]


def measure(layers, optimizer, repeat):
    """(nodes before, nodes after, median wall seconds, median CPU seconds)."""
    inputs, outputs = mlp_step(layers)
    raw = len(toposort(outputs))
    wall, cpu, optimized = [], [], None
    for _ in range(repeat):
        fgraph = FunctionGraph(inputs, outputs)
        start, start_cpu = time.perf_counter(), time.process_time()
        optimized = optimize_fgraph(fgraph, optimizer)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return raw, len(optimized.toposort()), statistics.median(wall), statistics.median(cpu)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", default="10,50,200")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    depths = [int(d) for d in args.layers.split(",")]
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    print(f"# optimizer scaling, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}")
    print("| optimizer | layers | nodes before | nodes after | wall (ms) | CPU (ms) | CPU µs per node |")
    print("|---|---|---|---|---|---|---|")
    measure(2, "fast_run", 1)   # warm up: imports, SymPy's first call
    for optimizer in ("fast_run", "fast_compile"):
        for layers in depths:
            raw, after, wall, cpu = measure(layers, optimizer, args.repeat)
            print(f"| {optimizer} | {layers} | {raw} | {after} | {wall * 1e3:.1f} | {cpu * 1e3:.1f} | "
                  f"{cpu * 1e6 / raw:.1f} |", flush=True)


if __name__ == "__main__":
    main()
