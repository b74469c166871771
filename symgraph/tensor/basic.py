"""The T namespace: constructors and the functions users call."""
import builtins

import numpy as np

from .. import ops
from ..config import config
from ..graph import Constant, Variable
from ..ops import elemwise as ew
from ..ops.reduce import normalize_axis, expand_reduced
from ..ops.shape import (Alloc, ARange, DimShuffle, Join, MakeVector, Rebroadcast, Reshape,
                         Shape, ShapeI, constant_value)
from ..types import PREFIX_DTYPES, TensorType, is_float, upcast
from .variable import TensorConstant, TensorVariable


# ----------------------------------------------------------------- constructors
def tensor(dtype=None, broadcastable=(), name=None):
    return TensorType(dtype or config.floatX, broadcastable)(name)


def _maker(flags, dtype=None):
    def make(name=None, dtype=dtype):
        return tensor(dtype or config.floatX, flags, name)
    return make


def _plural(maker):
    def make(*names, dtype=None):
        if len(names) == 1 and isinstance(names[0], int):
            names = [None] * names[0]
        # dtype=None must not override a prefixed maker's own dtype (T.iscalars)
        return [maker(n) if dtype is None else maker(n, dtype=dtype) for n in names]
    return make


_SHAPES = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
           "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4}
_PLURALS = {"scalar": "scalars", "vector": "vectors", "matrix": "matrices", "row": "rows",
            "col": "cols", "tensor3": "tensor3s", "tensor4": "tensor4s"}

for _kind, _flags in _SHAPES.items():
    globals()[_kind] = _maker(_flags)
    globals()[_PLURALS[_kind]] = _plural(globals()[_kind])
    for _prefix, _dtype in PREFIX_DTYPES.items():
        globals()[_prefix + _kind] = _maker(_flags, _dtype)
        globals()[_prefix + _PLURALS[_kind]] = _plural(globals()[_prefix + _kind])


def constant(value, name=None, dtype=None):
    data = np.array(value, dtype=dtype)
    if data.dtype == object:
        raise TypeError(f"cannot make a constant of {type(value).__name__}")
    if data.dtype.kind == "U" or data.dtype.kind == "S":
        raise TypeError("strings are not tensors")
    flags = tuple(n == 1 for n in data.shape)
    return TensorConstant(TensorType(str(data.dtype), flags), data, name=name)


def as_tensor_variable(value, name=None, ndim=None):
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


def _elemwise_fn(op, name):
    def fn(*args):
        return op(*_operands(*args))
    fn.__name__ = name
    return fn


add = _elemwise_fn(ew.Add(), "add")
mul = _elemwise_fn(ew.Mul(), "mul")
sub = _elemwise_fn(ew.Sub(), "sub")
true_div = _elemwise_fn(ew.TrueDiv(), "true_div")
int_div = _elemwise_fn(ew.IntDiv(), "int_div")
mod = _elemwise_fn(ew.Mod(), "mod")
pow = _elemwise_fn(ew.Pow(), "pow")
maximum = _elemwise_fn(ew.Maximum(), "maximum")
minimum = _elemwise_fn(ew.Minimum(), "minimum")
neg = _elemwise_fn(ew.Neg(), "neg")
abs_ = _elemwise_fn(ew.Abs(), "abs_")
exp = _elemwise_fn(ew.Exp(), "exp")
log = _elemwise_fn(ew.Log(), "log")
log1p = _elemwise_fn(ew.Log1p(), "log1p")
expm1 = _elemwise_fn(ew.Expm1(), "expm1")
sqrt = _elemwise_fn(ew.Sqrt(), "sqrt")
sqr = _elemwise_fn(ew.Sqr(), "sqr")
sin = _elemwise_fn(ew.Sin(), "sin")
cos = _elemwise_fn(ew.Cos(), "cos")
tan = _elemwise_fn(ew.Tan(), "tan")
tanh = _elemwise_fn(ew.Tanh(), "tanh")
sinh = _elemwise_fn(ew.Sinh(), "sinh")
cosh = _elemwise_fn(ew.Cosh(), "cosh")
arcsin = _elemwise_fn(ew.ArcSin(), "arcsin")
arccos = _elemwise_fn(ew.ArcCos(), "arccos")
arctan = _elemwise_fn(ew.ArcTan(), "arctan")
erf = _elemwise_fn(ew.Erf(), "erf")
floor = _elemwise_fn(ew.Floor(), "floor")
ceil = _elemwise_fn(ew.Ceil(), "ceil")
round = _elemwise_fn(ew.Round(), "round")
sgn = sign = _elemwise_fn(ew.Sign(), "sign")
eq = _elemwise_fn(ew.EQ(), "eq")
neq = _elemwise_fn(ew.NEQ(), "neq")
lt = _elemwise_fn(ew.LT(), "lt")
le = _elemwise_fn(ew.LE(), "le")
gt = _elemwise_fn(ew.GT(), "gt")
ge = _elemwise_fn(ew.GE(), "ge")
and_ = bitwise_and = _elemwise_fn(ew.And(), "and_")
or_ = bitwise_or = _elemwise_fn(ew.Or(), "or_")
xor = bitwise_xor = _elemwise_fn(ew.Xor(), "xor")
invert = bitwise_not = _elemwise_fn(ew.Invert(), "invert")
switch = where = _elemwise_fn(ew.Switch(), "switch")
clip = _elemwise_fn(ew.Clip(), "clip")
fill = second = _elemwise_fn(ew.Second(), "fill")
true_divide, floor_divide, power = true_div, int_div, pow
abs = abs_


