"""Lowerings for the Numba program: elementwise (one generic rule from each op's
scalar code, Fused included), dot and softmax.  Reductions are in
lower_reduce.py, shapes in lower_shape.py, indexing in lower_indexing.py.  Each rule appends lines to the CodeGen and returns one
Ref per output (see codegen.py)."""
import re

import numpy as np

from ..ops import elemwise as ew
from ..ops.blas import Dot
from ..ops.fused import Fused
from ..shared import SharedVariable
from .codegen import Array, View, cast, literal, np_dtype, registrar
from .plan import Call

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)

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


# the CPU's fast exp, expm1 and tanh compute in float64; a GPU target keeps the
# op's own math.* form, which stays in float32 for float32 operands
_CPU_FORMS = (ew.Exp, ew.Expm1, ew.Tanh)


def _gpu_floor(a, dtype, ceil=False):
    """NumPy's floor (ceil) of a float in its own dtype, without np.floor, which
    CUDA kernels lack (math.floor gives an integer): a float that large, inf or
    NaN is its own floor."""
    big = literal(2.0 ** (23 if dtype == "float32" else 52), dtype)
    fn = "math.ceil" if ceil else "math.floor"
    return f"({a} if not (abs({a}) < {big}) else {cast(f'{fn}({a})', dtype)})"


def _gpu_round(a, dtype):
    """NumPy's round half to even."""
    f = _gpu_floor(a, dtype)
    one, half, two = (literal(v, dtype) for v in (1, 0.5, 2))
    return (f"({f} + {one} if ({a} - {f} > {half}) or ({a} - {f} == {half} and "
            f"math.fmod({f}, {two}) != 0) else {f})")


def _gpu_sign(a, dtype):
    one = literal(1, dtype)
    return f"({one} if {a} > 0 else (-{one} if {a} < 0 else {a}))"


# forms for the GPU target where the CPU's use what CUDA kernels lack (np.floor ...)
_GPU_RULES = {
    ew.Floor: lambda a, dt: _gpu_floor(a, dt[0]) if _isf(dt) else None,
    ew.Ceil: lambda a, dt: _gpu_floor(a, dt[0], ceil=True) if _isf(dt) else None,
    ew.Round: lambda a, dt: _gpu_round(a, dt[0]) if _isf(dt) else a,
    ew.Sign: lambda a, dt: _gpu_sign(a, dt[0]),
}

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


def _logistic(cg, op, a, shared, out_dtype):
    """sigmoid and softplus through t = exp(-|x|), which x and -x share: in one
    fused loop body (a cost and its gradient use both signs) t, and softplus's
    log1p(t), are computed once.  Both forms are the stable ones (no overflow
    of exp for either sign).  On a GPU target in the result's own dtype."""
    base = shared["neg"].get(a, a)
    lines = []
    if cg.options.get("target") == "gpu":
        one, zero = literal(1, out_dtype), literal(0, out_dtype)
        t = f"math.exp(-abs({cast(base, out_dtype)}))"
        name = shared["terms"].get(("exp", base))
        if name is None:
            name = shared["terms"]["exp", base] = cg.fresh("t")
            lines.append(f"{name} = {t}")
        if isinstance(op, ew.Sigmoid):
            return lines, f"(({one} if {a} >= 0 else {name}) / ({one} + {name}))"
        return lines, f"(max({cast(a, out_dtype)}, {zero}) + math.log1p({name}))"

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
        return _logistic(cg, op, args[0], shared, out_dtype)
    if isinstance(op, ew.Pow):
        return _power(cg, op, *args, list(in_dtypes), out_dtype)
    if not isinstance(op, Fused):
        rule = _SCALAR_RULES.get(type(op))
        if cg.options.get("target") == "gpu":
            rule = _GPU_RULES.get(type(op), None if isinstance(op, _CPU_FORMS) else rule)
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
    cg.loops(dims, body, parallel="compute" if costly(node.op) else "memory")


def costly(op):
    """A loop of ``op`` is compute-bound (Elemwise.costly), worth threads."""
    if isinstance(op, Fused):
        return any(costly(step) for step, _ in op.steps)
    return op.costly


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
            cg.call("gemm", a, b, out.name, alpha, beta)
            return [out]
        mat, vec, trans = (a, b, "False") if d.a.ndim == 2 else (b, a, "True")
        gemv = ("gemv", mat, vec, out.name, alpha, beta, trans)
        matrix = d.a if d.a.ndim == 2 else d.b
        size = [matrix.dim(0), matrix.dim(1)]
        if beta == "1.0":
            cg.call(*gemv, parallel_dims=size)
        else:   # gemv returns at once when the inner length is 0, without scaling by beta
            with cg.block(f"if {d.a.dim(d.a.ndim - 1)} == 0:"):
                cg.emit(f"{out.name}[:] *= {beta}")
            with cg.block("else:"):
                cg.call(*gemv, parallel_dims=size)
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


# ------------------------------------------------------------------ dot
def _user_data(ref):
    """Whether ``ref`` reads a function argument (or a constant) rather than a
    parameter or a computed value: mostly-zero rows (bag-of-words, one-hot)
    come from the data, so only products with such an operand get the
    zero-skipping loop (plan.Call skinny_gemm), which costs compile time."""
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
            args = (an, bn, out.name, "1.0", "0.0")
            if _user_data(b):
                cg.call("skinny_gemm", *args, otherwise=Call("gemm", list(args)))
            else:
                cg.call("gemm", *args)
            return out
        # matrix @ vector, or vector @ matrix as matrix.T @ vector; zeros because
        # BLAS leaves the result alone when the inner length is 0
        mat, vec, trans = (an, bn, "False") if a.ndim == 2 else (bn, an, "True")
        length = a_arr.dim(0) if a.ndim == 2 else b_arr.dim(1)
        out = cg.fresh("v")
        cg.emit(f"{out} = np.zeros({length}, {np_dtype(dtype)})")
        matrix = a_arr if a.ndim == 2 else b_arr
        cg.call("gemv", mat, vec, out, "1.0", "0.0", trans,
                parallel_dims=[matrix.dim(0), matrix.dim(1)])
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

