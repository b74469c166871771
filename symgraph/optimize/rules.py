"""The rule tables, one row per rewrite, grouped by pass.

Rows come first within a group; function rules (``FnRule``) follow where a
pattern cannot say the rewrite.  The driver (engine.py) keeps every result's
dtype and broadcastable flags, so a row may drop a length (``x*y/y -> x``) and
the driver fills it back from the matched variables.
"""
import numpy as np

from ..ops import elemwise as ew
from ..ops.base import Op
from ..ops.check import CheckAndRaise
from ..ops.gradient_ops import GradientOverride
from ..ops.indexing import IncSubtensor
from ..ops.nnet import LogSoftmax, Softmax
from ..ops.reduce import Argmax, Reduce
from ..ops.shape import DimShuffle, Rebroadcast, Shape, ShapeI
from ..types import is_float
from . import canonical, sigmoid as sigmoids, stabilize
from .gradient_rules import drop_gradient_override
from .fold import fold
from .pattern import FnRule, Rule, Var, keeps_dtype, op
from .values import scalar_constant, scalar_value
from ..tensor.basic import cast as cast_to

x, y, c = Var("x"), Var("y"), Var("c")

add, mul, sub, neg, true_div, int_div = (op(ew.Add), op(ew.Mul), op(ew.Sub), op(ew.Neg),
                                         op(ew.TrueDiv), op(ew.IntDiv))
pow_, sqr, sqrt, exp, log, log1p, expm1 = (op(ew.Pow), op(ew.Sqr), op(ew.Sqrt), op(ew.Exp),
                                           op(ew.Log), op(ew.Log1p), op(ew.Expm1))
sigmoid, softplus, fill, switch, cast = (op(ew.Sigmoid), op(ew.Softplus), op(ew.Second),
                                         op(ew.Switch), op(ew.Cast))
softmax, log_softmax, dimshuffle, rebroadcast, reduce_ = (op(Softmax), op(LogSoftmax), op(DimShuffle),
                                                          op(Rebroadcast), op(Reduce))


def _floats(out, x, **_):
    return x.dtype == out.dtype and is_float(x.dtype)


def _no_axes(reduce_op):
    return reduce_op.axis == () and not isinstance(reduce_op, Argmax)


def _same_type(out, x):
    return x.type == out.type


def _outer_flags(out, x):
    return Rebroadcast(out.broadcastable)(x)


def _cast_twice(out, x, mid):
    # int32 -> int64 -> float64 is int32 -> float64: the middle cast loses nothing
    return cast_to(x, out.dtype) if np.can_cast(x.dtype, mid.dtype, "safe") else None


def drop_passed_checks(out):
    """Conditions that are constant True are left out; a check left with none is
    its value.  A constant False one stays, to raise at run time on the user's line."""
    x, *conditions = out.owner.inputs
    left = [c for c in conditions if not scalar_value(c)]   # None: not known here
    if len(left) == len(conditions):
        return None
    return CheckAndRaise(out.owner.op.message)(x, *left) if left else x


def _integer_kept(out, **b):
    # exact only for integers: 1.5 // 1 is 1.0
    return b["x"].dtype == out.dtype and np.dtype(out.dtype).kind in "iub"


CANONICAL = [
    Rule(mul(x, 1), x),                                  # x*1 -> x
    Rule(mul(x, 0), fill(x, 0)),                         # x*0 -> 0
    Rule(add(x, 0), x),                                  # x+0 -> x
    Rule(sub(x, 0), x),                                  # x-0 -> x
    Rule(sub(0, x), neg(x)),                             # 0-x -> -x
    Rule(sub(x, x), fill(x, 0)),                         # x-x -> 0
    Rule(neg(neg(x)), x),                                # -(-x) -> x
    Rule(true_div(x, 1), x),                             # x/1 -> x
    Rule(int_div(x, 1), x, where=_integer_kept),         # x//1 -> x, for integer x (floor for floats)
    Rule(switch(c, x, x), x),                            # switch(c, x, x) -> x
    Rule(fill(x, y), y),                                 # fill to the shape y has already -> y
    FnRule(ew.Second, canonical.fill_from_input),        # fill(f(a), y) -> fill(a, y)
    Rule(cast(x), x, where=keeps_dtype("x")),            # cast to its own dtype -> x
    Rule(cast(cast(x, name="mid")), _cast_twice),        # lossless cast then cast -> one cast
    Rule(rebroadcast(x), x, where=_same_type),           # rebroadcast to the flags x has -> x
    Rule(rebroadcast(rebroadcast(x)), _outer_flags),      # two rebroadcasts -> the outer one
    Rule(reduce_(x, where=_no_axes), x, where=keeps_dtype("x")),   # sum over no axes -> x
    FnRule(Reduce, canonical.reduce_unit_axes),         # sum over a length-1 axis -> dimshuffle
    FnRule(IncSubtensor, canonical.inc_of_fill),         # inc(z, fill(s, v), i) -> inc(z, v, i)
    FnRule((DimShuffle, Rebroadcast), fold, name="fold_view"),  # views of constants are constants
    FnRule(DimShuffle, canonical.compose_dimshuffles),   # (x.T).T -> x; two dimshuffles -> one
    FnRule(ShapeI, canonical.shape_of_input),            # shape_i(join(0, a, b)) -> shape_i(a) + shape_i(b)
    FnRule(Shape, canonical.shape_as_lengths),           # shape(f(x)) -> make_vector(shape_i(f(x)), ...)
    FnRule(CheckAndRaise, drop_passed_checks),           # check_and_raise(x, True) -> x
    FnRule((ew.Add, ew.Sub, ew.Neg), canonical.canonical_sum),
    FnRule((ew.Mul, ew.TrueDiv, ew.Neg), canonical.canonical_product),
    FnRule(GradientOverride, drop_gradient_override),    # zero_grad(x) & co. -> x, once grad has run
]

