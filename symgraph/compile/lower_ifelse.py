"""IfElse (ops/ifelse.py): ``if cond: <then branch> else: <else branch>``, each
branch's inner graph lowered inside its block, so only the branch taken runs.

Numba types a name by unifying its assignments: each result is declared
before the ``if`` and assigned in both branches with the same dtype and ndim
(a fresh C-ordered array, or a scalar of one dtype).  The results never
alias an input of the node: a branch's own fresh array is handed over, and
anything else is copied."""
from ..ops.ifelse import IfElse
from .codegen import Array, Scalar, cast, lower_inner, np_dtype, registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


def _lower_branch(cg, op, outputs, refs, results):
    for inner, ref in zip(op.inner_inputs, refs):
        cg.refs[inner] = ref
    values = lower_inner(cg, outputs, "ifelse")
    for value, out in zip(values, results):
        if out.ndim == 0:
            cg.emit(f"{out.expr} = {cast(value.at([]), out.dtype)}")
            continue
        if _fresh_here(value, refs):
            # an array the branch made itself: hand it over rather than copy it
            # (a fresh np.empty, so Numba types it as the other branch's)
            cg.emit(f"{out.name} = {value.name}")
            continue
        dims = [value.dim(d) for d in range(value.ndim)]
        cg.emit(f"{out.name} = np.empty(({''.join(d + ', ' for d in dims)}), "
                f"{np_dtype(out.dtype)})")

        def body(idx, value=value, out=out):
            lines, expr = value.load(idx)
            return lines + [f"{out.at(idx)} = {expr}"]
        cg.loops(dims, body)


def _fresh_here(value, refs):
    """An owned, C-ordered array that is no input's memory (made inside the branch)."""
    if not (isinstance(value, Array) and value.owned and value.layout == "C"
            and value.buffer == value.name):
        return False
    return all(getattr(r, "buffer", None) != value.buffer for r in refs)


@register(IfElse)
def lower_ifelse(cg, node, refs):
    op = node.op
    cond = cg.assign(f"({refs[0].at([])}) != 0", "bool")
    results = []
    for var in node.outputs:
        if var.ndim == 0:
            name = cg.fresh("s")
            cg.scalar_dtypes[name] = str(var.dtype)
            cg.emit(f"{name} = {cast('0', var.dtype)}")
            results.append(Scalar(name, var.dtype))
        else:
            name = cg.fresh("io")
            cg.emit(f"{name} = np.empty(({'0, ' * var.ndim}), {np_dtype(var.dtype)})")
            results.append(Array(name, var.dtype, var.ndim, owned=True))
    with cg.block(f"if {cond.expr}:"):
        _lower_branch(cg, op, op.then_outputs, refs[1:], results)
    with cg.block("else:"):
        _lower_branch(cg, op, op.else_outputs, refs[1:], results)
    return results
