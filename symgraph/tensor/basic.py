"""The T namespace: constructors and the functions users call."""
import builtins

import numpy as np

from .. import ops
from ..config import config
from ..graph import Constant, Variable
from ..ops import elemwise as ew
from ..ops.shape import (Alloc, ARange, DimShuffle, Join, MakeVector, Reshape,
                         Shape, ShapeI, constant_value)  # noqa: F401  (T.constant_value)
from ..types import PREFIX_DTYPES, TensorType, upcast
from .variable import TensorConstant, TensorVariable  # noqa: F401  (T.TensorVariable)


# ----------------------------------------------------------------- constructors
def tensor(dtype=None, broadcastable=(), name=None):
    """A symbolic variable of ``dtype`` (default config.floatX) with one axis per entry
    of ``broadcastable``, e.g. (False, True) for a column (Theano's T.tensor)."""
    return TensorType(dtype or config.floatX, broadcastable)(name)


def _maker(flags, dtype=None, name=None):
    def make(name=None, dtype=dtype):
        return tensor(dtype or config.floatX, flags, name)
    make.__name__ = make.__qualname__ = name
    return make


def _plural(maker, name, what):
    def make(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = [None] * names[0]
        # dtype=None must not override a prefixed maker's own dtype (T.iscalars)
        return [maker(n) if dtype is None else maker(n, dtype=dtype) for n in names]
    make.__name__ = make.__qualname__ = name
    make.__doc__ = (f"A list of symbolic {what}, one per name: {name}('a', 'b'); "
                    f"{name}(3) makes three unnamed ones.")
    return make


def _named_type(ttype, name, doc):
    """``ttype`` with a name and a docstring of its own (help(T.dmatrix)); both are
    instance attributes, so it still equals every TensorType of its dtype and flags."""
    object.__setattr__(ttype, "__name__", name)
    object.__setattr__(ttype, "__qualname__", name)
    object.__setattr__(ttype, "__doc__", doc)
    object.__setattr__(ttype, "__module__", __name__)   # where it is defined (the API reference)
    return ttype


def _typed_maker(ttype):
    """The plural forms' maker for a type: its dtype unless ``dtype`` is given."""
    def make(name=None, dtype=None):
        return (ttype if dtype is None else TensorType(dtype, ttype.broadcastable))(name)
    return make


_SHAPES = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
           "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4}
_PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices", "row": "rows",
            "col": "cols", "tensor3": "tensor3s", "tensor4": "tensor4s"}

for _kind, _flags in _SHAPES.items():
    globals()[_kind] = _maker(_flags, name=_kind)
    globals()[_kind].__doc__ = (f"A symbolic {_kind} named ``name``, broadcastable {_flags}, of "
                                f"``dtype`` (default config.floatX).")
    globals()[_PLURALS[_kind]] = _plural(globals()[_kind], _PLURALS[_kind],
                                         f"{_PLURALS[_kind]} (config.floatX or ``dtype``)")
    for _prefix, _dtype in PREFIX_DTYPES.items():
        # a type as a value (Theano's): T.dmatrix is TensorType('float64', (False, False)),
        # calling it makes a variable, and T.dmatrix('x').type is T.dmatrix
        globals()[_prefix + _kind] = _named_type(
            TensorType(_dtype, _flags), _prefix + _kind,
            f"A symbolic {_dtype} {_kind} named ``name``, broadcastable {_flags}: "
            f"the TensorType of {_prefix + _kind}('x').")
        globals()[_prefix + _PLURALS[_kind]] = _plural(_typed_maker(globals()[_prefix + _kind]),
                                                       _prefix + _PLURALS[_kind],
                                                       f"{_dtype} {_PLURALS[_kind]}")


