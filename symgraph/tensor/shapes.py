"""Shape functions of T: specify_shape, join, shape_padleft/right/axis."""
import numpy as np

from ..graph import Constant, Variable
from ..ops.check import SpecifyShape
from ..ops.shape import MakeVector, Shape
from ..late import late
from .basic import as_tensor_variable, cast, concatenate, dimshuffle

# a variable without a name is named by its pp text; printing sits above the
# tensors (late.py)
_printing = late("symgraph.printing")

__all__ = ["specify_shape", "join", "shape_padleft", "shape_padright", "shape_padaxis"]


def _lengths(shape, ndim):
    """The lengths of a shape argument: a tuple of ints, integer scalars and
    None (an axis left unchecked), or a symbolic int vector whose entries can
    be read off the graph (a constant, make_vector, another tensor's shape)."""
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return [shape]
        if isinstance(shape, Constant):
            return [int(v) for v in shape.data]
        if shape.owner is not None and isinstance(shape.owner.op, MakeVector):
            return list(shape.owner.inputs)
        if shape.owner is not None and isinstance(shape.owner.op, Shape):
            other = shape.owner.inputs[0]
            return [other.shape[a] for a in range(other.ndim)]
        raise TypeError("specify_shape: a symbolic shape must be a vector built of scalars "
                        "(a constant, T.stack of scalars, or another tensor's .shape)")
    if np.ndim(shape) == 0:
        shape = (shape,)
    return list(shape)


def specify_shape(x, shape):
    """``x``, whose shape is declared to be ``shape`` (a tuple of ints, integer
    scalars or None for an axis left free; or another tensor's ``.shape``).
    The declaration is checked when the function runs (a ValueError naming
    ``x`` and the line that called specify_shape), and shape inference uses
    it: ``specify_shape(x, (2, 3)).shape`` is the constant (2, 3)."""
    x = as_tensor_variable(x)
    lengths = _lengths(shape, x.ndim)
    what = x.name or _printing.pp(x)
    if len(lengths) != x.ndim:
        raise ValueError(f"specify_shape: {what} has {x.ndim} dimensions but the shape "
                         f"{tuple(lengths)} has {len(lengths)} entries")
    sizes = []
    for axis, n in enumerate(lengths):
        if n is None:
            continue
        if isinstance(n, Variable):
            if n.ndim != 0 or np.dtype(n.dtype).kind not in "iu":
                raise TypeError(f"specify_shape: the length of axis {axis} of {what} must be an "
                                f"integer scalar, got {n.type}")
            sizes.append(cast(n, "int64"))
            continue
        if not isinstance(n, (int, np.integer)) or isinstance(n, (bool, np.bool_)) or n < 0:
            raise ValueError(f"specify_shape: the length of axis {axis} of {what} must be a "
                             f"length (an integer at least 0) or None, got {n!r}")
        if x.broadcastable[axis] and n != 1:
            raise ValueError(f"specify_shape: axis {axis} of {what} is flagged broadcastable, "
                             f"so its length is 1, not {n}")
        sizes.append(as_tensor_variable(np.int64(n)))
    return SpecifyShape(what, tuple(n is not None for n in lengths))(x, *sizes)


def join(axis, *tensors):
    """The tensors joined end to end along ``axis`` (Theano's argument order;
    ``T.concatenate(tensors, axis)`` is the same)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("join needs at least one tensor")
    if isinstance(axis, Constant) and axis.ndim == 0:
        axis = int(axis.data)
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        raise TypeError(f"join: the axis comes first and must be an int known when the graph "
                        f"is built, got {axis!r} (Theano's order: T.join(axis, a, b))")
    return concatenate(list(tensors), axis=int(axis))


def shape_padleft(x, n_ones=1):
    """``x`` with ``n_ones`` new broadcastable axes in front (a vector becomes a row)."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *(["x"] * n_ones + list(range(x.ndim))))


def shape_padright(x, n_ones=1):
    """``x`` with ``n_ones`` new broadcastable axes at the end (a vector becomes a column)."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *(list(range(x.ndim)) + ["x"] * n_ones))


def shape_padaxis(x, axis):
    """``x`` with one new broadcastable axis at position ``axis`` (negative counts
    from the end of the result, as NumPy's expand_dims)."""
    x = as_tensor_variable(x)
    if not -x.ndim - 1 <= axis <= x.ndim:
        raise IndexError(f"shape_padaxis: axis {axis} is out of range for a {x.ndim}-d tensor")
    axis = axis % (x.ndim + 1)
    order = list(range(x.ndim))
    order.insert(axis, "x")
    return dimshuffle(x, *order)
