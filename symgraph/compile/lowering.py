"""Lowerings for the Numba program: elementwise (one generic rule from each op's
scalar code, Fused included), reductions, shapes, dot and softmax.  Indexing is
in lower_indexing.py.  Each rule appends lines to the CodeGen and returns one
Ref per output (see codegen.py)."""
import re

import numpy as np

from ..graph import Constant
from ..ops import elemwise as ew
from ..ops.blas import Dot
from ..ops.check import CheckAndRaise
from ..ops.fused import Fused
from ..ops.nnet import LogSoftmax, Softmax
from ..ops.reduce import All, Any, Argmax, Mean, Max, Min, Prod, Sum
from ..ops.shape import (MAX_BYTES, Alloc, ARange, DimShuffle, Join, MakeVector, Rebroadcast,
                         Reshape, Shape, ShapeI, constant_value)
from . import pairwise
from .codegen import Array, Scalar, View, cast, literal, np_dtype, register, view

# ------------------------------------------------------------------ scalar code
# Target-specific forms that take precedence over an op's own scalar template:
# NumPy semantics where Python's differ (NaN in max/min, floor of inf, ~ on bool).
_SCALAR_RULES = {
    # | rather than or: no branch, so the loop stays vectorizable
    ew.Maximum: lambda a, b, dt: _nan_select(a, b, ">=") if _isf(dt) else None,
    ew.Minimum: lambda a, b, dt: _nan_select(a, b, "<=") if _isf(dt) else None,
    # exp and tanh that LLVM can vectorize (runtime.py): libm's are 5-10x slower
    ew.Exp: lambda a, dt: f"fexp(np.float64({a}))",
    ew.Expm1: lambda a, dt: f"fexpm1(np.float64({a}))",
    ew.Tanh: lambda a, dt: f"ftanh(np.float64({a}))",
    ew.Floor: lambda a, dt: f"np.floor({a})",
    ew.Ceil: lambda a, dt: f"np.ceil({a})",
    ew.Invert: lambda a, dt: f"(not {a})" if dt[0] == "bool" else None,
    # NumPy's INT_MIN // -1 wraps to INT_MIN (Numba's gives 0); // 0 is 0 in both
    ew.IntDiv: lambda a, b, dt: f"(-{a} if {b} == -1 else {a} // {b})"
    if np.result_type(*dt).kind == "i" else None,
}


def _power(cg, op, a, b, in_dtypes, out_dtype):
    """NumPy's power.  A float result is pow of both operands in that float type:
    Numba's loop for an integer exponent raises ZeroDivisionError for 0.0 ** -1,
    where NumPy gives inf.  Integers to a negative integer power raise ValueError,
    as in NumPy (Numba returns 0)."""
    if np.dtype(out_dtype).kind == "f":
        a, b = (x if d == out_dtype else cast(x, out_dtype) for x, d in zip((a, b), in_dtypes))
        return [], f"({a} ** {b})"
    lines = []
    if op.may_fail(in_dtypes):
        lines = [f"if {b} < 0:", "    " + cg.fail("ValueError", ew.NEGATIVE_INT_POWER)]
    return lines, f"({a} ** {b})"


_FAST_FORM = re.compile(r"\bf(exp|expm1|tanh)\(")


def _libm_forms(lines):
    """``lines`` with libm's exp, expm1 and tanh in place of the vectorizable
    ones.  For the loop body of a floating-point reduction: LLVM never
    vectorizes those (it keeps the order of the sum), and one element at a time
    libm's are faster (exp 7 ns against 13 ns here; docs/benchmarks.md)."""
    return [_FAST_FORM.sub(r"math.\1(", line) for line in lines]


def _nan_select(a, b, cmp):
    """max/min that passes NaN on, as NumPy's maximum/minimum do."""
    return f"({a} if (({a} {cmp} {b}) | ({a} != {a})) else {b})"


def _isf(dtypes):
    return any(np.dtype(d).kind == "f" for d in dtypes)


