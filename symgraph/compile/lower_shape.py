"""Lowerings of the shape ops: views (dimshuffle, rebroadcast), shape reads,
reshape, alloc, join and arange, with the runtime checks that keep user
sizes from overflowing or reading out of bounds."""
import re

import numpy as np

from ..graph import Constant
from ..ops.check import CheckAndRaise
from ..ops.shape import (MAX_BYTES, Alloc, ARange, DimShuffle, Join, MakeVector, Rebroadcast,
                         Reshape, Shape, ShapeI, constant_value)
from .codegen import Array, Scalar, cast, registrar, view

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(DimShuffle)
def lower_dimshuffle(cg, node, refs):
    (x,), out = refs, node.outputs[0]
    v = view(x, [None if a == "x" else a for a in node.op.new_order])
    return [cg.assign(v.at([]), out.dtype)] if out.ndim == 0 else [v]


@register(Rebroadcast)
def lower_rebroadcast(cg, node, refs):
    (x,), inp = refs, node.inputs[0]
    for k, (old, new) in enumerate(zip(inp.type.broadcastable, node.op.broadcastable)):
        if new and not old:
            cg.check(f"{x.dim(k)} != 1", "ValueError",
                     f"axis {k} is flagged broadcastable here, so its length must be 1")
    return [x]


@register(CheckAndRaise)
def lower_check_and_raise(cg, node, refs):
    x, *conditions = refs
    for c in conditions:
        cg.check(f"not {c.at([])}", "ValueError", node.op.message)
    return [x]   # the value itself: nothing to copy


@register(Shape)
def lower_shape(cg, node, refs):
    (x,) = refs
    out = cg.alloc([str(x.ndim)], "int64")
    for k in range(x.ndim):
        cg.emit(f"{out.name}[{k}] = {x.dim(k)}")
    return [out]


@register(ShapeI)
def lower_shape_i(cg, node, refs):
    # the length expression itself: equal lengths then read the same (codegen.Array.dims)
    return [Scalar(refs[0].dim(node.op.i), "int64")]


@register(MakeVector)
def lower_make_vector(cg, node, refs):
    out = cg.alloc([str(len(refs))], node.outputs[0].dtype)
    for k, r in enumerate(refs):
        cg.emit(f"{out.name}[{k}] = {r.at([])}")
    return [out]


def shape_entries(cg, var, ref, n):
    """Source expressions for the n entries of a shape vector."""
    if isinstance(var.owner.op if var.owner else None, MakeVector):
        return [cg.ref(v).at([]) for v in var.owner.inputs]
    if isinstance(ref, Scalar):
        return [ref.at([])]
    return [ref.at([str(k)]) for k in range(n)]


# a product of sizes above this many elements is refused before int64
# arithmetic would wrap it ((2**62 + 1) * 4 is 4): no array is that large, and
# below it the product is exact
MAX_ELEMENTS = 2 ** 62


def check_product(cg, sizes, message):
    """Refuse sizes (non-negative, or -1) whose product could overflow int64.
    The product is taken in floating point, which cannot wrap."""
    if len(sizes) > 1:
        product = " * ".join(f"abs(np.float64({d}))" for d in sizes)
        cg.check(f"{product} > {float(MAX_ELEMENTS)!r}", "ValueError", message)