def constant(value, name=None, dtype=None):
    """A constant tensor holding ``value`` (copied into an array of ``dtype``).
    Axes of length 1 are flagged broadcastable; equal constants are merged by the optimizer."""
    data = np.array(value, dtype=dtype)
    if data.dtype == object:
        raise TypeError(f"cannot make a constant of {type(value).__name__}")
    if data.dtype.kind == "U" or data.dtype.kind == "S":
        raise TypeError("strings are not tensors")
    flags = tuple(n == 1 for n in data.shape)
    return TensorConstant(TensorType(str(data.dtype), flags), data, name=name)


def as_tensor_variable(value, name=None, ndim=None):
    """``value`` as a symbolic tensor: a variable is returned as is, a list holding
    variables is stacked, a number or array becomes a constant; ``ndim`` checks the rank."""
    if isinstance(value, Variable):
        var = value
    elif isinstance(value, (list, tuple)) and builtins.any(isinstance(v, Variable) for v in _flat(value)):
        var = stack([as_tensor_variable(v) for v in value])
    else:
        if hasattr(value, "get_value") and not isinstance(value, Variable):
            raise TypeError("expected a symbolic variable or a value")
        var = constant(value, name=name)
    if ndim is not None and var.ndim != ndim:
        raise TypeError(f"expected a {ndim}-d tensor, got {var.ndim}-d {var!r}")
    return var


def _flat(seq):
    for v in seq:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def _operands(*args):
    """Symbolic operands for an elementwise op; Python numbers take the tensors'
    dtype where they fit (NumPy's rule for Python scalars), so x_float32 * 2 stays float32."""
    tensor_dtypes = [a.dtype for a in args if isinstance(a, Variable)]
    tensor_dtypes += [str(np.asarray(a).dtype) for a in args
                      if not isinstance(a, (Variable, int, float, bool)) and not np.isscalar(a)]
    tensor_dtypes += [str(a.dtype) for a in args if isinstance(a, np.generic)]
    if not tensor_dtypes:
        return [as_tensor_variable(a) for a in args]
    out = []
    for a in args:
        if isinstance(a, (int, float, bool)) and not isinstance(a, np.generic):
            dtype = str(np.result_type(*[np.dtype(d) for d in tensor_dtypes], a))
            out.append(constant(a, dtype=dtype))
        else:
            out.append(as_tensor_variable(a))
    return out


def _elemwise_fn(op, name, doc):
    """T's function for one elementwise op; ``doc`` (one line, kept in the table
    below) opens its docstring and a note common to all of them follows."""
    def fn(*args):
        return op(*_operands(*args))
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc}\n\nElementwise: inputs broadcast along the axes their flags allow;\n"
                  f"Python numbers take the tensors' dtype.  Shown as ``{op}`` in debugprint.")
    return fn


# name, op, what it computes (and how it differs from Theano's, where it does)
add = _elemwise_fn(ew.Add(), "add", "add(a, b, ...): a + b + ..., any number of inputs.")
mul = _elemwise_fn(ew.Mul(), "mul", "mul(a, b, ...): a * b * ..., any number of inputs.")
sub = _elemwise_fn(ew.Sub(), "sub", "sub(a, b): a - b.")
true_div = _elemwise_fn(ew.TrueDiv(), "true_div",
                        "true_div(a, b): a / b; integers divide to floats (also T.true_divide).")
int_div = _elemwise_fn(ew.IntDiv(), "int_div",
                       "int_div(a, b): a // b, rounded down as NumPy (also T.floor_divide).")
mod = _elemwise_fn(ew.Mod(), "mod", "mod(a, b): a % b, with the sign of b as in NumPy.")
pow = _elemwise_fn(ew.Pow(), "pow", "pow(a, b): a ** b; an integer to a negative integer power "
                   "raises, as in NumPy (also T.power).")
maximum = _elemwise_fn(ew.Maximum(), "maximum", "maximum(a, b): the larger of a and b; at ties "
                       "each input gets half the gradient.")
