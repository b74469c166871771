"""Lowerings of the reductions (sum, mean, prod, max, min, all, any, argmax):
loop nests with an accumulator per kept index; float sums and means go
through pairwise.py.  An elementwise input read only by its reduction is
computed inside the loop (an ElemRef, see codegen.generate)."""
import numpy as np

from ..ops.reduce import All, Any, Argmax, CumSum, Mean, Max, Min, Prod, Sum
from . import pairwise
from .codegen import cast, literal, registrar
from .lowering import _libm_forms

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


def _acc_dtype(op, in_dtype, out_dtype):
    if isinstance(op, Mean):
        return "float64"
    if op.float64_accumulator and np.dtype(out_dtype).kind == "f":
        return "float64"    # the op's fact (ops/reduce.py), which its perform follows too
    return out_dtype


def _init(op, dtype):
    kind = np.dtype(dtype).kind
    if isinstance(op, (Sum, Mean)):
        return literal(0, dtype)
    if isinstance(op, Prod):
        return literal(1, dtype)
    if isinstance(op, All):
        return "True"
    if isinstance(op, Any):
        return "False"
    low = isinstance(op, Max)
    if kind == "f":
        return literal(-np.inf if low else np.inf, dtype)
    if kind == "b":
        return "False" if low else "True"
    info = np.iinfo(dtype)
    return literal(info.min if low else info.max, dtype)


def _update(op, acc, v, dtype):
    """The statement folding element ``v`` into ``acc``."""
    if isinstance(op, (Sum, Mean)):
        return f"{acc} += {v}"
    if isinstance(op, Prod):
        return f"{acc} *= {v}"
    if isinstance(op, All):
        return f"{acc} = {acc} and ({v} != 0)"
    if isinstance(op, Any):
        return f"{acc} = {acc} or ({v} != 0)"
    cmp = ">" if isinstance(op, Max) else "<"
    if np.dtype(dtype).kind == "f":
        return f"{acc} = {v} if (({v} {cmp} {acc}) | ({v} != {v})) else {acc}"
    return f"{acc} = {v} if {v} {cmp} {acc} else {acc}"


@register(Sum, Mean, Prod, Max, Min, All, Any)
def lower_reduce(cg, node, refs):
    (x,), op, out_var = refs, node.op, node.outputs[0]
    axes = op.axis
    kept = [a for a in range(x.ndim) if a not in axes]
    acc_dtype = _acc_dtype(op, x.dtype, out_var.dtype)
    count = " * ".join(x.dim(a) for a in axes) or "1"
    if isinstance(op, (Max, Min)):
        kept_size = " * ".join(x.dim(a) for a in kept) or "1"
        cg.check(f"({count}) == 0 and ({kept_size}) > 0", "ValueError",
                 "zero-size array to a reduction operation that has no identity")

    def finish(acc):
        value = f"{acc} / ({count})" if isinstance(op, Mean) else acc
        return value

    if cg.options.get("target") == "gpu":
        return [_reduce_in_parallel(cg, node, x, kept, acc_dtype, finish)]
    suffix = all(a in axes for a in range(len(kept), x.ndim))
    reduced = [x.dim(a) for a in axes]
    if (isinstance(op, (Sum, Mean)) and np.dtype(acc_dtype).kind == "f"
            and any(d != "1" for d in reduced)
            and axes == tuple(range(axes[0], axes[-1] + 1))):
        # floats: in blocks, as accurate as NumPy (pairwise.py)
        return [_pairwise_reduce(cg, node, x, kept, suffix, finish)]
    if suffix:
        # the reduced axes are innermost: a scalar accumulator per output element
        acc = cg.fresh("acc")
        read = f"x_{acc}"

        def inner(idx_kept):
            lines, names, pad = [f"{acc} = {_init(op, acc_dtype)}"], [], ""
            for a in axes:
                names.append(cg.fresh("i"))
                lines.append(f"{pad}for {names[-1]} in range({x.dim(a)}):")
                pad += "    "
            load_lines, expr = x.load(list(idx_kept) + names)
            lines += [pad + line for line in load_lines]
            lines += [f"{pad}{read} = {expr}", pad + _update(op, acc, read, acc_dtype)]
            return _libm_forms(lines) if np.dtype(acc_dtype).kind == "f" else lines

        if not kept:
            cg.emit(*inner([]))
            return [cg.assign(finish(acc), out_var.dtype)]
        out = cg.alloc([x.dim(a) for a in kept], out_var.dtype)
        cg.loops([x.dim(a) for a in kept],
                 lambda idx: inner(idx) + [f"{out.at(idx)} = {finish(acc)}"])
        return [out]

    # general case: accumulate into an array, walking the input in memory order
    kept_dims = [x.dim(a) for a in kept]
    acc_arr = cg.alloc(kept_dims, acc_dtype)
    cg.loops(kept_dims, lambda idx: [f"{acc_arr.at(idx)} = {_init(op, acc_dtype)}"])
    tmp = cg.fresh("r")

    def body(idx):
        kidx = [idx[a] for a in kept]
        load_lines, expr = x.load(idx)
        return load_lines + [f"{tmp} = {acc_arr.at(kidx)}", f"x_{tmp} = {expr}",
                             _update(op, tmp, f"x_{tmp}", acc_dtype),
                             f"{acc_arr.at(kidx)} = {tmp}"]
    cg.loops([x.dim(a) for a in range(x.ndim)], body)
    if acc_dtype == out_var.dtype and not isinstance(op, Mean):
        return [acc_arr]
    out = cg.alloc(kept_dims, out_var.dtype)
    cg.loops(kept_dims, lambda idx: [f"{out.at(idx)} = {finish(acc_arr.at(idx))}"])
    return [out]