def _logistic(cg, op, a, shared):
    """sigmoid and softplus through t = exp(-|x|), which x and -x share: in one
    fused loop body (a cost and its gradient use both signs) t, and softplus's
    log1p(t), are computed once.  Both forms are the stable ones (no overflow
    of exp for either sign)."""
    base = shared["neg"].get(a, a)
    lines = []

    def term(kind, make):
        if (kind, base) not in shared["terms"]:
            name = cg.fresh("t")
            lines.append(f"{name} = {make()}")
            shared["terms"][kind, base] = name
        return shared["terms"][kind, base]

    t = term("exp", lambda: f"fexp(-abs(np.float64({base})))")
    if isinstance(op, ew.Sigmoid):
        return lines, f"((1.0 if {a} >= 0 else {t}) / (1.0 + {t}))"
    return lines, f"(max({a}, 0.0) + {term('log1p', lambda: f'math.log1p({t})')})"


def scalar_lines(cg, op, args, in_dtypes, out_dtype, shared=None):
    """(statements, expression) of ``op`` on scalar expressions ``args``.

    The expression is not cast to ``out_dtype``: stores into arrays (and
    ``cg.assign``) convert.  Intermediate steps of a Fused op are cast to their
    dtype, unless all is float64 (Numba's own result type then), so narrow
    types wrap and round as in NumPy."""
    if shared is None:
        shared = {"neg": {}, "terms": {}}   # what the steps of one loop body share
    if isinstance(op, (ew.Sigmoid, ew.Softplus)):
        return _logistic(cg, op, args[0], shared)
    if isinstance(op, ew.Pow):
        return _power(cg, op, *args, list(in_dtypes), out_dtype)
    if not isinstance(op, Fused):
        rule = _SCALAR_RULES.get(type(op))
        expr = rule(*args, list(in_dtypes)) if rule else None
        return [], expr if expr is not None else op.scalar_code(list(args))
    names, dtypes, lines = list(args), list(in_dtypes), []
    for k, (step, refs) in enumerate(op.steps):
        step_in = [dtypes[r] for r in refs]
        step_out = step.output_dtype(step_in)
        sub_lines, expr = scalar_lines(cg, step, [names[r] for r in refs], step_in, step_out,
                                       shared)
        lines += sub_lines
        if k == len(op.steps) - 1:
            return lines, expr
        if not (step_out == "float64" and all(d == "float64" for d in step_in)):
            expr = cast(expr, step_out)
        name = cg.fresh("f")
        lines.append(f"{name} = {expr}")
        if isinstance(step, ew.Neg):
            shared["neg"][name] = names[refs[0]]
        names.append(name)
        dtypes.append(step_out)
    raise ValueError("a fused op without steps")


# ------------------------------------------------------------------ elementwise
def broadcast_dims(cg, node, refs):
    """Output lengths of an elementwise node; flagged axes have length 1, the
    others must agree (checked)."""
    out = node.outputs[0]
    dims = []
    for k in range(out.ndim):
        if out.type.broadcastable[k]:
            dims.append("1")
            continue
        lengths = [r.dim(k) for v, r in zip(node.inputs, refs) if not v.type.broadcastable[k]]
        for other in lengths[1:]:
            cg.check_same(other, lengths[0], "ValueError",
                          f"input shapes do not match on axis {k} (an axis that is not flagged "
                          f"broadcastable must have the same length in every input)")
        dims.append(lengths[0])
    return dims


def element(cg, node, refs, idx):
    """(statements, expression) of the node's value at the index names ``idx``."""
    lines, args = [], []
    for ref, var in zip(refs, node.inputs):
        load_lines, expr = ref.load(["0" if f else i for f, i in zip(var.type.broadcastable, idx)])
        lines += load_lines
        args.append(expr)
    more, expr = scalar_lines(cg, node.op, args, [v.dtype for v in node.inputs],
                              node.outputs[0].dtype)
    return lines + more, expr


def elemwise_loop(cg, node, refs, dims, out):
    """Write the node's values into the Array ``out`` over ``dims``."""
    def body(idx):
        lines, expr = element(cg, node, refs, idx)
        return lines + [f"{out.at(idx)} = {expr}"]
    cg.loops(dims, body, parallel=costly(node.op))


# scalar functions that make a loop compute-bound: the ones worth threads (a
# loop of adds and multiplies is bound by memory, which one core already saturates)
_COSTLY = (ew.Exp, ew.Log, ew.Log1p, ew.Expm1, ew.Sqrt, ew.Sin, ew.Cos, ew.Tan, ew.Tanh, ew.Sinh,
           ew.Cosh, ew.ArcSin, ew.ArcCos, ew.ArcTan, ew.Erf, ew.Pow, ew.Sigmoid, ew.Softplus)