minimum = _elemwise_fn(ew.Minimum(), "minimum", "minimum(a, b): the smaller of a and b; at ties "
                       "each input gets half the gradient.")
neg = _elemwise_fn(ew.Neg(), "neg", "neg(x): -x.")
abs_ = _elemwise_fn(ew.Abs(), "abs_", "abs_(x): |x| (also T.abs; Python's abs(x) works too).")
exp = _elemwise_fn(ew.Exp(), "exp", "exp(x): e ** x.")
log = _elemwise_fn(ew.Log(), "log", "log(x): the natural logarithm.")
log2 = _elemwise_fn(ew.Log2(), "log2", "log2(x): the base-2 logarithm.")
log1p = _elemwise_fn(ew.Log1p(), "log1p", "log1p(x): log(1 + x), accurate for small x.")
expm1 = _elemwise_fn(ew.Expm1(), "expm1", "expm1(x): exp(x) - 1, accurate for small x.")
sqrt = _elemwise_fn(ew.Sqrt(), "sqrt", "sqrt(x): the square root.")
sqr = _elemwise_fn(ew.Sqr(), "sqr", "sqr(x): x * x.")
sin = _elemwise_fn(ew.Sin(), "sin", "sin(x), x in radians.")
cos = _elemwise_fn(ew.Cos(), "cos", "cos(x), x in radians.")
tan = _elemwise_fn(ew.Tan(), "tan", "tan(x), x in radians.")
tanh = _elemwise_fn(ew.Tanh(), "tanh", "tanh(x): the hyperbolic tangent.")
sinh = _elemwise_fn(ew.Sinh(), "sinh", "sinh(x): the hyperbolic sine.")
cosh = _elemwise_fn(ew.Cosh(), "cosh", "cosh(x): the hyperbolic cosine.")
arcsin = _elemwise_fn(ew.ArcSin(), "arcsin", "arcsin(x): the inverse sine, in radians.")
arccos = _elemwise_fn(ew.ArcCos(), "arccos", "arccos(x): the inverse cosine, in radians.")
arctan = _elemwise_fn(ew.ArcTan(), "arctan", "arctan(x): the inverse tangent, in radians.")
erf = _elemwise_fn(ew.Erf(), "erf", "erf(x): the Gauss error function.")
floor = _elemwise_fn(ew.Floor(), "floor", "floor(x): the largest whole number <= x; zero "
                     "gradient.")
ceil = _elemwise_fn(ew.Ceil(), "ceil", "ceil(x): the smallest whole number >= x; zero gradient.")
round = _elemwise_fn(ew.Round(), "round", "round(x): the nearest whole number, halves to even "
                     "as NumPy (Theano's default rounds halves away from zero).")
sgn = sign = _elemwise_fn(ew.Sign(), "sign", "sign(x): -1, 0 or 1 (also T.sgn); zero gradient.")
eq = _elemwise_fn(ew.EQ(), "eq", "eq(a, b): a == b as a bool tensor (Theano's is int8).")
neq = _elemwise_fn(ew.NEQ(), "neq", "neq(a, b): a != b as a bool tensor (Theano's is int8).")
lt = _elemwise_fn(ew.LT(), "lt", "lt(a, b): a < b as a bool tensor (Theano's is int8).")
le = _elemwise_fn(ew.LE(), "le", "le(a, b): a <= b as a bool tensor (Theano's is int8).")
gt = _elemwise_fn(ew.GT(), "gt", "gt(a, b): a > b as a bool tensor (Theano's is int8).")
ge = _elemwise_fn(ew.GE(), "ge", "ge(a, b): a >= b as a bool tensor (Theano's is int8).")
and_ = bitwise_and = _elemwise_fn(ew.And(), "and_", "and_(a, b): a & b, bitwise on integers, "
                                  "logical on bools (also T.bitwise_and).")
