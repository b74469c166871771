"""Canonical forms that a row cannot say: n-ary sums and products.

A sum tree (add, sub, neg of one dtype) becomes ``add(pos...) - add(neg...)``
with identical terms counted (``x + x -> 2*x``, ``x - x`` gone) and its
constants gathered into one; a product tree (mul, true_div, neg of one float
dtype) becomes ``[-](c * num...) / (den...)`` with common factors of the
numerator and the denominator cancelled (``x*y/y -> x``) and its constants
gathered into one.  Each function first reads the tree as it is built now and
does nothing when that already is the canonical form, so a sweep over a
canonical graph builds nothing.
"""
import numpy as np

from ..graph import Constant
from ..ops import elemwise as ew
from ..ops.elemwise import Cast, Elemwise, Second
from ..ops.reduce import Argmax
from ..ops.shape import DimShuffle, MakeVector, ShapeI
from ..types import is_float
from .values import constant_array, make_constant, scalar_constant

# terms or factors gathered into one node at most (keeps x+x+x... chains linear)
MAX_TERMS = 64


def _same(a, b):
    return a is b or (isinstance(a, Constant) and isinstance(b, Constant) and a.equals(b))


def _same_lists(xs, ys):
    return len(xs) == len(ys) and all(_same(x, y) for x, y in zip(xs, ys))


def _args_of(var, op_class, dtype):
    node = var.owner
    if node is not None and isinstance(node.op, op_class) and var.dtype == dtype:
        return list(node.inputs)
    return [var]


def _walk(out, ops, visit):
    """Leaves of the tree of ``ops`` nodes (of out's dtype) under ``out``, each
    with the sign or power that ``visit`` gives it; a subtree that would bring
    the count past MAX_TERMS stays one leaf."""
    leaves, stack = [], [(1, out)]
    while stack:
        p, v = stack.pop()
        node = v.owner
        if node is not None and isinstance(node.op, ops) and v.dtype == out.dtype and \
                (v is out or len(leaves) + len(stack) + len(node.inputs) <= MAX_TERMS):
            stack.extend(reversed(visit(node, p)))
        else:
            leaves.append((p, v))
    return leaves


def _split_constants(leaves, dtype, combine, identity):
    """(combined constant value or None, its flags, other leaves, constant variables)."""
    value, flags, others, consts = None, None, [], []
    for p, v in leaves:
        c = constant_array(v)
        if c is None:
            others.append((p, v))
            continue
        consts.append(v)
        c = c.astype(dtype)
        value = combine(np.asarray(identity, dtype), c, p) if value is None else combine(value, c, p)
        flags = v.broadcastable if flags is None else tuple(a and b for a, b in zip(flags, v.broadcastable))
    return value, flags, others, consts


def _converted_one_by_one(items, dtype):
    """``items`` ordered so that, folded left, each one of another dtype meets a
    value of ``dtype`` (as in the tree it came from, where every leaf was
    converted on its own: int leaves must not meet first and overflow); None
    when no order does that."""
    own = [v for v in items if v.dtype == dtype]
    other = [v for v in items if v.dtype != dtype]
    if len(other) > 1 and not own:
        return None
    return own + other


# ------------------------------------------------------------------ sums
def _sum_visit(node, sign):
    op = node.op
    if isinstance(op, ew.Add):
        return [(sign, i) for i in node.inputs]
    if isinstance(op, ew.Sub):
        return [(sign, node.inputs[0]), (-sign, node.inputs[1])]
    return [(-sign, node.inputs[0])]     # neg


def _add_signed(acc, c, sign):
    with np.errstate(all="ignore"):
        return np.add(acc, c, dtype=acc.dtype) if sign > 0 else np.subtract(acc, c, dtype=acc.dtype)