# a reduction to one value is first folded into at most this many partial
# results, each from the elements PARTIALS apart (neighbours read neighbours)
PARTIALS = (16384, 128)


def _reduce_in_parallel(cg, node, x, kept, acc_dtype, finish):
    """A reduction as independent loops, for targets that run each iteration
    on a thread of its own (the GPU): one iteration per output element, or,
    for a reduction to one value, strided partial results folded in two more
    rounds."""
    op, out_var = node.op, node.outputs[0]
    axes = [a for a in range(x.ndim) if a not in kept]
    acc = cg.fresh("acc")

    def fold(index_of_axis, loops):
        """Lines folding x over ``loops`` ((index, length) pairs) into ``acc``."""
        lines, pad = [f"{acc} = {_init(op, acc_dtype)}"], ""
        for index, length in loops:
            lines.append(f"{pad}for {index} in range({length}):")
            pad += "    "
        load_lines, expr = x.load([index_of_axis(a) for a in range(x.ndim)])
        lines += [pad + line for line in load_lines]
        return lines + [f"{pad}x_{acc} = {expr}", pad + _update(op, acc, f"x_{acc}", acc_dtype)]

    if kept:
        names = {a: cg.fresh("i") for a in axes}
        out = cg.alloc([x.dim(a) for a in kept], out_var.dtype)

        def per_output(idx):
            at = dict(zip(kept, idx))
            lines = fold(lambda a: at[a] if a in at else names[a],
                         [(names[a], x.dim(a)) for a in axes])
            return lines + [f"{out.at(idx)} = {finish(acc)}"]
        cg.loops([x.dim(a) for a in kept], per_output)
        return out
    # to one value: element k of the flattened input goes to partial k % P
    total = " * ".join(f"({x.dim(a)})" for a in axes) or "1"
    parts = cg.alloc([f"min({PARTIALS[0]}, max({total}, 1))"], acc_dtype, prefix="part")
    k, flat = cg.fresh("k"), cg.fresh("f")

    def partial(idx):
        index, step = {}, "1"
        for a in reversed(axes):
            index[a] = f"(({flat} // ({step})) % {x.dim(a)})"
            step = f"{step} * {x.dim(a)}"
        lines = fold(lambda a: index[a], [])
        head, body = lines[0], lines[1:]
        return ([head, f"{flat} = {idx[0]}", f"while {flat} < {total}:"]
                + ["    " + line for line in body]
                + [f"    {flat} += {parts.dim(0)}", f"{parts.at(idx)} = {acc}"])
    cg.loops([parts.dim(0)], partial)
    # the partial results fold the way elements do (a mean's partials are sums);
    # every loop has names of its own, so that each is seen to be independent
    fewer = cg.alloc([f"min({PARTIALS[1]}, {parts.dim(0)})"], acc_dtype, prefix="part")
    acc2, k2 = cg.fresh("acc"), cg.fresh("k")
    cg.loops([fewer.dim(0)], lambda idx: [
        f"{acc2} = {_init(op, acc_dtype)}",
        f"{k2} = {idx[0]}",
        f"while {k2} < {parts.dim(0)}:",
        "    " + _update(op, acc2, parts.at([k2]), acc_dtype),
        f"    {k2} += {fewer.dim(0)}",
        f"{fewer.at(idx)} = {acc2}"])
    last = cg.fresh("acc")
    cg.emit(f"{last} = {_init(op, acc_dtype)}",
            f"for {k} in range({fewer.dim(0)}):",
            "    " + _update(op, last, fewer.at([k]), acc_dtype))
    return cg.assign(finish(last), out_var.dtype)


