"""Elementwise ops.

Each one carries a NumPy function (``perform``), a scalar expression template
that both Numba targets compile (``code``, over the names ``math`` and ``np``),
and a one-line gradient.  Broadcasting follows the inputs' broadcastable flags.
"""
import functools
import math
import operator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..types import TensorType, is_float
from .base import Op
from .infer import broadcast_shape
from ..late import tensor as T
from ..late import late

_printing = late("symgraph.printing")    # error messages print the user's expression


def _broadcast_flags(inputs):
    return tuple(all(flags) for flags in zip(*(i.type.broadcastable for i in inputs)))


@functools.lru_cache(maxsize=None)
def _numpy_float16(fn, dtypes):
    with np.errstate(all="ignore"):
        return np.asarray(fn(*[np.ones((), d) for d in dtypes])).dtype == np.float16


@functools.lru_cache(maxsize=None)
def _numpy_result_dtype(fn, dtypes):
    # NumPy's own answer for these input dtypes: exactly its promotion rules,
    # except that float16 (NumPy's float for int8/int16 inputs) becomes float32
    with np.errstate(all="ignore"):
        dtype = str(np.asarray(fn(*[np.ones((), d) for d in dtypes])).dtype)
    return "float32" if dtype == "float16" else dtype


def describe(var):
    """A short name for a variable in error messages."""
    if var.name:
        return repr(var.name)
    try:
        return f"'{_printing.pp(var, max_length=60)}'"
    except Exception:
        return "an unnamed input"


def _before_rank_padding(var, axis):
    """The user's variable and axis behind the leading axes make_node adds to lower-rank inputs."""
    node = var.owner
    if node is not None and type(node.op).__name__ == "DimShuffle":
        order, n_in = node.op.new_order, node.inputs[0].ndim
        lead = len(order) - n_in
        if lead > 0 and order == ("x",) * lead + tuple(range(n_in)) and axis >= lead:
            return node.inputs[0], axis - lead
    return var, axis


def check_broadcast(op_name, inputs, shapes):
    """Raise a clear ValueError when runtime shapes break the broadcastable flags."""
    ndim = len(shapes[0]) if shapes else 0
    for axis in range(ndim):
        lengths = {s[axis] for var, s in zip(inputs, shapes) if not var.type.broadcastable[axis]}
        if len(lengths) <= 1:
            continue
        # blame an input of length 1 that is not flagged: the usual mistake
        for var, s in zip(inputs, shapes):
            if s[axis] == 1 and not var.type.broadcastable[axis]:
                var, own_axis = _before_rank_padding(var, axis)
                flags = list(var.type.broadcastable)
                flags[own_axis] = True
                raise ValueError(
                    f"{op_name}: input {describe(var)} has length 1 on axis {own_axis} where the other "
                    f"inputs have length {max(lengths)}, but its broadcastable flag for axis {own_axis} "
                    f"is False. Declare it with broadcastable={tuple(flags)} to broadcast it.")
        raise ValueError(f"{op_name}: shapes {', '.join(str(tuple(s)) for s in shapes)} do not "
                         f"match on axis {axis}")


