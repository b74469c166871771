"""MapRows (ops/maprows.py): the inner graph lowered once, inside a loop over the
rows of the sequences, its results stacked along a new axis 0.  With no rows,
the body runs once on a zero row to learn the shapes, as the reference does."""
from ..ops.maprows import MapRows
from .codegen import Array, bind_row, lower_inner, np_dtype, registrar
from .lower_scan import stack_at, write_row

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(MapRows)
def lower_map_rows(cg, node, refs):
    op = node.op
    k = op.n_sequences
    n = cg.fresh("n")
    cg.emit(f"{n} = {refs[0].dim(0)}")
    for s in refs[1:k]:
        cg.check(f"{s.dim(0)} != {n}", "ValueError", "the sequences have different lengths")
    sources = []
    for s in refs[:k]:
        arr = cg.as_array(s)
        src = cg.fresh("w")
        rest = "".join(f"{arr.dim(d)}, " for d in range(1, arr.ndim))
        cg.emit(f"{src} = {arr.name} if {n} > 0 else np.zeros((1, {rest}), {np_dtype(arr.dtype)})")
        sources.append((src, arr))
    outs = []
    for var in node.outputs:
        name = cg.fresh("mo")
        cg.emit(f"{name} = np.empty(({'0, ' * var.ndim}), {np_dtype(var.dtype)})")
        outs.append(Array(name, var.dtype, var.ndim, owned=True))
    r = cg.fresh("r")
    with cg.block(f"for {r} in range(max({n}, 1)):"):
        for inner, (src, arr) in zip(op.inner_inputs[:k], sources):
            bind_row(cg, inner, src, r, arr)
        for inner, ref in zip(op.inner_inputs[k:], refs[k:]):
            cg.refs[inner] = ref
        values = lower_inner(cg, op.inner_outputs, "map_rows")
        for j, (value, out) in enumerate(zip(values, outs)):
            stack_at(cg, out.name, n, r, value, out.dtype, f"output {j}", "rows")
            with cg.block(f"if {r} < {n}:"):
                write_row(cg, out.name, r, value)
    return outs

