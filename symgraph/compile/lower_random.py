"""Lowering of the random draws (ops/random.py): the program allocates the
draw and the new state and calls the target's ``random_fill`` routine
(plan.Call), which fills them element by element, element i from the Philox
block at counter + i, so the values do not depend on how the target runs it."""
import numpy as np

from ..ops.random import STATE_LENGTH, RandomDraw
from .codegen import Scalar, registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(RandomDraw)
def lower_random_draw(cg, node, refs):
    state, sizes = cg.as_array(refs[0]), refs[1:]
    op, out_var = node.op, node.outputs[1]
    dims = [s.at([]) for s in sizes]
    for d in dims:
        cg.check(f"{d} < 0", "ValueError", f"negative size ({', '.join(dims)})")
    cg.check(f"{state.dim(0)} != {STATE_LENGTH}", "ValueError",
             f"a random state is {STATE_LENGTH} unsigned 32-bit words")
    new_state = cg.alloc([str(STATE_LENGTH)], "uint32")
    # a 0-d draw is made in a 1-element array and read back as a scalar
    out = cg.alloc(dims or ["1"], op.dtype)
    normal = "True" if op.kind == "normal" else "False"
    bits24 = "True" if np.dtype(op.dtype) == np.float32 else "False"
    cg.call("random_fill", out.name, state.name, new_state.name, normal, bits24)
    if not dims:
        value = cg.assign(f"{out.name}[0]", op.dtype)
        return [new_state, Scalar(value.expr, op.dtype)]
    return [new_state, out]