@dataclass(frozen=True)
class Elemwise(Op):
    nin: ClassVar = 1            # None for any number of inputs (add, mul)
    fn: ClassVar = None          # NumPy ufunc or function
    code: ClassVar = None        # scalar expression template: "math.exp({0})"
    symbol: ClassVar = None      # infix symbol for printing, e.g. "+"
    # a loop of it is compute-bound, worth threads (a loop of adds and
    # multiplies is bound by memory, which one core already saturates)
    costly: ClassVar = False
    # its SymPy form (the SymPy pass): the name of a SymPy function, or a function
    # of SymPy values; None: the pass leaves it alone
    sympy_form: ClassVar = None

    def output_dtype(self, dtypes):
        return _numpy_result_dtype(type(self).fn, tuple(dtypes))

    def make_node(self, *inputs):
        if self.nin is not None and len(inputs) != self.nin:
            raise TypeError(f"{self} takes {self.nin} inputs, got {len(inputs)}")
        ndim = max(i.ndim for i in inputs)
        # lower-rank inputs gain leading broadcastable axes, as in NumPy
        inputs = [i if i.ndim == ndim else i.dimshuffle(*(["x"] * (ndim - i.ndim) + list(range(i.ndim))))
                  for i in inputs]
        dtype = self.output_dtype([i.dtype for i in inputs])
        return self.apply(inputs, [TensorType(dtype, _broadcast_flags(inputs))])

    def perform(self, *values):
        fn = type(self).fn
        if any(np.asarray(v).dtype.itemsize <= 2 for v in values) and \
                _numpy_float16(fn, tuple(str(np.asarray(v).dtype) for v in values)):
            # there is no float16 type: compute small integers in float32 instead
            values = [np.asarray(v, dtype="float32") if np.asarray(v).dtype.kind in "iub" else v
                      for v in values]
        return fn(*values)

    def validate(self, node, values):
        check_broadcast(str(self), node.inputs, [np.shape(v) for v in values])

    def infer_shape(self, node, input_shapes):
        flags = [i.broadcastable for i in node.inputs]
        return [broadcast_shape(input_shapes, flags, node.outputs[0].ndim)]

    def scalar_code(self, args):
        """The scalar expression of this op applied to the expressions ``args``."""
        return self.code.format(*args)

    def to_sympy(self, sympy, args):
        """This op applied to SymPy values (only when ``sympy_form`` is set)."""
        form = self.sympy_form
        if form == "sqr":
            return args[0] ** 2
        return getattr(sympy, form)(*args) if isinstance(form, str) else form(*args)

    def grad(self, inputs, outputs, output_grads):
        grads = self.local_grad(inputs, outputs[0], output_grads[0])
        return [None if g is None or not is_float(x.dtype) else T.unbroadcast(g, x)
                for g, x in zip(grads, inputs)]

    def local_grad(self, inputs, out, g):
        """Gradients before summing over broadcast axes (see Elemwise.grad)."""
        raise NotImplementedError(f"{self} has no gradient")


def _zero_grads(*args):
    """Integer-valued ops (//, comparisons, bit ops): piecewise constant, so the
    gradient is zero for float inputs, as in Theano (not disconnected: a cost
    written ``T.sum(J ** 2) // n`` still has a gradient, zeros)."""
    *inputs, out, g = args
    return [T.zeros_like(x) for x in inputs]


def elemwise(name, fn, code, grad=None, nin=1, symbol=None, base=Elemwise, doc=None,
             cheap=False, costly=False, sympy_form=None):
    """Define one elementwise op class in a line (see the table below).  ``doc``
    is the class docstring, for the ops that users call directly (T.nnet.sigmoid);
    ``cheap``, ``costly`` and ``sympy_form`` are the facts of Elemwise."""
    attrs = {"nin": nin, "fn": staticmethod(fn), "code": code, "symbol": symbol,
             "cheap": cheap, "costly": costly,
             "sympy_form": staticmethod(sympy_form) if callable(sympy_form) else sympy_form,
             "__module__": __name__, "__qualname__": name, "__doc__": doc}
    if grad is not None:
        attrs["local_grad"] = lambda self, inputs, out, g: grad(*inputs, out, g)
    cls = dataclass(frozen=True)(type(name, (base,), attrs))
    cls.__str__ = lambda self, _n=name.lower(): _n
    return cls




class NAry(Elemwise):
    """Add and Mul take any number of inputs (canonical forms gather them)."""
    nin = None

    # NumPy's add/multiply take two operands (a third would be the ``out``
    # argument), so n inputs fold left pairwise: ((a + b) + c)
    def output_dtype(self, dtypes):
        return functools.reduce(lambda a, b: Elemwise.output_dtype(self, (a, b)), dtypes)

    def perform(self, *values):
        if len(values) == 1:
            return np.array(values[0], copy=True)
        return functools.reduce(lambda a, b: Elemwise.perform(self, a, b), values)

    def scalar_code(self, args):
        return "(" + f" {self.symbol} ".join(args) + ")"


def _mul_grad(*args):
    *xs, out, g = args
    grads = []
    for i in range(len(xs)):
        others = xs[:i] + xs[i + 1:]
        term = others[0]
        for o in others[1:]:
            term = term * o
        grads.append(g * term)
    return grads


def _safe_sigmoid(x):
    from scipy.special import expit  # imported on first use: it costs ~0.13 s at start-up
    return expit(x)


def _softplus(x):
    return np.logaddexp(0, x)


def _erf(x):
    from scipy.special import erf  # late: SciPy costs ~0.13 s at start-up
    return erf(x)


def _second(x, y):
    return np.broadcast_to(y, np.broadcast_shapes(np.shape(x), np.shape(y))).copy()


def _switch(c, a, b):
    return np.where(c, a, b)


def _sign(x):
    return np.sign(x)


def _extremum_grads(x, y, o, g):
    # maximum/minimum: where x == y each input gets half (JAX's rule), so that
    # maximum(x, x) has derivative 1; g * 0.5 keeps g's dtype (0.5 * bool is float64)
    half = g * 0.5 * T.eq(x, y)
    return [g * T.eq(o, x) - half, g * T.eq(o, y) - half]


