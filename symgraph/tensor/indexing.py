"""T's runtime checks and indexing as functions: ``check_and_raise``,
``subtensor`` (``x[index]``), ``set_subtensor`` and ``inc_subtensor``."""
import numpy as np

from .. import ops
from ..graph import Variable
from ..ops.indexing import IncSubtensor, Subtensor, parse_index
from ..ops.shape import Shape, ShapeI
from .basic import as_tensor_variable, constant


# ----------------------------------------------------------------- runtime checks
def check_and_raise(x, *conditions, message="a runtime check failed"):
    """``x`` unchanged, after checking at run time that every condition (a bool or
    integer scalar) holds; ValueError(message) otherwise (Theano's Assert)."""
    return ops.check.CheckAndRaise(message)(x, *conditions)


# ----------------------------------------------------------------- indexing
def subtensor(x, index):
    """``x[index]`` as a function: slices, integers, None, '...', and integer or
    boolean arrays."""
    x = as_tensor_variable(x)
    if x.owner is not None and isinstance(x.owner.op, Shape) and isinstance(index, (int, np.integer)):
        inner = x.owner.inputs[0]
        return ShapeI(int(index) % inner.ndim)(inner)  # x.shape[i] as one small op
    spec, values = parse_index(x.ndim, index)
    return Subtensor(spec)(x, *[_index_var(v) for v in values])


def _index_var(v):
    if isinstance(v, Variable):
        return v
    kind = np.asarray(v).dtype.kind
    if kind == "b":
        return constant(v)
    if kind not in "iu":  # as NumPy: 1.5 is not an index (no silent truncation)
        raise IndexError(f"only integers, slices, None, '...' and integer or boolean arrays are "
                         f"valid indices, got {v!r}")
    return constant(v, dtype="int64")


def _inc_or_set(x, y, set_instead_of_inc):
    x = as_tensor_variable(x)
    node = x.owner
    if node is None or not isinstance(node.op, ops.indexing.Subtensor):
        raise TypeError("set_subtensor/inc_subtensor take an indexed tensor, like x[2:5]")
    base, *index_vars = node.inputs
    y = as_tensor_variable(y) if isinstance(y, Variable) else constant(y, dtype=base.dtype)
    return IncSubtensor(node.op.spec, set_instead_of_inc)(base, y, *index_vars)


def set_subtensor(x, y):
    """The whole tensor that ``x`` indexes, with the part ``x`` selects replaced
    by ``y``: set_subtensor(a[2:5], 0) (the graph form of ``a[2:5] = 0``)."""
    return _inc_or_set(x, y, True)


def inc_subtensor(x, y):
    """The whole tensor that ``x`` indexes, with ``y`` added to the part ``x``
    selects: inc_subtensor(a[idx], 1) (repeated indices add up)."""
    return _inc_or_set(x, y, False)
