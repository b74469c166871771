"""Theano's NanGuardMode: run node by node through the reference path and
stop at the first node whose result holds a NaN, an Inf, or a finite value
of absolute size above 1e10 (each check can be switched off).

    f = sg.function([x], T.log(x), mode=sg.compile.NanGuardMode())
    f([-1.0])    # NanGuardError: ... NaN produced by log ... built at: <your line>

The error names the op, its inputs and the line of your code that built the
node; the function's arguments and shared values are checked the same way
before the first node runs.  Only float values are checked.  A call that
raises changes no shared variable (updates are written after the call).
"""
import numpy as np

from ..printing import pp
from ..shared import SharedVariable
from .errors import node_message
from .monitormode import MonitorMode

BIG = 1e10


class NanGuardError(AssertionError, FloatingPointError):
    """A value of the graph is NaN, Inf or too big (an AssertionError, as in Theano)."""


def _label(var):
    if var.name:
        return var.name
    text = pp(var, max_length=60)
    return text if len(text) <= 60 else text[:57] + "..."


class NanGuardMode(MonitorMode):
    """Raises NanGuardError at the first node producing NaN (``nan_is_error``),
    Inf (``inf_is_error``) or an absolute value above 1e10 (``big_is_error``),
    naming the node and the user's line that built it; ``optimizer`` as for
    ``Mode``.  Runs each op's ``perform`` node by node, unfused, as MonitorMode
    does, with this check after each node."""

    def __init__(self, nan_is_error=True, inf_is_error=True, big_is_error=True,
                 optimizer="default", linker=None):
        super().__init__(optimizer=optimizer, linker=linker)
        self.nan_is_error, self.inf_is_error = bool(nan_is_error), bool(inf_is_error)
        self.big_is_error = bool(big_is_error)

    def problem(self, value):
        """What is wrong with ``value`` (a phrase), or None."""
        a = np.asarray(value)
        if a.dtype.kind not in "fc" or a.size == 0:
            return None
        if self.nan_is_error and np.isnan(a).any():
            return "NaN"
        if self.inf_is_error and np.isinf(a).any():
            return "Inf"
        if self.big_is_error:
            finite = np.abs(a[np.isfinite(a)])
            if finite.size and finite.max() > BIG:
                return f"a value of absolute size {finite.max():.3g} (above {BIG:g})"
        return None

    def eval(self, i, node, fn):
        """Run node ``i`` (``fn``) and raise if an output has a problem."""
        # NumPy's own warning about a value the guard reports is noise beside it
        quiet = {"invalid": "ignore" if self.nan_is_error else None,
                 "divide": "ignore" if self.inf_is_error else None,
                 "over": "ignore" if self.inf_is_error else None}
        with np.errstate(**quiet):
            fn()
        for var, cell in zip(node.outputs, fn.outputs):
            found = self.problem(cell[0])
            if found:
                inputs = ", ".join(_label(v) for v in node.inputs)
                raise NanGuardError(node_message(
                    f"NanGuardMode: {found} produced by {node.op} (node {i}, inputs: {inputs})",
                    node))

    def compile(self, fgraph, update_pairs=()):
        """The node-by-node run of ``fgraph``, checking its arguments first."""
        compiled = super().compile(fgraph, update_pairs)
        run_nodes = compiled.run

        def run(values):
            for var, value in zip(fgraph.inputs, values):
                found = self.problem(value)
                if found:
                    what = "shared variable" if isinstance(var, SharedVariable) else "input"
                    raise NanGuardError(f"NanGuardMode: {found} in the function's {what} "
                                        f"{_label(var)} (before any node ran)")
            return run_nodes(values)

        compiled.run = run
        return compiled

    def __repr__(self):
        return (f"NanGuardMode(nan_is_error={self.nan_is_error}, inf_is_error="
                f"{self.inf_is_error}, big_is_error={self.big_is_error}, "
                f"optimizer={self.optimizer!r})")