def cast(x, dtype):
    x = as_tensor_variable(x)
    dtype = config.floatX if dtype == "floatX" else str(np.dtype(dtype))
    return x if x.dtype == dtype else ew.Cast(dtype)(x)


def zeros_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(0, dtype=dtype or x.dtype))


def ones_like(x, dtype=None):
    x = as_tensor_variable(x)
    return fill(x, constant(1, dtype=dtype or x.dtype))


# ----------------------------------------------------------------- shapes
def shape(x):
    x = as_tensor_variable(x)
    return Shape()(x)


def shape_i(x, i):
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
    x = as_tensor_variable(x)
    if not 1 <= ndim <= builtins.max(x.ndim, 1):
        raise ValueError(f"flatten: ndim must be between 1 and {x.ndim}")
    lead = [ShapeI(i)(x) for i in range(ndim - 1)]
    return reshape(x, lead + [constant(-1, dtype="int64")])


def dimshuffle(x, *pattern):
    x = as_tensor_variable(x)
    if len(pattern) == 1 and isinstance(pattern[0], (list, tuple)):
        pattern = tuple(pattern[0])
    pattern = tuple("x" if p == "x" else int(p) for p in pattern)
    if pattern == tuple(range(x.ndim)):
        return x
    return DimShuffle(x.broadcastable, pattern)(x)


def transpose(x, axes=None):
    x = as_tensor_variable(x)
    return dimshuffle(x, *(reversed(range(x.ndim)) if axes is None else axes))


def addbroadcast(x, *axes):
    x = as_tensor_variable(x)
    flags = tuple(f or a in axes for a, f in enumerate(x.broadcastable))
    return x if flags == x.broadcastable else Rebroadcast(flags)(x)


def unbroadcast(g, x):
    """``g`` summed and flagged so that it has exactly ``x``'s type (gradients use it)."""
    g = as_tensor_variable(g)
    if g.ndim > x.ndim:
        g = g.sum(axis=list(range(g.ndim - x.ndim)))
    elif g.ndim < x.ndim:
        g = dimshuffle(g, *(["x"] * (x.ndim - g.ndim) + list(range(g.ndim))))
    axes = [a for a in range(x.ndim) if x.broadcastable[a] and not g.broadcastable[a]]
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    if g.broadcastable != x.broadcastable:
        g = Rebroadcast(x.broadcastable)(g)
    if g.dtype != x.dtype and is_float(x.dtype):
        g = cast(g, x.dtype)
    return g


def patternbroadcast(x, broadcastable):
    x = as_tensor_variable(x)
    return x if tuple(broadcastable) == x.broadcastable else Rebroadcast(tuple(broadcastable))(x)


def alloc(value, *shape):
    value = as_tensor_variable(value)
    return Alloc()(value, *_shape_scalars(shape if len(shape) != 1 or isinstance(shape[0], Variable) else shape[0]))


def zeros(shape, dtype=None):
    return alloc(constant(0, dtype=dtype or config.floatX), *_shape_scalars(shape))


def ones(shape, dtype=None):
    return alloc(constant(1, dtype=dtype or config.floatX), *_shape_scalars(shape))


def arange(start, stop=None, step=1, dtype=None):
    if stop is None:
        start, stop = 0, start
    args = _operands(start, stop, step)
    if dtype is None:
        dtype = upcast(*[a.dtype for a in args])
        if dtype.startswith(("int", "uint")):
            dtype = "int64"
    return ARange(str(np.dtype(dtype)))(*args)


