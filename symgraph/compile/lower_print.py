"""The Numba lowering of ``Print`` (ops/print_op.py): the program calls
``show`` back in Python where the node runs (a plan.Effect step), and the
output is the input itself."""
from ..ops.print_op import Print
from .codegen import registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(Print)
def lower_print(cg, node, refs):
    (ref,), op = refs, node.op
    value = ref.at([]) if ref.ndim == 0 else cg.as_array(ref).name
    cg.effect(Print.__module__, "show", repr(op.message), repr(op.attrs), value,
              repr(node.inputs[0].dtype))
    return [ref]   # a view of the input: generate.py copies it if it is a result