def canonical_sum(out):
    dtype = out.dtype
    if dtype == "bool":
        return None     # + is "or" on booleans: no counting, no cancelling
    leaves = _walk(out, (ew.Add, ew.Sub, ew.Neg), _sum_visit)
    value, flags, others, consts = _split_constants(leaves, dtype, _add_signed, 0)
    counts = {}
    for sign, v in others:
        counts[v] = counts.get(v, 0) + sign
    pos, neg, gone = [], [], list(consts)
    for v, k in counts.items():
        if k == 0:
            gone.append(v)
            continue
        term = v if abs(k) == 1 else ew.Mul()(make_constant(abs(k), dtype, (True,) * v.ndim), v)
        (pos if k > 0 else neg).append(term)
    if value is not None and np.any(value != 0):
        if value.size == 1 and np.dtype(dtype).kind in "fi" and value.flat[0] < 0:
            neg.insert(0, make_constant(-value, dtype, flags))
        else:
            pos.insert(0, make_constant(value, dtype, flags))
    pos, neg = _converted_one_by_one(pos, dtype), _converted_one_by_one(neg, dtype)
    if pos is None or neg is None or (pos and neg and all(v.dtype != dtype for v in pos + neg)):
        return None
    if _is_sum_form(out, pos, neg):
        return None
    return _build_sum(pos, neg, out), gone + [v for _, v in others]


def _is_sum_form(out, pos, neg):
    node, dtype = out.owner, out.dtype
    if isinstance(node.op, ew.Neg):
        now_pos, now_neg = [], _args_of(node.inputs[0], ew.Add, dtype)
    elif isinstance(node.op, ew.Sub):
        now_pos, now_neg = [_args_of(i, ew.Add, dtype) for i in node.inputs]
    else:
        now_pos, now_neg = list(node.inputs), []
    return _same_lists(now_pos, pos) and _same_lists(now_neg, neg)


def _build_sum(pos, neg, like):
    if not pos and not neg:
        return scalar_constant(0, like)
    p = None if not pos else pos[0] if len(pos) == 1 else ew.Add()(*pos)
    n = None if not neg else neg[0] if len(neg) == 1 else ew.Add()(*neg)
    if n is None:
        return p
    return ew.Neg()(n) if p is None else ew.Sub()(p, n)


# ------------------------------------------------------------------ products
def _product_visit(node, power):
    op = node.op
    if isinstance(op, ew.Mul):
        return [(power, i) for i in node.inputs]
    if isinstance(op, ew.TrueDiv):
        return [(power, node.inputs[0]), (-power, node.inputs[1])]
    return [(power, node.inputs[0]), (power, _MINUS_ONE)]     # neg: a factor -1


class _MinusOne:
    """Stands for the factor -1 of a neg while walking a product."""
    owner = None
    broadcastable = ()
    dtype = None


_MINUS_ONE = _MinusOne()


def _mul_power(acc, c, power):
    with np.errstate(all="ignore"):
        return np.multiply(acc, c, dtype=acc.dtype) if power > 0 else np.divide(acc, c, dtype=acc.dtype)


def canonical_product(out):
    dtype = out.dtype
    if not is_float(dtype):
        return None
    leaves = _walk(out, (ew.Mul, ew.TrueDiv, ew.Neg), _product_visit)
    negate = sum(1 for _, v in leaves if v is _MINUS_ONE) % 2 == 1
    leaves = [(p, v) for p, v in leaves if v is not _MINUS_ONE]
    value, flags, others, consts = _split_constants(leaves, dtype, _mul_power, 1)
    num = [v for p, v in others if p > 0]
    den = []
    gone = list(consts)
    for p, v in others:
        if p > 0:
            continue
        for k, n in enumerate(num):
            if n is v:
                del num[k]
                gone.append(v)
                break
        else:
            den.append(v)
    const = None
    if value is not None:
        if negate:
            value = -value
            negate = False
        if np.all(value == -1):
            negate = True
        elif np.any(value != 1):
            const = make_constant(value, dtype, flags)
    if const is None and not num and den:
        const = scalar_constant(1, out)
    num, den = _converted_one_by_one(num, dtype), _converted_one_by_one(den, dtype)
    if num is None or den is None:
        return None
    if _is_product_form(out, negate, const, num, den):
        return None
    return _build_product(negate, const, num, den, out), gone + [v for _, v in others]


def _is_product_form(out, negate, const, num, den):
    dtype, v = out.dtype, out
    now_negate = isinstance(v.owner.op, ew.Neg)
    if now_negate:
        v = v.owner.inputs[0]
    node = v.owner
    if node is not None and isinstance(node.op, ew.TrueDiv) and v.dtype == dtype:
        now_num, now_den = _args_of(node.inputs[0], ew.Mul, dtype), _args_of(node.inputs[1], ew.Mul, dtype)
    else:
        now_num, now_den = _args_of(v, ew.Mul, dtype), []
    want_num = ([const] if const is not None else []) + num
    return now_negate == negate and _same_lists(now_num, want_num) and _same_lists(now_den, den)