@register(Reshape)
def lower_reshape(cg, node, refs):
    x, shape_ref = refs
    n = node.op.ndim
    shape_var = node.inputs[1]
    if not isinstance(shape_var, Constant) and not isinstance(
            shape_var.owner.op if shape_var.owner else None, MakeVector):
        # a vector known only at run time: its length must be ndim before it is read
        cg.check(f"{shape_ref.dim(0)} != {n}", "ValueError",
                 f"the shape vector must have {n} entries (ndim={n})")
        cg.flush_checks()
    entries = []
    for e in shape_entries(cg, shape_var, shape_ref, n):
        d = cg.fresh("n")
        cg.emit(f"{d} = np.int64({e})")
        entries.append(d)
    # NumPy's rules (Reshape.perform), checked before Numba's reshape, whose
    # product of the sizes wraps around
    for d in entries:
        cg.check(f"{d} < -1", "ValueError", "sizes must be at least 0 (or -1 once)")
    if n > 1:
        cg.check(" + ".join(f"({d} == -1)" for d in entries) + " > 1", "ValueError",
                 "can only specify one unknown dimension")
    check_product(cg, entries, "cannot reshape the array into a shape this large")
    dtype = node.outputs[0].dtype
    if x.ndim == 0:
        dims = [cg.fresh("n") for _ in range(n)]
        for d, e in zip(dims, entries):
            cg.emit(f"{d} = 1 if {e} == -1 else {e}")
        if dims:
            cg.check(" * ".join(dims) + " != 1", "ValueError",
                     "cannot reshape an array of size 1 into this shape")
            out = cg.alloc(dims, dtype)
            cg.loops(dims, lambda idx: [f"{out.at(idx)} = {x.at([])}"])
            return [out]
        return [x]
    arr = cg.as_array(x)
    flat = cg.fresh("w")
    cg.emit(f"{flat} = np.ascontiguousarray({arr.name})")
    if n == 0:
        cg.check(f"{flat}.size != 1", "ValueError",
                 "cannot reshape an array into a scalar unless it has size 1")
        return [cg.assign(f"{flat}.reshape(-1)[0]", dtype)]
    name = cg.fresh("v")
    cg.emit(f"{name} = {flat}.reshape(({''.join(e + ', ' for e in entries)}))")
    return [Array(name, dtype, n, root=x.root, buffer=arr.buffer)]


@register(Alloc)
def lower_alloc(cg, node, refs):
    value, *sizes = refs
    out_var = node.outputs[0]
    dims = []
    for k, s in enumerate(sizes):
        d = cg.fresh("n")
        cg.emit(f"{d} = np.int64({s.at([])})")
        cg.check(f"{d} < 0", "ValueError", "negative dimensions are not allowed")
        dims.append(d)
    # np.empty checks its own product; this says which node asked for it
    check_product(cg, dims, "array is too big")
    out = cg.alloc(dims, out_var.dtype)
    lead = out_var.ndim - value.ndim
    steps = broadcast_steps(cg, value, node.inputs[0], dims[lead:])
    cg.loops(dims, lambda idx: _copy_line(out, idx, value, idx[lead:], steps))
    return [out]


def broadcast_steps(cg, ref, var, dims):
    """NumPy's runtime broadcasting of ``ref`` against ``dims``: per axis, "1"
    (walk it), "0" (length 1, repeat it) or a variable deciding at run time."""
    steps = []
    for k, d in enumerate(dims):
        if var.type.broadcastable[k]:
            steps.append("0")
            continue
        if ref.dim(k) == d:
            steps.append("1")
            continue
        st = cg.fresh("st")
        cg.emit(f"{st} = 1 if {ref.dim(k)} == {d} else 0")
        cg.check(f"{ref.dim(k)} != {d} and {ref.dim(k)} != 1", "ValueError",
                 f"could not broadcast the value along axis {k}")
        steps.append(st)
    return steps


def _copy_line(out, idx, value, vidx, steps, op="="):
    src = [("0" if s == "0" else i if s == "1" else f"{i} * {s}") for i, s in zip(vidx, steps)]
    lines, expr = value.load(src)
    return lines + [f"{out.at(idx)} {op} {expr}"]