def _pairwise_reduce(cg, node, x, kept, suffix, finish):
    """A float sum or mean over contiguous axes, in blocks (pairwise.py): a
    scalar sum per output element when the reduced axes are the innermost
    ones, else a running sum per element of the inner kept axes, walking the
    input in memory order."""
    axes, out_var = node.op.axis, node.outputs[0]
    reduced = [x.dim(a) for a in axes]
    lead = [x.dim(a) for a in kept if a < axes[0]]
    if suffix:
        acc = cg.fresh("acc")

        def inner(idx_kept):
            return _libm_forms(pairwise.scalar_sum(
                cg, acc, reduced, lambda idx: x.load(list(idx_kept) + idx)))
        if not kept:
            cg.emit(*inner([]))
            return cg.assign(finish(acc), out_var.dtype)
        out = cg.alloc(lead, out_var.dtype)
        cg.loops(lead, lambda idx: inner(idx) + [f"{out.at(idx)} = {finish(acc)}"])
        return out
    trail = [x.dim(a) for a in kept if a > axes[-1]]
    out = cg.alloc(lead + trail, out_var.dtype)
    # the inner loop runs along kept axes, which LLVM vectorizes: keep the fast exp forms
    pairwise.array_sum(cg, lead, reduced, trail, x.load,
                       lambda idx, s: [f"{out.at(idx)} = {finish(s)}"])
    return out


@register(Argmax)
def lower_argmax(cg, node, refs):
    (x,), op = refs, node.op
    axes = tuple(range(x.ndim)) if op.axis is None else op.axis
    kept = [a for a in range(x.ndim) if a not in axes]
    cmp = ">" if type(op) is Argmax else "<"
    count = " * ".join(x.dim(a) for a in axes) or "1"
    kept_size = " * ".join(x.dim(a) for a in kept) or "1"
    cg.check(f"({count}) == 0 and ({kept_size}) > 0", "ValueError",
             "attempt to get argmax/argmin of an empty sequence")
    best, pos, n, v = cg.fresh("b"), cg.fresh("p"), cg.fresh("c"), cg.fresh("x")
    # NaN wins, and the first one stays (NumPy's rule)
    nan = f" or ({v} != {v} and {best} == {best})" if np.dtype(x.dtype).kind == "f" else ""

    def inner(idx_kept):
        lines = [f"{pos} = 0", f"{n} = 0", f"{best} = {literal(0, x.dtype)}"]
        names, pad = [], ""
        for a in axes:
            names.append(cg.fresh("i"))
            lines.append(f"{pad}for {names[-1]} in range({x.dim(a)}):")
            pad += "    "
        full = list(idx_kept)
        for a, i in zip(axes, names):
            full.insert(a, i)
        load_lines, expr = x.load(full)
        lines += [pad + line for line in load_lines]
        lines += [f"{pad}{v} = {expr}",
                  f"{pad}if {n} == 0 or {v} {cmp} {best}{nan}:",
                  f"{pad}    {best} = {v}",
                  f"{pad}    {pos} = {n}",
                  f"{pad}{n} += 1"]
        return lines

    if not kept:
        cg.emit(*inner([]))
        return [cg.assign(pos, "int64")]
    out = cg.alloc([x.dim(a) for a in kept], "int64")
    cg.loops([x.dim(a) for a in kept], lambda idx: inner(idx) + [f"{out.at(idx)} = {pos}"])
    return [out]


@register(CumSum)
def lower_cumsum(cg, node, refs):
    """A running sum: a sequential loop along the axis inside a nest over the others."""
    (x,), axis, dtype = refs, node.op.axis, node.outputs[0].dtype
    dims = [x.dim(k) for k in range(x.ndim)]
    out = cg.alloc(dims, dtype)
    acc, k = cg.fresh("acc"), cg.fresh("k")

    def body(idx):
        full = idx[:axis] + [k] + idx[axis:]
        lines, expr = x.load(full)
        return ([f"{acc} = {cast('0', dtype)}", f"for {k} in range({dims[axis]}):"]
                + ["    " + line for line in lines]
                + [f"    {acc} += {cast(expr, dtype)}", f"    {out.at(full)} = {acc}"])
    cg.loops([d for a, d in enumerate(dims) if a != axis], body)
    return [out]