def concatenate(tensors, axis=0):
    tensors = [as_tensor_variable(t) for t in tensors]
    if len(tensors) == 1:
        return tensors[0]
    axis = axis % tensors[0].ndim if tensors[0].ndim else axis
    return Join(axis)(*tensors)


def stack(tensors, axis=0):
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


# ----------------------------------------------------------------- reductions
def _reduce(op_class, x, axis, keepdims):
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    out = op_class(axes)(x)
    return expand_reduced(out, axes, x.ndim) if keepdims else out


def sum(x, axis=None, keepdims=False, dtype=None):
    out = _reduce(ops.reduce.Sum, x, axis, keepdims)
    return cast(out, dtype) if dtype else out


def mean(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.Mean, x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.Prod, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.Min, x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.All, x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    return _reduce(ops.reduce.Any, x, axis, keepdims)


def _arg_reduce(op_class, x, axis, keepdims):
    x = as_tensor_variable(x)
    if axis is None and x.ndim != 1:
        out = op_class(None)(x)
        return dimshuffle(out, *(["x"] * x.ndim)) if keepdims else out
    axes = normalize_axis(0 if axis is None else axis, x.ndim)
    if len(axes) != 1:
        raise ValueError("argmax/argmin take a single axis")
    out = op_class(axes)(x)
    return expand_reduced(out, axes, x.ndim) if keepdims else out


def argmax(x, axis=None, keepdims=False):
    return _arg_reduce(ops.reduce.Argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    return _arg_reduce(ops.reduce.Argmin, x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    x = as_tensor_variable(x)
    centered = x - mean(x, axis=axis, keepdims=True)
    out = mean(sqr(centered), axis=axis, keepdims=keepdims)
    if ddof:
        n = cast(prod_of_shape(x, normalize_axis(axis, x.ndim)), out.dtype)
        out = out * n / (n - ddof)
    return out


def std(x, axis=None, keepdims=False, ddof=0):
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))


# ----------------------------------------------------------------- products
def dot(x, y):
    x, y = as_tensor_variable(x), as_tensor_variable(y)
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    if x.ndim > 2 or y.ndim > 2:
        return tensordot(x, y, axes=[[x.ndim - 1], [builtins.max(y.ndim - 2, 0)]])
    return ops.blas.dot(x, y)


def outer(x, y):
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


# ----------------------------------------------------------------- runtime checks
def check_and_raise(x, *conditions, message="a runtime check failed"):
    """``x`` unchanged, after checking at run time that every condition (a bool or
    integer scalar) holds; ValueError(message) otherwise (Theano's Assert)."""
    return ops.check.CheckAndRaise(message)(x, *conditions)


# ----------------------------------------------------------------- indexing
def subtensor(x, index):
    from ..ops.indexing import Subtensor, parse_index
    x = as_tensor_variable(x)
    if x.owner is not None and isinstance(x.owner.op, Shape) and isinstance(index, (int, np.integer)):
        inner = x.owner.inputs[0]
        return ShapeI(int(index) % inner.ndim)(inner)  # x.shape[i] as one small op
    spec, values = parse_index(x.ndim, index)
    return Subtensor(spec)(x, *[_index_var(v) for v in values])


def _index_var(v):
    if isinstance(v, Variable):
        return v
    kind = np.asarray(v).dtype.kind
    if kind == "b":
        return constant(v)
    if kind not in "iu":  # as NumPy: 1.5 is not an index (no silent truncation)
        raise IndexError(f"only integers, slices, None, '...' and integer or boolean arrays are "
                         f"valid indices, got {v!r}")
    return constant(v, dtype="int64")


def _inc_or_set(x, y, set_instead_of_inc):
    from ..ops.indexing import IncSubtensor
    x = as_tensor_variable(x)
    node = x.owner
    if node is None or not isinstance(node.op, ops.indexing.Subtensor):
        raise TypeError("set_subtensor/inc_subtensor take an indexed tensor, like x[2:5]")
    base, *index_vars = node.inputs
    y = as_tensor_variable(y) if isinstance(y, Variable) else constant(y, dtype=base.dtype)
    return IncSubtensor(node.op.spec, set_instead_of_inc)(base, y, *index_vars)


def set_subtensor(x, y):
    return _inc_or_set(x, y, True)


def inc_subtensor(x, y):
    return _inc_or_set(x, y, False)