# name, NumPy function, scalar template, gradient, extra
Add = elemwise("Add", np.add, None, lambda *a: [a[-1]] * (len(a) - 2), nin=None, symbol="+", base=NAry, cheap=True, sympy_form="Add")
Mul = elemwise("Mul", np.multiply, None, _mul_grad, nin=None, symbol="*", base=NAry, cheap=True, sympy_form="Mul")
Sub = elemwise("Sub", np.subtract, "({0} - {1})", lambda x, y, o, g: [g, -g], nin=2, symbol="-", cheap=True, sympy_form=operator.sub)
TrueDiv = elemwise("TrueDiv", np.true_divide, "({0} / {1})",
                   lambda x, y, o, g: [g / y, -g * x / (y * y)], nin=2, symbol="/", sympy_form=operator.truediv)
IntDiv = elemwise("IntDiv", np.floor_divide, "({0} // {1})", _zero_grads, nin=2, symbol="//")
Mod = elemwise("Mod", np.mod, "({0} % {1})",
               lambda x, y, o, g: [g, -g * T.floor(x / y)], nin=2, symbol="%")
Pow = elemwise("Pow", np.power, "({0} ** {1})",
               # d/dy at x == 0 is 0 (0 ** y is constant in y), not 0 * log(0) = nan
               lambda x, y, o, g: [g * y * x ** (y - 1),
                                   g * T.switch(T.eq(x, 0), 0, o * T.log(x))],
               nin=2, symbol="**", costly=True, sympy_form=operator.pow)
NEGATIVE_INT_POWER = "Integers to negative integer powers are not allowed."
# integers to a negative integer power raise (NumPy's rule), element by element:
# such a loop must not write into a shared variable in place (compile/inplace.py)
Pow.may_fail = lambda self, dtypes: (np.dtype(self.output_dtype(dtypes)).kind in "iub"
                                     and np.dtype(dtypes[1]).kind == "i")
Maximum = elemwise("Maximum", np.maximum, "max({0}, {1})", _extremum_grads, nin=2, cheap=True)
Minimum = elemwise("Minimum", np.minimum, "min({0}, {1})", _extremum_grads, nin=2, cheap=True)
Neg = elemwise("Neg", np.negative, "(-{0})", lambda x, o, g: [-g], symbol="-", cheap=True, sympy_form=operator.neg)
Abs = elemwise("Abs", np.abs, "abs({0})", lambda x, o, g: [g * T.sgn(x)], cheap=True)
Exp = elemwise("Exp", np.exp, "math.exp({0})", lambda x, o, g: [g * o], costly=True, sympy_form="exp")
Log = elemwise("Log", np.log, "math.log({0})", lambda x, o, g: [g / x], costly=True, sympy_form="log")
Log2 = elemwise("Log2", np.log2, "math.log2({0})", lambda x, o, g: [g / (x * math.log(2.0))],
                costly=True)
Log1p = elemwise("Log1p", np.log1p, "math.log1p({0})", lambda x, o, g: [g / (1 + x)], costly=True)
Expm1 = elemwise("Expm1", np.expm1, "math.expm1({0})", lambda x, o, g: [g * (o + 1)], costly=True)
Sqrt = elemwise("Sqrt", np.sqrt, "math.sqrt({0})", lambda x, o, g: [g * 0.5 / o], costly=True, sympy_form="sqrt")
Sqr = elemwise("Sqr", np.square, "({0} * {0})", lambda x, o, g: [g * 2 * x], cheap=True, sympy_form="sqr")
Sin = elemwise("Sin", np.sin, "math.sin({0})", lambda x, o, g: [g * T.cos(x)], costly=True, sympy_form="sin")
Cos = elemwise("Cos", np.cos, "math.cos({0})", lambda x, o, g: [-g * T.sin(x)], costly=True, sympy_form="cos")
Tan = elemwise("Tan", np.tan, "math.tan({0})", lambda x, o, g: [g * (1 + o * o)], costly=True)
Tanh = elemwise("Tanh", np.tanh, "math.tanh({0})", lambda x, o, g: [g * (1 - o * o)], costly=True)
Sinh = elemwise("Sinh", np.sinh, "math.sinh({0})", lambda x, o, g: [g * T.cosh(x)], costly=True)
Cosh = elemwise("Cosh", np.cosh, "math.cosh({0})", lambda x, o, g: [g * T.sinh(x)], costly=True)
ArcSin = elemwise("ArcSin", np.arcsin, "math.asin({0})", lambda x, o, g: [g / T.sqrt(1 - x * x)], costly=True)
ArcCos = elemwise("ArcCos", np.arccos, "math.acos({0})", lambda x, o, g: [-g / T.sqrt(1 - x * x)], costly=True)
ArcTan = elemwise("ArcTan", np.arctan, "math.atan({0})", lambda x, o, g: [g / (1 + x * x)], costly=True)
Erf = elemwise("Erf", _erf, "math.erf({0})",
               lambda x, o, g: [g * (2 / math.sqrt(math.pi)) * T.exp(-x * x)], costly=True)
