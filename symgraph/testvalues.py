"""Test values (Theano's ``compute_test_value``): with
``config.compute_test_value`` on, every node computes its outputs' values on its
inputs' test values when it is built (the op's ``perform``), so that a shape
error surfaces at the line of user code that builds the expression.

A variable's test value is ``x.tag.test_value``; constants and shared variables
have theirs implicitly (their value).  When an input has none, the setting
decides: ``'ignore'`` skips the node silently, ``'warn'`` skips it with a
warning, ``'raise'`` raises.  ``Op.apply`` (ops/base.py), through which every
node is built, calls ``compute`` once per node.  Compiling a function computes
none (its rewrites build nodes of their own); copying a graph (``clone_replace``)
computes them where the inputs have them and skips them quietly elsewhere.
"""
import warnings

import numpy as np

from .config import config
from .graph import Constant, format_trace, test_values_override

_MISSING = object()


def get_test_value(var):
    """The test value of ``var``: ``var.tag.test_value``, a constant's data, a
    shared variable's value; AttributeError naming ``var`` when it has none."""
    value = _test_value(var)
    if value is _MISSING:
        raise AttributeError(f"{var!r} has no test value; set {_name(var)}.tag.test_value = "
                             f"an array of shape ... and dtype {var.type.dtype}")
    return value


def _test_value(var):
    if isinstance(var, Constant):
        return var.data
    container = getattr(var, "container", None)   # a shared variable
    if container is not None:
        return container.value
    tag = var.__dict__.get("_tag")
    return getattr(tag, "test_value", _MISSING) if tag is not None else _MISSING


def _name(var):
    return var.name if var.name else "v"   # unnamed: the message says v.tag.test_value


def _describe(var, value):
    return f"{var!r} has shape {tuple(np.shape(value))}"


def compute(node):
    """Give ``node``'s outputs their test values, as config.compute_test_value says."""
    how = test_values_override() or config.compute_test_value
    if how == "off":
        return
    values = [_test_value(v) for v in node.inputs]
    missing = [v for v, value in zip(node.inputs, values) if value is _MISSING]
    if missing:
        if how in ("ignore", "quiet"):
            return
        names = ", ".join(repr(v) for v in missing)
        message = (f"compute_test_value={how!r}: {names}, an input of "
                   f"{node.op}({', '.join(map(repr, node.inputs))}), has no test value "
                   f"({format_trace(node.trace)}); set {_name(missing[0])}.tag.test_value = ...")
        if how == "raise":
            raise ValueError(message)
        message += "; this node's value is not computed"
        if node.trace:   # the warning points at the user's line that built the node
            warnings.warn_explicit(message, UserWarning, node.trace[0], node.trace[1])
        else:
            warnings.warn(message, stacklevel=4)
        return
    try:
        node.op.validate(node, values)
        results = node.op.perform(*values)
    except Exception as exc:  # noqa: BLE001 - any failure on the test values is reported
        if how == "quiet":
            return
        shapes = "; ".join(_describe(v, value) for v, value in zip(node.inputs, values)
                           if not isinstance(v, Constant) or np.ndim(value))
        raise ValueError(f"{node.op}({', '.join(map(repr, node.inputs))}) fails on the test "
                         f"values: {shapes}: {exc}") from exc
    if len(node.outputs) == 1:
        results = (results,)
    for out, value in zip(node.outputs, results):
        out.tag.test_value = np.asarray(value, dtype=out.type.dtype)


def give_first_row(var, placeholder):
    """A step's placeholder (scan, map_rows) gets row 0 of ``var``'s test value, when
    it has one."""
    value = _test_value(var)
    if value is not _MISSING and np.shape(value)[0] > 0:
        placeholder.tag.test_value = value[0]
