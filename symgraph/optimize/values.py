"""What the rules need to know about values: constants seen through views,
zeros, and how to make a constant of an exact type."""
import numpy as np

from ..graph import Constant
from ..ops.elemwise import Cast, Second
from ..ops.shape import Alloc, DimShuffle, Rebroadcast
from ..types import TensorType
from ..tensor.variable import TensorConstant

# constants up to this many elements are looked through and combined by rules
SMALL = 10_000


def constant_array(var):
    """The value of ``var`` when it is a small constant, possibly behind views
    (dimshuffle, rebroadcast) or a cast; else None."""
    node = var.owner
    if node is None:
        return var.data if isinstance(var, Constant) and var.data.size <= SMALL else None
    if isinstance(node.op, (DimShuffle, Rebroadcast, Cast)):
        inner = constant_array(node.inputs[0])
        return None if inner is None else np.asarray(node.op.perform(inner))
    return None


def scalar_value(var):
    """The one value every element of ``var`` has, when that is known statically.

    Sees through views of constants, and through ``fill(x, c)`` and
    ``alloc(c, ...)`` (whose values are those of ``c``, whatever the shape)."""
    node = var.owner
    if node is not None and isinstance(node.op, Second):
        return scalar_value(node.inputs[1])
    if node is not None and isinstance(node.op, Alloc):
        return scalar_value(node.inputs[0])
    if node is not None and isinstance(node.op, Cast):
        inner = scalar_value(node.inputs[0])
        return None if inner is None else np.asarray(inner).astype(node.op.dtype).item()
    data = constant_array(var)
    if data is None or data.size == 0:
        return None
    first = data.flat[0]
    if data.size > 1 and not np.all(data == first):
        return None
    return first.item()


def is_zeros(var):
    value = scalar_value(var)
    return value is not None and value == 0


def make_constant(value, dtype, broadcastable):
    """A constant of exactly TensorType(dtype, broadcastable) holding ``value``
    (a scalar is given one length-1 axis per flag)."""
    data = np.asarray(value, dtype=dtype)
    if data.ndim == 0 and len(broadcastable) and all(broadcastable):
        data = data.reshape((1,) * len(broadcastable))
    return TensorConstant(TensorType(dtype, tuple(broadcastable)), data)


def scalar_constant(value, like):
    """``value`` as a constant with the dtype and number of axes of ``like``,
    every axis broadcastable: it combines with ``like`` without a dimshuffle."""
    return make_constant(value, like.dtype, (True,) * like.ndim)
