"""Graph rewrites applied before compilation.

    engine.py     bottom-up sweeps to a fixed point, with hash-consing (merge)
    pattern.py    the rule language: Rule(mul(x, 1), x)
    rules.py      the rule tables by pass
    canonical.py  n-ary sums and products, dimshuffles, shapes
    stabilize.py  log of softmax through views, gradients through scatters
    sigmoid.py    sigmoids and exponentials in products and sums (logistic gradients)
    fold.py       constant folding
    sympy_pass.py SymPy simplification of elementwise clusters
    fusion.py     elementwise trees into Fused nodes
    passes.py     the pass list and the optimizer modes
"""
import contextlib
import gc
from collections import Counter

from ..graph import FunctionGraph, test_values_as
from .passes import PASSES, passes_for  # noqa: F401


@contextlib.contextmanager
def _no_cycle_collection():
    # nodes and variables point at each other, so every sweep's garbage is
    # cyclic; the collector would walk the whole, growing heap again and again
    # while sweeps build nodes, which makes big graphs superlinear
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def optimize_outputs(outputs, optimizer="fast_run", stats=None, skip=()):
    """The rewritten ``outputs``; ``stats`` (a Counter) collects how often each rule fired;
    the passes named in ``skip`` are left out."""
    stats = Counter() if stats is None else stats
    outputs = list(outputs)
    with _no_cycle_collection():
        for p in passes_for(optimizer):
            if p.name not in skip:
                outputs = p.run(outputs, stats)
    return outputs


def optimize_fgraph(fgraph, optimizer="fast_run", stats=None, skip=()):
    """``fgraph`` rewritten according to ``optimizer`` (a new FunctionGraph)."""
    # rewrites build nodes of their own: no test values (config.compute_test_value)
    with _no_cycle_collection(), test_values_as("off"):
        outputs = optimize_outputs(fgraph.outputs, optimizer, stats, skip)
        if all(a is b for a, b in zip(outputs, fgraph.outputs)):
            return fgraph
        return FunctionGraph(fgraph.inputs, outputs)
