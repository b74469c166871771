"""Constant folding: a node whose inputs are all constants becomes the constant
its ``perform`` computes, unless the result would be large (more than SIZE
elements and bigger than every input: a ``zeros((1000, 1000))`` stays an
alloc, cheap to store and to hash)."""
import numpy as np

from ..graph import Constant
from ..ops.elemwise import Elemwise
from ..ops.shape import Alloc, ARange
from ..tensor.variable import TensorConstant

SIZE = 10_000


def _expected_size(node, values):
    """The number of elements the node will produce, where cheap to tell."""
    try:
        if isinstance(node.op, Alloc):
            return int(np.prod([int(s) for s in values[1:]]))
        if isinstance(node.op, ARange):
            start, stop, step = (v.item() for v in values)
            return max(0, int(np.ceil((stop - start) / step)))
        if isinstance(node.op, Elemwise):
            return int(np.prod(np.broadcast_shapes(*[v.shape for v in values])))
    except Exception:
        return None
    return None


def fold(out):
    node = out.owner
    if len(node.outputs) != 1 or node.op.has_effect or \
            not all(isinstance(i, Constant) for i in node.inputs):
        return None
    values = [i.data for i in node.inputs]
    limit = max([SIZE] + [v.size for v in values])
    size = _expected_size(node, values)
    if size is not None and size > limit:
        return None
    try:
        with np.errstate(all="ignore"):
            node.op.validate(node, values)
            result = np.asarray(node.op.perform(*values))
    except Exception:
        return None   # the error belongs to run time, where it names the user's line
    if result.size > limit or out.type.shape_error(result.shape, "folded value"):
        return None
    return TensorConstant(out.type, np.array(result, dtype=out.dtype, copy=True))