STABILIZE = [
    Rule(log(softmax(x)), log_softmax(x)),               # log(softmax(x)) -> log_softmax(x)
    FnRule(ew.Log, stabilize.log_of_softmax_view),       # log(softmax(z).T[y, i]) -> log_softmax(z).T[y, i]
    Rule(true_div(1, add(1, exp(x))), sigmoid(neg(x)), where=_floats),  # 1/(1 + exp(x)) -> sigmoid(-x)
    Rule(sub(1, sigmoid(x)), sigmoid(neg(x)), where=_floats),  # 1 - sigmoid(x) -> sigmoid(-x)
    Rule(log(sigmoid(x)), neg(softplus(neg(x)))),        # log(sigmoid(x)) -> -softplus(-x)
    Rule(log1p(neg(sigmoid(x))), neg(softplus(x))),      # log1p(-sigmoid(x)) -> -softplus(x)
    Rule(log(add(1, x)), log1p(x)),                      # log(1 + x) -> log1p(x)
    Rule(sub(exp(x), 1), expm1(x)),                      # exp(x) - 1 -> expm1(x)
    Rule(log(exp(x)), x, where=_floats),                 # log(exp(x)) -> x
    FnRule(Softmax, stabilize.softmax_from_log_softmax, asks_graph=True),  # softmax -> exp(log_softmax)
    FnRule(ew.Mul, stabilize.push_into_scatter),         # a * inc(0, v, i) -> inc(0, v * a[i], i)
    FnRule(ew.Mul, stabilize.distribute_to_absorb),      # a * (v/a - b) -> v - a*b
    FnRule((ew.Add, ew.Sub), stabilize.add_into_scatter),  # x + inc(0, v, i) -> inc(x, v, i)
    # exp(-z) / sqr(1 + exp(-z)) -> sigmoid(z) * sigmoid(-z)
    FnRule((ew.Mul, ew.TrueDiv, ew.Neg), sigmoids.simplify_sigmoid_product),
    # (v*(1 + exp(-x)) - y) * sigmoid(x) -> v - y*sigmoid(x)
    FnRule((ew.Mul, ew.TrueDiv, ew.Neg), sigmoids.distribute_over_sigmoids),
    # a - a*sigmoid(x) -> a*sigmoid(-x); a*sigmoid(x) + a*sigmoid(-x) -> a
    FnRule((ew.Add, ew.Sub, ew.Neg), sigmoids.combine_complements),
]


def _small_power(out, x, n):
    """x ** n for a small integer n as squarings and products (x**5 = sqr(sqr(x)) * x)."""
    k = int(abs(n))
    if k != abs(n) or not 3 <= k <= 16 or x.dtype != out.dtype or (n < 0 and not is_float(x.dtype)):
        return None
    factors, square = [], x
    while k:
        if k & 1:
            factors.append(square)
        k >>= 1
        if k:
            square = ew.Sqr()(square)
    result = factors[0] if len(factors) == 1 else ew.Mul()(*factors)
    return ew.TrueDiv()(scalar_constant(1, result), result) if n < 0 else result


def _power_value(out, x, n):
    value = scalar_value(n)
    return None if value is None else _small_power(out, x, value)


SPECIALIZE = [
    Rule(pow_(x, 2), sqr(x), where=keeps_dtype("x")),    # x**2 -> sqr(x)
    Rule(pow_(x, 0.5), sqrt(x), where=_floats),          # x**0.5 -> sqrt(x)
    Rule(pow_(x, -1), true_div(1, x), where=_floats),    # x**-1 -> 1/x
    Rule(pow_(x, -0.5), true_div(1, sqrt(x)), where=_floats),  # x**-0.5 -> 1/sqrt(x)
    Rule(pow_(x, 1), x, where=keeps_dtype("x")),         # x**1 -> x
    Rule(pow_(x, 0), fill(x, 1), where=keeps_dtype("x")),  # x**0 -> 1
    Rule(pow_(x, Var("n")), _power_value),               # x**3 -> sqr(x)*x, x**-4 -> 1/sqr(sqr(x))
    Rule(mul(x, x), sqr(x)),                             # x*x -> sqr(x)
]

FOLD = [FnRule(Op, fold)]
