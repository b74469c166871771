"""Reductions over a tuple of axes (the axes are dropped; keepdims is a dimshuffle)."""
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..types import TensorType
from .base import Op
from .elemwise import _numpy_result_dtype
from ..late import tensor as T


def normalize_axis(axis, ndim):
    """``axis`` (None, an int or a sequence of ints, negatives allowed) as a
    sorted tuple of axes of an ``ndim``-d tensor; TypeError or ValueError when invalid."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(np.ravel(axis).tolist())
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(f"axis must be an int or a sequence of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"axis {a} is out of range for a {ndim}-d tensor")
        out.append(int(a) % max(ndim, 1))
    return tuple(sorted(set(out)))


def expand_reduced(g, axis, ndim):
    """Re-insert reduced axes as broadcastable ones, so ``g`` lines up with the input."""
    order, k = [], 0
    for a in range(ndim):
        if a in axis:
            order.append("x")
        else:
            order.append(k)
            k += 1
    return g.dimshuffle(*order)


@dataclass(frozen=True)
class Reduce(Op):
    axis: tuple = ()
    fn: ClassVar = None
    out_dtype: ClassVar = None  # None: NumPy's rule
    # float results accumulate in float64 and round once (sum, prod, mean): more
    # accurate than float32 steps, and what every backend computes
    float64_accumulator: ClassVar = False

    def make_node(self, x):
        for a in self.axis:
            if a >= x.ndim:
                raise ValueError(f"{self}: axis {a} is out of range for a {x.ndim}-d input")
        flags = tuple(b for a, b in enumerate(x.broadcastable) if a not in self.axis)
        dtype = self.out_dtype or _numpy_result_dtype(type(self).fn, (x.dtype,))
        return self.apply([x], [TensorType(dtype, flags)])

    def infer_shape(self, node, input_shapes):
        # the reduced axes are dropped (argmax over the flattened input: a scalar)
        if self.axis is None:
            return [()]
        return [tuple(n for a, n in enumerate(input_shapes[0]) if a not in self.axis)]

    def perform(self, x):
        x = np.asarray(x)
        if self.float64_accumulator and x.dtype.kind == "f" and x.dtype != np.float64:
            out = type(self).fn(x, axis=self.axis, dtype=np.float64)
            return np.asarray(out).astype(_numpy_result_dtype(type(self).fn, (str(x.dtype),)))
        return np.asarray(type(self).fn(x, axis=self.axis))

    def __str__(self):
        name = type(self).__name__.lower()
        return name if self.axis is None else f"{name}{{axis={list(self.axis)}}}"




@dataclass(frozen=True)
class Sum(Reduce):
    fn = staticmethod(np.sum)
    float64_accumulator = True

    def grad(self, inputs, outputs, grads):
        (x,) = inputs
        return [T.fill(x, expand_reduced(grads[0], self.axis, x.ndim))]


@dataclass(frozen=True)
class Mean(Reduce):
    fn = staticmethod(np.mean)
    float64_accumulator = True

    def grad(self, inputs, outputs, grads):
        (x,) = inputs
        count = T.cast(T.prod_of_shape(x, self.axis), grads[0].dtype)
        return [T.fill(x, expand_reduced(grads[0] / count, self.axis, x.ndim))]


@dataclass(frozen=True)
class Prod(Reduce):
    fn = staticmethod(np.prod)
    float64_accumulator = True

    def grad(self, inputs, outputs, grads):
        # product of the other entries, correct where entries are zero
        (x,) = inputs
        g = expand_reduced(grads[0], self.axis, x.ndim)
        out = expand_reduced(outputs[0], self.axis, x.ndim)
        is_zero = T.eq(x, 0)
        n_zeros = expand_reduced(Sum(self.axis)(T.cast(is_zero, "int64")), self.axis, x.ndim)
        prod_nonzero = expand_reduced(Prod(self.axis)(T.switch(is_zero, 1, x)), self.axis, x.ndim)
        no_zero = out / T.switch(is_zero, 1, x)
        one_zero = T.switch(is_zero, prod_nonzero, 0)
        return [g * T.switch(T.eq(n_zeros, 0), no_zero, T.switch(T.eq(n_zeros, 1), one_zero, 0))]


def _extremum_grad(self, inputs, outputs, grads):
    # The positions that attain the extremum share the gradient evenly (JAX's
    # rule): max(x[[0, 0]]) is x[0], so x[0] must get 1, not 2.  Where none
    # matches (a NaN extremum) the count is kept at 1 so the gradient stays 0.
    (x,) = inputs
    g = expand_reduced(grads[0], self.axis, x.ndim)
    hit = T.cast(T.eq(x, expand_reduced(outputs[0], self.axis, x.ndim)), g.dtype)
    count = expand_reduced(Sum(self.axis)(hit), self.axis, x.ndim)
    return [g * hit / T.maximum(count, 1)]


@dataclass(frozen=True)
class Max(Reduce):
    fn = staticmethod(np.max)
    grad = _extremum_grad


@dataclass(frozen=True)
class Min(Reduce):
    fn = staticmethod(np.min)
    grad = _extremum_grad


def _no_grad(self, inputs, outputs, grads):
    return [None]


@dataclass(frozen=True)
class All(Reduce):
    fn = staticmethod(np.all)
    out_dtype = "bool"
    grad = _no_grad


@dataclass(frozen=True)
class Any(Reduce):
    fn = staticmethod(np.any)
    out_dtype = "bool"
    grad = _no_grad


@dataclass(frozen=True)
class Argmax(Reduce):
    """Index of the maximum over one axis, or over all of a flattened input (axis=None)."""
    axis: tuple = None
    out_dtype = "int64"
    grad = _no_grad

    def make_node(self, x):
        if self.axis is None:
            return self.apply([x], [TensorType("int64", ())])
        return super().make_node(x)

    def perform(self, x):
        return np.asarray(self._fn(x, axis=None if self.axis is None else self.axis[0]), dtype="int64")

    _fn = staticmethod(np.argmax)


@dataclass(frozen=True)
class Argmin(Argmax):
    _fn = staticmethod(np.argmin)


@dataclass(frozen=True)
class CumSum(Op):
    """The running sum of ``x`` along ``axis`` (NumPy's cumsum): same shape,
    NumPy's dtype (integers and booleans accumulate in int64)."""
    axis: int = 0
    shape_of = 0

    def make_node(self, x):
        if not 0 <= self.axis < x.ndim:
            raise ValueError(f"cumsum: axis {self.axis} is out of range for a {x.ndim}-d input")
        dtype = str(np.cumsum(np.zeros(1, x.dtype)).dtype)
        return self.apply([x], [TensorType(dtype, x.broadcastable)])

    def perform(self, x):
        return np.cumsum(x, axis=self.axis)

    def grad(self, inputs, outputs, grads):
        # each input entry feeds every later running sum: the reversed running
        # sum of the output gradient
        (x,), g = inputs, grads[0]
        if not x.dtype.startswith("float"):
            return [None]
        reverse = (slice(None),) * self.axis + (slice(None, None, -1),)
        out = T.cast(CumSum(self.axis)(g[reverse])[reverse], x.dtype)
        return [T.patternbroadcast(out, x.broadcastable)]   # slicing forgets length-1 flags

    def __str__(self):
        return f"cumsum{{axis={self.axis}}}"