@register(Join)
def lower_join(cg, node, refs):
    axis, out_var = node.op.axis, node.outputs[0]
    total = cg.fresh("n")
    # arrays of size 0 may have huge lengths ((0, 2**62)): their sum could wrap
    cg.check(" + ".join(f"np.float64({r.dim(axis)})" for r in refs) + f" > {float(MAX_ELEMENTS)!r}",
             "ValueError", "array is too big")
    cg.emit(f"{total} = " + " + ".join(r.dim(axis) for r in refs))
    dims = [total if k == axis else refs[0].dim(k) for k in range(out_var.ndim)]
    for r in refs[1:]:
        for k in range(out_var.ndim):
            if k != axis:
                cg.check_same(r.dim(k), refs[0].dim(k), "ValueError",
                              f"all the input array dimensions except for the concatenation axis "
                              f"must match exactly (axis {k})")
    out = cg.alloc(dims, out_var.dtype)
    offset = cg.fresh("o")
    cg.emit(f"{offset} = 0")
    for r in refs:
        rdims = [r.dim(k) for k in range(r.ndim)]

        def body(idx, r=r):
            lines, expr = r.load(idx)
            oidx = [f"{offset} + {i}" if k == axis else i for k, i in enumerate(idx)]
            return lines + [f"{out.at(oidx)} = {expr}"]
        cg.loops(rdims, body)
        cg.emit(f"{offset} += {r.dim(axis)}")
    return [out]


@register(ARange)
def lower_arange(cg, node, refs):
    start, stop, step = (r.at([]) for r in refs)
    dtype = node.outputs[0].dtype
    calc = "float64" if any(np.dtype(v.dtype).kind == "f" for v in node.inputs) else "int64"
    first, _, inc = (constant_value(v) for v in node.inputs)
    if calc == "int64" and first == 0 and inc == 1:
        # arange(n): n elements, and n itself when it is a length (ShapeI)
        n = stop if _is_length(stop) else f"max(np.int64({stop}), 0)"
        out = cg.alloc([n], dtype)
        cg.loops([n], lambda idx: [f"{out.at(idx)} = {idx[0]}"])
        return [out]
    a, b, s, n = cg.fresh("a"), cg.fresh("a"), cg.fresh("a"), cg.fresh("n")
    cg.emit(f"{a} = {cast(start, calc)}", f"{b} = {cast(stop, calc)}", f"{s} = {cast(step, calc)}")
    cg.check(f"{s} == 0", "ValueError", "step must not be zero")
    limit = MAX_BYTES // np.dtype(dtype).itemsize
    if calc == "int64":
        # the length in uint64, exact: b - a can exceed int64 (-2**62 to 2**62)
        u, one, span = cg.fresh("u"), "np.uint64(1)", cg.fresh("u")
        cg.emit(f"{u} = np.uint64({s}) if {s} > 0 else np.uint64(0) - np.uint64({s})",
                f"{span} = np.uint64({b}) - np.uint64({a}) if {s} > 0 else "
                f"np.uint64({a}) - np.uint64({b})",
                f"{span} = ({span} - {one}) // {u} + {one} if ({b} > {a}) == ({s} > 0) "
                f"and {b} != {a} else np.uint64(0)")
        cg.check(f"{span} > np.uint64({limit})", "ValueError", "Maximum allowed size exceeded")
        cg.emit(f"{n} = np.int64({span})")
    else:
        q = cg.fresh("q")
        cg.emit(f"{q} = ({b} - {a}) / {s}")
        # inf or nan: NumPy raises (an int conversion of either is undefined)
        cg.check(f"not (-np.inf < {q} <= {float(limit)!r})", "ValueError",
                 "cannot compute the length, or Maximum allowed size exceeded")
        cg.emit(f"{n} = np.int64(math.ceil({q})) if {q} > 0 else 0")
    cg.emit(f"{n} = max({n}, 0)")
    out = cg.alloc([n], dtype)
    cg.loops([n], lambda idx: [f"{out.at(idx)} = {a} + {idx[0]} * {s}"])
    return [out]


def _is_length(expr):
    return re.fullmatch(r"\w+\.shape\[\d+\]", expr) is not None