def costly(op):
    if isinstance(op, Fused):
        return any(costly(step) for step, _ in op.steps)
    return isinstance(op, _COSTLY)


class ElemRef(View):
    """An elementwise result computed where its one consumer, a reduction,
    reads it: no array, no second pass (codegen.generate decides)."""

    def __init__(self, cg, node, refs):
        self.cg, self.node, self.refs = cg, node, refs
        out = node.outputs[0]
        self.dtype, self.ndim, self.root, self.buffer = out.dtype, out.ndim, None, None
        self.dims = broadcast_dims(cg, node, refs)   # checks the shapes here

    def dim(self, k):
        return self.dims[k]

    def load(self, idx):
        return element(self.cg, self.node, self.refs, idx)

    def at(self, idx):
        lines, expr = self.load(idx)
        if lines:
            raise TypeError("this element needs statements: read it with load()")
        return expr


@register(ew.Elemwise)
def lower_elemwise(cg, node, refs):
    out_var = node.outputs[0]
    if out_var.ndim == 0:
        lines, expr = scalar_lines(cg, node.op, [r.at([]) for r in refs],
                                   [v.dtype for v in node.inputs], out_var.dtype)
        cg.emit(*lines)
        return [cg.assign(expr, out_var.dtype)]
    dims = broadcast_dims(cg, node, refs)
    target = cg.inplace_target(node, refs)
    out = target if target is not None else cg.alloc(dims, out_var.dtype)
    lazy = [r for r in refs if isinstance(r, DotRef)]
    if not lazy:
        elemwise_loop(cg, node, refs, dims, out)
        return [out]
    # a matrix product folded into an in-place update (inplace.py): for
    # W <- beta * W + alpha * dot(A, B), one BLAS gemm writes into W (each weight
    # read and written once); otherwise the product goes to a temporary first
    for d in lazy:
        d.emit_checks(cg)
    form = None
    if len(lazy) == 1:
        form = linear_update(node, refs, refs.index(out), refs.index(lazy[0]))
    if form is not None:
        # the target is an argument: C-contiguous (numba_cpu.py)
        d = lazy[0]
        a, b = (blas_operand(cg, r) for r in (d.a, d.b))
        beta, alpha = form
        if d.ndim == 2:
            cg.emit(f"matmul({a}, {b}, {out.name}, {alpha}, {beta})")
            return [out]
        mat, vec, trans = (a, b, "False") if d.a.ndim == 2 else (b, a, "True")
        call = f"matvec({mat}, {vec}, {out.name}, {alpha}, {beta}, {trans})"
        if beta == "1.0":
            cg.emit(call)
        else:   # gemv returns at once when the inner length is 0, without scaling by beta
            cg.emit(f"if {d.a.dim(d.a.ndim - 1)} == 0:", f"    {out.name}[:] *= {beta}",
                    "else:", f"    {call}")
        return [out]
    elemwise_loop(cg, node, [d.materialize(cg) if isinstance(d, DotRef) else d for d in refs],
                  dims, out)
    return [out]


def blas_operand(cg, ref):
    """The name of a C- or Fortran-contiguous array holding ``ref``."""
    arr = cg.as_array(ref)
    if arr.layout in ("C", "F"):
        return arr.name
    name = cg.fresh("g")
    cg.emit(f"{name} = np.ascontiguousarray({arr.name})")
    return name


class DotRef(View):
    """dot(A, B), a matrix or a matrix-vector product, that its one consumer
    computes itself (inplace.py)."""

    def __init__(self, cg, a, b, dtype):
        self.a, self.b = a, b
        self.dtype, self.ndim, self.root, self.buffer = str(dtype), a.ndim + b.ndim - 2, None, None

    def dim(self, k):
        return self.a.dim(0) if k == 0 and self.a.ndim == 2 else self.b.dim(1)

    def at(self, idx):
        raise TypeError("a DotRef is materialized before it is read")

    load = at

    def emit_checks(self, cg):
        cg.check_same(self.a.dim(self.a.ndim - 1), self.b.dim(0), "ValueError",
                      "inner dimensions of dot do not match")

    def materialize(self, cg):
        return dot_arrays(cg, self.a, self.b, self.dtype, check=False)   # checked above


