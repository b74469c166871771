"""T's reductions (sum, mean, prod, max, min, all, any, argmax, argmin, var,
std) and the running sum ``cumsum``."""
from .. import ops
from ..ops.reduce import expand_reduced, normalize_axis
from .basic import as_tensor_variable, cast, dimshuffle, prod_of_shape, sqr, sqrt


def _reduce(op_class, x, axis, keepdims):
    x = as_tensor_variable(x)
    axes = normalize_axis(axis, x.ndim)
    out = op_class(axes)(x)
    return expand_reduced(out, axes, x.ndim) if keepdims else out


def sum(x, axis=None, keepdims=False, dtype=None):
    """The sum of ``x`` over ``axis`` (an int, a tuple, or None for all axes); ``keepdims``
    keeps the summed axes with length 1; ``dtype`` casts the result."""
    out = _reduce(ops.reduce.Sum, x, axis, keepdims)
    return cast(out, dtype) if dtype else out


def cumsum(x, axis=None):
    """The running sum of ``x`` along ``axis`` (NumPy's cumsum); ``axis=None``
    runs over the flattened ``x``."""
    x = as_tensor_variable(x)
    if axis is None:
        x, axis = x.flatten(), 0
    (axis,) = ops.reduce.normalize_axis(axis, x.ndim)
    return ops.reduce.CumSum(axis)(x)


def mean(x, axis=None, keepdims=False):
    """The mean of ``x`` over ``axis`` (an int, a tuple, or None for all); integers give
    a float; ``keepdims`` keeps the reduced axes with length 1."""
    return _reduce(ops.reduce.Mean, x, axis, keepdims)


def prod(x, axis=None, keepdims=False):
    """The product of ``x`` over ``axis`` (an int, a tuple, or None for all);
    ``keepdims`` keeps the reduced axes with length 1."""
    return _reduce(ops.reduce.Prod, x, axis, keepdims)


def max(x, axis=None, keepdims=False):
    """The maximum of ``x`` over ``axis`` (an int, a tuple, or None for all); at ties the
    gradient is shared evenly."""
    return _reduce(ops.reduce.Max, x, axis, keepdims)


def min(x, axis=None, keepdims=False):
    """The minimum of ``x`` over ``axis`` (an int, a tuple, or None for all); at ties the
    gradient is shared evenly."""
    return _reduce(ops.reduce.Min, x, axis, keepdims)


def all(x, axis=None, keepdims=False):
    """True where every element over ``axis`` is nonzero (None: over all axes)."""
    return _reduce(ops.reduce.All, x, axis, keepdims)


def any(x, axis=None, keepdims=False):
    """True where some element over ``axis`` is nonzero (None: over all axes)."""
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
    """The int64 index of the maximum along one ``axis``; with None, the index into the
    flattened ``x``."""
    return _arg_reduce(ops.reduce.Argmax, x, axis, keepdims)


def argmin(x, axis=None, keepdims=False):
    """The int64 index of the minimum along one ``axis``; with None, the index into the
    flattened ``x``."""
    return _arg_reduce(ops.reduce.Argmin, x, axis, keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """The variance of ``x`` over ``axis``, mean((x - mean(x)) ** 2); ``ddof=1`` divides
    by n - 1."""
    x = as_tensor_variable(x)
    centered = x - mean(x, axis=axis, keepdims=True)
    out = mean(sqr(centered), axis=axis, keepdims=keepdims)
    if ddof:
        n = cast(prod_of_shape(x, normalize_axis(axis, x.ndim)), out.dtype)
        out = out * n / (n - ddof)
    return out


def std(x, axis=None, keepdims=False, ddof=0):
    """The standard deviation of ``x`` over ``axis``: sqrt(var(x, axis, keepdims, ddof))."""
    return sqrt(var(x, axis=axis, keepdims=keepdims, ddof=ddof))
