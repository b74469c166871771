"""The pass order: a plain list.  ``sg.config.optimizer`` picks a prefix of it
by name: 'fast_run' runs every pass, 'fast_compile' merge and canonicalize,
'None' nothing.

Constant folding comes after stabilization: folded first, ``log(sigmoid(c))``
would become ``log(0)`` before the stable form could be written.

The scan pass comes right after canonicalization, so that what it builds
outside the loops (the sums taken after a loop, scan_sums.py; the hoisted
products) goes through the later passes like any graph (a gradient scattered
after the loop becomes a scatter into the updated table, stabilize.py).  Its
own work needs only canonical graphs: each inner graph is optimized by a full
run of the passes of its own.
"""
from .engine import RewritePass
from .fusion import FusionPass
from .scan_pass import ScanPass
from .rules import CANONICAL, FOLD, SPECIALIZE, STABILIZE
from .sympy_pass import SympyPass

PASSES = [
    RewritePass("merge", []),
    RewritePass("canonicalize", CANONICAL),
    ScanPass(),
    RewritePass("stabilize", STABILIZE + CANONICAL),
    SympyPass(RewritePass("sympy", CANONICAL)),
    RewritePass("specialize", FOLD + STABILIZE + SPECIALIZE + CANONICAL),
    FusionPass(RewritePass("fusion", [])),
]

OPTIMIZERS = {
    "fast_run": [p.name for p in PASSES],
    "fast_compile": ["merge", "canonicalize"],
    "None": [],
}


def passes_for(optimizer):
    if optimizer is None or optimizer is False:
        optimizer = "None"
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {sorted(OPTIMIZERS)}")
    names = set(OPTIMIZERS[optimizer])
    return [p for p in PASSES if p.name in names]