def linear_update(node, refs, target_pos, dot_pos):
    """(beta, alpha) as source expressions when the node computes
    ``beta * W + alpha * D`` (W: input ``target_pos``, D: input ``dot_pos``) with
    beta and alpha made of broadcast scalars only; else None."""
    def leaf(i):
        if i == target_pos:
            return {"W": "1.0"}
        if i == dot_pos:
            return {"D": "1.0"}
        var = node.inputs[i]
        if all(var.type.broadcastable) and np.dtype(var.dtype).kind in "fiu":
            return {"1": f"np.float64({refs[i].at(['0'] * var.ndim)})"}
        return None
    terms = _linear(node.op, [leaf(i) for i in range(len(node.inputs))])
    if terms is None or "D" not in terms or set(terms) - {"W", "D"}:
        return None
    return terms.get("W", "0.0"), terms["D"]


def _linear(op, args):
    """Linear forms {"W"|"D"|"1": coefficient source} through add, sub, neg, mul, div."""
    if any(a is None for a in args):
        return None
    if isinstance(op, Fused):
        values = list(args)
        for step, step_refs in op.steps:
            values.append(_linear(step, [values[r] for r in step_refs]))
        return values[-1]

    def combine(a, b, sign):
        out = dict(a)
        for key, coef in b.items():
            out[key] = f"({out[key]} {sign} {coef})" if key in out else \
                (coef if sign == "+" else f"(-{coef})")
        return out

    def scale(a, c):
        return {key: f"({c} * {coef})" for key, coef in a.items()}

    constant = [set(a) <= {"1"} for a in args]
    if isinstance(op, ew.Add):
        out = args[0]
        for a in args[1:]:
            out = combine(out, a, "+")
        return out
    if isinstance(op, ew.Sub):
        return combine(args[0], args[1], "-")
    if isinstance(op, ew.Neg):
        return scale(args[0], "-1.0")
    if isinstance(op, ew.Mul) and sum(not c for c in constant) <= 1:
        out = next((a for a, c in zip(args, constant) if not c), None)
        factors = [a["1"] for a, c in zip(args, constant) if c]
        if out is None:
            out, factors = args[0], factors[1:]
        for f in factors:
            out = scale(out, f)
        return out
    if isinstance(op, ew.TrueDiv) and constant[1]:
        return scale(args[0], f"(1.0 / {args[1]['1']})")
    return None


# ------------------------------------------------------------------ reductions
def _acc_dtype(op, in_dtype, out_dtype):
    if isinstance(op, Mean):
        return "float64"
    if isinstance(op, (Sum, Prod)):
        return "float64" if np.dtype(out_dtype).kind == "f" else out_dtype
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


# ------------------------------------------------------------------ shapes
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


# ------------------------------------------------------------------ dot
def _user_data(ref):
    """Whether ``ref`` reads a function argument (or a constant) rather than a
    parameter or a computed value: mostly-zero rows (bag-of-words, one-hot)
    come from the data, so only products with such an operand get the
    zero-skipping loop (runtime.skinny_matmul), which costs compile time."""
    from ..shared import SharedVariable
    return getattr(ref, "root", None) is not None and not isinstance(ref.root, SharedVariable)


