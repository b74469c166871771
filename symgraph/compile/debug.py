"""mode='debug': the compiled program and the reference side by side.

The program is generated with every node's outputs returned as well (and no
in-place writes).  Each node's compiled result is compared with the node's
NumPy ``perform`` applied to the compiled inputs of that node, in
topological order, so the first node that differs is the one named; a node
whose result holds NaN or Inf where its inputs did not raises
FloatingPointError.  Inputs must come back unchanged.
"""
import contextlib
import io

import numpy as np

from ..graph import Constant
from . import lowering  # noqa: F401  (tests patch its rules)
from ..config import config
from .backend import Compiled, backend
from .errors import node_message



class DebugModeError(AssertionError):
    """The compiled program disagrees with the reference."""


def _tolerance(dtype):
    kind = np.dtype(dtype).kind
    if kind != "f":
        return 0.0
    return 1e-4 if dtype == "float32" else 1e-7


def _bad_floats(a):
    a = np.asarray(a)
    return a.dtype.kind == "f" and not np.all(np.isfinite(a))


def compile_debug(fgraph, update_pairs=(), debug=False, target=None):
    """``target``'s program (default ``sg.config.debug_target``: numba, or cuda)
    with every node's outputs (backend.py), checked against the ops' ``perform``
    on every call; updates are not written in place."""
    compiled = backend(target or config.debug_target)(fgraph, debug=True)
    n_out = len(fgraph.outputs)
    node_outputs = [v for node in compiled.nodes for v in node.outputs]

    def value_of(var, values, computed):
        if isinstance(var, Constant):
            return var.data
        if var in computed:
            return computed[var]
        return values[fgraph.inputs.index(var)]

    def run(values):
        saved = [np.array(v, copy=True) for v in values]
        results = compiled.run(values)
        for v, s in zip(values, saved):
            if not np.array_equal(v, s, equal_nan=True):
                raise DebugModeError("the compiled program modified one of its inputs")
        computed = dict(zip(node_outputs, results[n_out:]))
        for node in compiled.nodes:
            args = [value_of(v, values, computed) for v in node.inputs]
            # an op with an effect (Print) had it in the compiled program already
            quiet = contextlib.redirect_stdout(io.StringIO()) if node.op.has_effect else \
                contextlib.nullcontext()
            with np.errstate(all="ignore"), quiet:
                expected = node.op.perform(*args)
            expected = expected if len(node.outputs) > 1 else (expected,)
            for var, want in zip(node.outputs, expected):
                _compare(node, var, np.asarray(computed[var]), np.asarray(want, dtype=var.dtype),
                         any(_bad_floats(a) for a in args))
        return results[:n_out]

    return Compiled(run, key=compiled.key, path=compiled.path, program=compiled.program,
                    dispatcher=compiled.dispatcher)


def _compare(node, var, got, want, inputs_bad):
    if got.shape != want.shape or got.dtype != want.dtype:
        raise DebugModeError(node_message(
            f"debug mode: compiled result has shape {got.shape} and dtype {got.dtype}, the "
            f"reference {want.shape} and {want.dtype}", node))
    tol = _tolerance(var.dtype)
    same = np.allclose(got, want, rtol=tol, atol=tol, equal_nan=True) if tol else \
        np.array_equal(got, want)
    if not same:
        err = np.max(np.abs(got.astype("float64") - want.astype("float64"))) if got.size else 0
        raise DebugModeError(node_message(
            f"debug mode: the compiled result differs from the reference (max abs difference "
            f"{err:.3g})", node))
    if _bad_floats(got) and not inputs_bad:
        raise FloatingPointError(node_message("debug mode: NaN or Inf produced", node))