def _product(factors):
    return None if not factors else factors[0] if len(factors) == 1 else ew.Mul()(*factors)


def _build_product(negate, const, num, den, like):
    top = _product(([const] if const is not None else []) + num)
    if top is None:
        top = scalar_constant(1, like)
    bottom = _product(den)
    result = top if bottom is None else ew.TrueDiv()(top, bottom)
    return ew.Neg()(result) if negate else result


# ------------------------------------------------------------------ views and shapes
def compose_dimshuffles(out):
    """dimshuffle(dimshuffle(x)) -> one dimshuffle (none when it is the identity)."""
    node = out.owner
    x, order = node.inputs[0], node.op.new_order
    inner = x.owner
    if inner is not None and isinstance(inner.op, DimShuffle):
        order = tuple("x" if a == "x" else inner.op.new_order[a] for a in order)
        x = inner.inputs[0]
    elif order != tuple(range(x.ndim)):
        return None
    if order == tuple(range(x.ndim)):
        return x
    try:
        return DimShuffle(x.broadcastable, order)(x)
    except ValueError:
        return None


def input_lengths(var):
    """``var``'s lengths as infer_shape takes them: the constant 1 on a
    broadcastable axis, else shape_i (a constant's own lengths)."""
    if isinstance(var, Constant):
        return tuple(make_constant(n, "int64", ()) for n in var.data.shape)
    return tuple(make_constant(1, "int64", ()) if flag else ShapeI(a)(var)
                 for a, flag in enumerate(var.broadcastable))


def shape_of_input(out):
    """shape_i(x) read from where the length comes from, as x's op infers it
    from its inputs' lengths (``Op.infer_shape``): 1 on a broadcastable axis,
    else an expression of the inputs' lengths, so the shape does not keep the
    computation of x alive (join(0, a, b).shape[0] -> a.shape[0] + b.shape[0])."""
    i, x = out.owner.op.i, out.owner.inputs[0]
    if x.broadcastable[i]:
        return make_constant(1, "int64", ())
    node = x.owner
    if node is None:
        return None
    shapes = node.op.infer_shape(node, [input_lengths(v) for v in node.inputs])
    if shapes is None:
        return None
    n = shapes[node.outputs.index(x)][i]
    if n is None or n is out:
        return None
    return n if n.dtype == "int64" else Cast("int64")(n)


def shape_as_lengths(out):
    """shape(x) of a computed x -> make_vector(shape_i(x, 0), ...), whose entries
    shape_of_input then reads from x's inputs."""
    x = out.owner.inputs[0]
    if x.owner is None:
        return None
    if x.ndim == 0:
        return make_constant(np.zeros(0, "int64"), "int64", (False,))
    return MakeVector()(*[ShapeI(a)(x) for a in range(x.ndim)])


def reduce_unit_axes(out):
    """sum(x, axis) over axes of length 1 (flagged broadcastable) -> a dimshuffle
    dropping them; the other axes are still reduced."""
    op, x = out.owner.op, out.owner.inputs[0]
    if isinstance(op, Argmax) or out.dtype != x.dtype:
        return None
    unit = [a for a in op.axis if x.broadcastable[a]]
    if not unit:
        return None
    kept = [a for a in range(x.ndim) if a not in unit]
    squeezed = DimShuffle(x.broadcastable, tuple(kept))(x)
    rest = tuple(kept.index(a) for a in op.axis if a not in unit)
    return type(op)(rest)(squeezed) if rest else squeezed


def inc_of_fill(out):
    """inc_subtensor(z, fill(s, v), i) -> inc_subtensor(z, v, i): the values
    broadcast into the indexed region anyway."""
    z, values, *index = out.owner.inputs
    node = values.owner
    if node is None or not isinstance(node.op, Second):
        return None
    return out.owner.op(z, node.inputs[1], *index)


def fill_from_input(out):
    """fill(f(a, b), y) -> y filled to the shape of a and/or b: the shape of an
    elementwise result (or a same-shape op's) is its inputs' shape."""
    x, y = out.owner.inputs
    node = x.owner
    if node is None or not (isinstance(node.op, Elemwise) or node.op.shape_of is not None):
        return None
    sources = node.inputs if isinstance(node.op, Elemwise) else [node.inputs[node.op.shape_of]]
    return y, list(sources)