or_ = bitwise_or = _elemwise_fn(ew.Or(), "or_", "or_(a, b): a | b, bitwise on integers, "
                                "logical on bools (also T.bitwise_or).")
xor = bitwise_xor = _elemwise_fn(ew.Xor(), "xor", "xor(a, b): a ^ b, bitwise on integers, "
                                 "logical on bools (also T.bitwise_xor).")
invert = bitwise_not = _elemwise_fn(ew.Invert(), "invert", "invert(x): ~x, bitwise on integers, "
                                    "logical on bools (also T.bitwise_not).")
switch = where = _elemwise_fn(ew.Switch(), "switch", "switch(cond, a, b): a where cond is true, "
                              "else b (also T.where); both a and b are computed.")
clip = _elemwise_fn(ew.Clip(), "clip", "clip(x, lo, hi): x limited to [lo, hi]; the gradient "
                    "goes to lo or hi where x is outside.")
fill = second = _elemwise_fn(ew.Second(), "fill", "fill(x, value): value broadcast to the shape "
                             "of x, in value's dtype (also T.second).")
true_divide, floor_divide, power = true_div, int_div, pow
abs = abs_


def cast(x, dtype):
    """``x`` converted to ``dtype`` (a NumPy dtype or 'floatX'); ``x`` itself when it
    already has that dtype."""
    x = as_tensor_variable(x)
    dtype = config.floatX if dtype == "floatX" else str(np.dtype(dtype))
    return x if x.dtype == dtype else ew.Cast(dtype)(x)


def zeros_like(x, dtype=None):
    """Zeros of the shape of ``x``, in ``x``'s dtype unless ``dtype`` is given."""
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    """Ones of the shape of ``x``, in ``x``'s dtype unless ``dtype`` is given."""
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.dtype))


# ----------------------------------------------------------------- shapes
def shape(x):
    """The shape of ``x`` as a symbolic int64 vector (the same as ``x.shape``)."""
    x = as_tensor_variable(x)
    return Shape()(x)


def shape_i(x, i):
    """The length of axis ``i`` of ``x``, as an int64 scalar (``x.shape[i]``)."""
    return ShapeI(i)(x)


def _shape_scalars(shape):
    if isinstance(shape, Variable):
        if shape.ndim == 0:
            return [_shape_entry(shape)]
        if shape.ndim == 1 and isinstance(shape, Constant):
            return [_shape_entry(s) for s in shape.data]
        if shape.owner is not None and isinstance(shape.owner.op, MakeVector):
            return list(shape.owner.inputs)
        if shape.owner is not None and isinstance(shape.owner.op, Shape):
            x = shape.owner.inputs[0]
            return [ShapeI(i)(x) for i in range(x.ndim)]
        raise TypeError("a shape must be a tuple of integers or scalars, or a known shape vector")
    if np.ndim(shape) == 0:
        shape = (shape,)
    return [_shape_entry(s) for s in shape]


def _shape_entry(s):
    """One size as an int64 scalar; a float size is an error, not a silent truncation."""
    if isinstance(s, Variable):
        if s.ndim != 0 or not s.dtype.startswith(("int", "uint")):
            raise TypeError(f"a size must be an integer scalar, got {s.type}")
        return cast(s, "int64")
    if not isinstance(s, (int, np.integer)) or isinstance(s, (bool, np.bool_)):
        raise TypeError(f"a size must be an integer, got {s!r}")
    return constant(int(s), dtype="int64")


def make_shape(shape):
    """A shape (a tuple of ints and integer scalars, or a symbolic shape vector)
    as one int64 vector, the form reshape and alloc take."""
    scalars = _shape_scalars(shape)
    return MakeVector()(*scalars) if scalars else constant(np.zeros(0, "int64"))


def prod_of_shape(x, axis):
    """The number of elements of x over ``axis``, as an int64 scalar graph."""
    result = constant(1, dtype="int64")
    for a in axis:
        result = result * ShapeI(a)(x)
    return result