Floor = elemwise("Floor", np.floor, "math.floor({0})", lambda x, o, g: [T.zeros_like(x)])
Ceil = elemwise("Ceil", np.ceil, "math.ceil({0})", lambda x, o, g: [T.zeros_like(x)])
Round = elemwise("Round", np.round, "np.round({0})", lambda x, o, g: [T.zeros_like(x)])
Sign = elemwise("Sign", _sign, "np.sign({0})", lambda x, o, g: [T.zeros_like(x)])
Sigmoid = elemwise("Sigmoid", _safe_sigmoid, "(1.0 / (1.0 + math.exp(-{0})))",
                   lambda x, o, g: [g * o * (1 - o)],
                   doc="The logistic function 1 / (1 + exp(-x)), elementwise (T.nnet.sigmoid).", costly=True)
Softplus = elemwise("Softplus", _softplus, "(max({0}, 0.0) + math.log1p(math.exp(-abs({0}))))",
                    lambda x, o, g: [g * T.nnet.sigmoid(x)],
                    doc="log(1 + exp(x)) elementwise, computed without overflow (T.nnet.softplus).", costly=True)
EQ = elemwise("EQ", np.equal, "({0} == {1})", _zero_grads, nin=2, symbol="==", cheap=True)
NEQ = elemwise("NEQ", np.not_equal, "({0} != {1})", _zero_grads, nin=2, symbol="!=", cheap=True)
LT = elemwise("LT", np.less, "({0} < {1})", _zero_grads, nin=2, symbol="<", cheap=True)
LE = elemwise("LE", np.less_equal, "({0} <= {1})", _zero_grads, nin=2, symbol="<=", cheap=True)
GT = elemwise("GT", np.greater, "({0} > {1})", _zero_grads, nin=2, symbol=">", cheap=True)
GE = elemwise("GE", np.greater_equal, "({0} >= {1})", _zero_grads, nin=2, symbol=">=", cheap=True)
And = elemwise("And", np.bitwise_and, "({0} & {1})", _zero_grads, nin=2, symbol="&", cheap=True)
Or = elemwise("Or", np.bitwise_or, "({0} | {1})", _zero_grads, nin=2, symbol="|", cheap=True)
Xor = elemwise("Xor", np.bitwise_xor, "({0} ^ {1})", _zero_grads, nin=2, symbol="^", cheap=True)
Invert = elemwise("Invert", np.invert, "(~{0})", _zero_grads, symbol="~", cheap=True)
Switch = elemwise("Switch", _switch, "({1} if {0} else {2})",
                  lambda c, a, b, o, g: [None, T.switch(c, g, 0), T.switch(c, 0, g)], nin=3, cheap=True)
Second = elemwise("Second", _second, "{1}", lambda x, y, o, g: [None, g], nin=2, cheap=True)
Clip = elemwise("Clip", np.clip, "min(max({0}, {1}), {2})",
                lambda x, lo, hi, o, g: [g * ((x >= lo) & (x <= hi)), g * (x < lo), g * (x > hi)], nin=3)


# Switch, Second: the output dtype is that of the value inputs, not the condition
Switch.output_dtype = lambda self, dtypes: _numpy_result_dtype(np.add, tuple(dtypes[1:]))
Second.output_dtype = lambda self, dtypes: dtypes[1]
Clip.output_dtype = lambda self, dtypes: _numpy_result_dtype(np.add, tuple(dtypes))


@dataclass(frozen=True)
class Cast(Elemwise):
    dtype: str = "float64"
    nin = 1
    cheap = True

    def output_dtype(self, dtypes):
        return self.dtype

    def perform(self, x):
        return np.asarray(x).astype(self.dtype)

    def scalar_code(self, args):
        return f"np.{self.dtype}({args[0]})"

    def local_grad(self, inputs, out, g):
        return [T.cast(g, inputs[0].dtype)]

    def __str__(self):
        return f"cast{{{self.dtype}}}"