def dot_arrays(cg, a, b, dtype, check=True):
    """dot of two Refs (vectors or matrices) into a fresh Array or Scalar."""
    if np.dtype(dtype).kind == "f":
        arrays = []
        for r in (a, b):
            arr = cg.as_array(r)
            if arr.dtype != dtype:
                name = cg.fresh("w")
                cg.emit(f"{name} = {arr.name}.astype({np_dtype(dtype)})")
                arr = Array(name, dtype, arr.ndim)
            arrays.append(arr)
        a_arr, b_arr = arrays
        if check:
            cg.check_same(a_arr.dim(a_arr.ndim - 1), b_arr.dim(0), "ValueError",
                          "inner dimensions of dot do not match")
        if a.ndim == 1 and b.ndim == 1:
            acc, k = cg.fresh("acc"), cg.fresh("k")
            cg.emit(f"{acc} = 0.0", f"for {k} in range({a_arr.dim(0)}):",
                    f"    {acc} += {a_arr.name}[{k}] * {b_arr.name}[{k}]")
            return cg.assign(acc, dtype)
        an, bn = blas_operand(cg, a_arr), blas_operand(cg, b_arr)
        if a.ndim == 2 and b.ndim == 2:
            out = cg.alloc([a_arr.dim(0), b_arr.dim(1)], dtype)
            call = f"matmul({an}, {bn}, {out.name}, 1.0, 0.0)"
            if _user_data(b):
                cg.emit(f"if not skinny_matmul({an}, {bn}, {out.name}, 1.0, 0.0):", f"    {call}")
            else:
                cg.emit(call)
            return out
        # matrix @ vector, or vector @ matrix as matrix.T @ vector; zeros because
        # BLAS leaves the result alone when the inner length is 0
        mat, vec, trans = (an, bn, "False") if a.ndim == 2 else (bn, an, "True")
        length = a_arr.dim(0) if a.ndim == 2 else b_arr.dim(1)
        out = cg.fresh("v")
        cg.emit(f"{out} = np.zeros({length}, {np_dtype(dtype)})",
                f"matvec({mat}, {vec}, {out}, 1.0, 0.0, {trans})")
        return Array(out, dtype, 1, owned=True)
    # integers and booleans: no BLAS, plain loops in 64-bit
    inner = a.dim(a.ndim - 1)
    cg.check_same(inner, b.dim(0), "ValueError", "inner dimensions of dot do not match")
    dims = [a.dim(0)] * (a.ndim == 2) + [b.dim(1)] * (b.ndim == 2)
    acc, k = cg.fresh("acc"), cg.fresh("k")

    def body(idx):
        ia = ([idx[0]] if a.ndim == 2 else []) + [k]
        ib = [k] + ([idx[-1]] if b.ndim == 2 else [])
        return [f"{acc} = 0", f"for {k} in range({inner}):",
                f"    {acc} += np.int64({a.at(ia)}) * np.int64({b.at(ib)})"]
    if not dims:
        cg.emit(*body([]))
        return cg.assign(acc, dtype)
    out = cg.alloc(dims, dtype)
    cg.loops(dims, lambda idx: body(idx) + [f"{out.at(idx)} = {acc}"])
    return out


@register(Dot)
def lower_dot(cg, node, refs):
    return [dot_arrays(cg, refs[0], refs[1], node.outputs[0].dtype)]


# ------------------------------------------------------------------ softmax
@register(Softmax, LogSoftmax)
def lower_softmax(cg, node, refs):
    (x,), out_var = refs, node.outputs[0]
    dtype, log = out_var.dtype, isinstance(node.op, LogSoftmax)
    dims = [x.dim(k) for k in range(x.ndim)]
    out = cg.alloc(dims, dtype)
    m, s, j, e = cg.fresh("m"), cg.fresh("s"), cg.fresh("j"), cg.fresh("e")
    row = dims[-1]

    def body(idx):
        at = lambda jj: x.at(idx + [jj])  # noqa: E731
        o = lambda jj: out.at(idx + [jj])  # noqa: E731
        lines = [f"{m} = -np.inf",
                 f"for {j} in range({row}):",
                 f"    {e} = np.float64({at(j)})",
                 f"    if {e} > {m} or {e} != {e}:",
                 f"        {m} = {e}",
                 f"{s} = 0.0"]
        if log:
            lines += [f"for {j} in range({row}):",
                      f"    {s} += math.exp(np.float64({at(j)}) - {m})",   # a sum: see _libm_forms
                      f"{s} = math.log({s})",
                      f"for {j} in range({row}):",
                      f"    {o(j)} = np.float64({at(j)}) - {m} - {s}"]
        else:
            lines += [f"for {j} in range({row}):",
                      f"    {e} = math.exp(np.float64({at(j)}) - {m})",
                      f"    {o(j)} = {e}",
                      f"    {s} += {e}",
                      f"for {j} in range({row}):",
                      f"    {o(j)} = {o(j)} / {s}"]
        return lines
    cg.loops(dims[:-1], body)
    return [out]
