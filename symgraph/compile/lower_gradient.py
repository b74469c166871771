"""The Numba lowering of the gradient overrides: their input itself.  The
optimizer removes them (optimize/gradient_rules.py); this is for graphs
compiled with ``optimizer='None'``."""
from ..ops.gradient_ops import GradientOverride
from .codegen import registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(GradientOverride)
def lower_gradient_override(cg, node, refs):
    return [refs[0]]   # a view of the input: generate.py copies it if it is a result