def _unknown_length(shape):
    """A symbolic shape vector whose entries cannot be read off the graph."""
    return (isinstance(shape, Variable) and shape.ndim == 1 and not isinstance(shape, Constant)
            and not (shape.owner is not None and isinstance(shape.owner.op, (MakeVector, Shape))))


def reshape(x, shape, ndim=None):
    """``x`` with a new shape.  ``ndim`` is needed only when ``shape`` is a
    symbolic vector of unknown length (Theano's rule); otherwise it must agree
    with the number of sizes."""
    x = as_tensor_variable(x)
    if _unknown_length(shape):
        if ndim is None:
            raise ValueError("reshape: the shape is a symbolic vector whose length is not known "
                             "until run time; pass ndim= (its length)")
        if not shape.dtype.startswith(("int", "uint")):
            raise TypeError(f"reshape: the shape must be a vector of integers, got {shape.type}")
        return Reshape(int(ndim))(x, cast(shape, "int64"))
    scalars = _shape_scalars(shape)
    if ndim is not None and ndim != len(scalars):
        raise ValueError(f"reshape: ndim={ndim} but the shape has {len(scalars)} sizes; ndim is "
                         f"only needed for a symbolic shape vector: drop it, or give {ndim} sizes")
    return Reshape(len(scalars))(x, make_shape(scalars))


def flatten(x, ndim=1):
    """``x`` with its trailing axes merged so the result has ``ndim`` axes: ``ndim=1``
    gives a vector, ``ndim=2`` keeps the first axis (Theano's older ``outdim``)."""
    x = as_tensor_variable(x)
    if not 1 <= ndim <= builtins.max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {x.ndim}")
    lead = [ShapeI(i)(x) for i in range(ndim - 1)]
    return reshape(x, lead + [constant(-1, dtype="int64")])


def dimshuffle(x, *pattern):
    """``x`` with its axes reordered (``x.dimshuffle``): ``pattern`` lists input axes and
    'x' for a new broadcastable axis; dimshuffle(v, 0, 'x') turns a vector into a column."""
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    pattern = tuple("x" if p == "x" else int(p) for p in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.broadcastable, pattern)(x)


def transpose(x, axes=None):
    """``x`` with its axes reversed, or permuted by ``axes`` (``x.T`` for a matrix)."""
    x = as_tensor_variable(x)
    return dimshuffle(x, *(reversed(range(x.ndim)) if axes is None else axes))


def alloc(value, *shape):
    """A tensor of the given shape (sizes as separate arguments, or one tuple) filled
    with ``value``, which broadcasts into it."""
    value = as_tensor_variable(value)
    return Alloc()(value, *_shape_scalars(shape if len(shape) != 1 or isinstance(shape[0], Variable) else shape[0]))


def zeros(shape, dtype=None):
    """A tensor of zeros of ``shape`` (ints or integer scalars), in ``dtype``
    (default config.floatX)."""
    return alloc(constant(0, dtype=dtype or config.floatX), *_shape_scalars(shape))


def ones(shape, dtype=None):
    """A tensor of ones of ``shape`` (ints or integer scalars), in ``dtype``
    (default config.floatX)."""
    return alloc(constant(1, dtype=dtype or config.floatX), *_shape_scalars(shape))


def arange(start, stop=None, step=1, dtype=None):
    """The vector start, start + step, ... below stop (arange(n) counts 0..n-1), as
    NumPy's arange; integer arguments give int64 unless ``dtype`` is given."""
    if stop is None:
        start, stop = 0, start
    args = _operands(start, stop, step)
    if dtype is None:
        dtype = upcast(*[a.dtype for a in args])
        if dtype.startswith(("int", "uint")):
            dtype = "int64"
    return ARange(str(np.dtype(dtype)))(*args)


