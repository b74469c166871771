"""Lowering of specify_shape: one length check per given axis, the value itself."""
from ..ops.check import SpecifyShape
from .codegen import registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(SpecifyShape)
def lower_specify_shape(cg, node, refs):
    x, *sizes = refs
    op = node.op
    for axis, n in zip(op.axes(), sizes):
        cg.check(f"{x.dim(axis)} != {n.at([])}", "ValueError",
                 f"specify_shape: {op.what} has a length other than the specified one "
                 f"on axis {axis}")
    return [x]
