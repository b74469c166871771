"""Helpers for the ops' ``infer_shape``: lengths as int64 scalar graphs.

Each op says how its outputs' shapes follow from its inputs' shapes
(``Op.infer_shape``); these helpers build the few expressions that several
ops share: a constant length, the length of one axis among broadcasting
operands, the length of a slice.
"""
from ..graph import Constant
from ..late import tensor as T


def length(n):
    """The constant length ``n`` as an int64 scalar."""
    return T.constant(int(n), dtype="int64")


def known_length(v):
    """The Python value of a constant length, else None."""
    if isinstance(v, Constant) and v.data.ndim == 0:
        return int(v.data)
    return None


def as_length(v):
    """An integer scalar as an int64 length."""
    return T.cast(v, "int64")


def broadcast_length(shapes, flags, axis):
    """The length of ``axis`` of operands that broadcast together: that of the
    first operand not flagged broadcastable there (the others must agree at run
    time), else 1."""
    for shape, flag in zip(shapes, flags):
        if not flag[axis]:
            return shape[axis]
    return length(1)


def broadcast_shape(shapes, flags, ndim):
    """The shape of operands of one rank broadcast together (see broadcast_length)."""
    return tuple(broadcast_length(shapes, flags, a) for a in range(ndim))


def _wrap_bound(b, n, low, high):
    """A slice bound as Python's slice.indices reads it: a negative bound counts
    from the end, then the result is clipped to [low, high]."""
    b = as_length(b)
    b = T.switch(T.lt(b, 0), b + n, b)
    return T.minimum(T.maximum(b, low), high)


def slice_length(n, start, stop, step):
    """The length of x[start:stop:step] for an axis of length ``n`` (start, stop,
    step: int64 scalars or None where not given), as len(range(*slice.indices(n)));
    None when the step's sign is not known before run time."""
    step_value = 1 if step is None else known_length(step)
    if step_value is None or step_value == 0:
        return None
    if step_value > 0:
        lo = length(0) if start is None else _wrap_bound(start, n, length(0), n)
        hi = n if stop is None else _wrap_bound(stop, n, length(0), n)
        span, by = hi - lo, step_value
    else:
        last = n - 1
        lo = last if start is None else _wrap_bound(start, n, length(-1), last)
        hi = length(-1) if stop is None else _wrap_bound(stop, n, length(-1), last)
        span, by = lo - hi, -step_value
    count = span if by == 1 else (span + (by - 1)) // by
    return T.maximum(count, length(0))


def nonnegative(v):
    """True when the scalar ``v`` is known never to be negative: a constant at
    least 0, a length read off a shape, or sums and products of those."""
    value = known_length(v)
    if value is not None:
        return value >= 0
    node = v.owner
    if node is None:
        return False
    name = type(node.op).__name__
    if name == "ShapeI":
        return True
    if name in ("Add", "Mul", "Maximum", "Cast", "IntDiv"):
        return all(nonnegative(i) for i in node.inputs)
    return False