def concatenate(tensors, axis=0):
    """The tensors joined end to end along an existing ``axis``; the other axes
    must agree."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    axis = axis % tensors[0].ndim if tensors[0].ndim else axis
    return Join(axis)(*tensors)


def stack(tensors, axis=0):
    """The tensors (all of one rank) stacked along a new ``axis``; scalars of one dtype
    make a vector."""
    tensors = [as_tensor_variable(t) for t in tensors]
    if tensors and builtins.all(t.ndim == 0 for t in tensors) and axis == 0 and \
            len({t.dtype for t in tensors}) == 1:
        return MakeVector(tensors[0].dtype)(*tensors)
    ndim = tensors[0].ndim
    if builtins.any(t.ndim != ndim for t in tensors):
        raise ValueError(f"stack: tensors must have the same number of dimensions, got "
                         f"{[t.ndim for t in tensors]}")
    axis = axis % (ndim + 1)
    expanded = [dimshuffle(t, *(list(range(axis)) + ["x"] + list(range(axis, ndim)))) for t in tensors]
    return concatenate(expanded, axis=axis) if len(expanded) > 1 else expanded[0]


# ----------------------------------------------------------------- products
def dot(x, y):
    """The matrix product of ``x`` and ``y``: vector/matrix products as NumPy's dot, a
    scalar operand multiplies, and above 2-d the last axis of ``x`` meets the second to last
    of ``y`` (its only axis for a vector)."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim > 2 or y.ndim > 2:
        return tensordot(x, y, axes=[[x.ndim - 1], [builtins.max(y.ndim - 2, 0)]])
    return ops.blas.dot(x, y)


def outer(x, y):
    """The outer product of ``x`` and ``y`` (both flattened): a matrix with
    out[i, j] = x[i] * y[j]."""
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    return dot(x.flatten().dimshuffle(0, "x"), y.flatten().dimshuffle("x", 0))


def tensordot(a, b, axes=2):
    """Contract ``axes`` of a and b by moving them together and calling dot."""
    a, b = as_tensor_variable(a), as_tensor_variable(b)
    if isinstance(axes, int):
        axes = [list(range(a.ndim - axes, a.ndim)), list(range(axes))]
    a_axes = [x % a.ndim for x in np.atleast_1d(axes[0]).tolist()]
    b_axes = [x % b.ndim for x in np.atleast_1d(axes[1]).tolist()]
    if len(a_axes) != len(b_axes):
        raise ValueError("tensordot: both operands need the same number of axes to sum over")
    a_free = [i for i in range(a.ndim) if i not in a_axes]
    b_free = [i for i in range(b.ndim) if i not in b_axes]
    checked_a, checked_b = a, b
    if len(a_axes) > 1:
        # the reshapes below compare only the products of the paired lengths ((3, 4)
        # against (4, 3) passes), so each pair is checked; one pair is dot's inner
        # dimension, which dot checks.  Both operands carry the checks: the values of
        # a's gradient come from b and the output gradient (only its shape reads a),
        # those of b's from a.
        for i, j in zip(a_axes, b_axes):
            check = ops.check.CheckAndRaise(f"tensordot: shape-mismatch for sum: axis {i} of a "
                                            f"and axis {j} of b have different lengths")
            same = eq(ShapeI(i)(a), ShapeI(j)(b))
            checked_a, checked_b = check(checked_a, same), check(checked_b, same)
    a2 = reshape(dimshuffle(checked_a, *(a_free + a_axes)),
                 [prod_of_shape(a, a_free), prod_of_shape(a, a_axes)])
    b2 = reshape(dimshuffle(checked_b, *(b_axes + b_free)),
                 [prod_of_shape(b, b_axes), prod_of_shape(b, b_free)])
    out_shape = [ShapeI(i)(a) for i in a_free] + [ShapeI(i)(b) for i in b_free]
    return reshape(ops.blas.dot(a2, b2), out_shape) if out_shape else reshape(ops.blas.dot(a2, b2), [])
