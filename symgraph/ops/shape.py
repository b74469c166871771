"""Ops that move, make or measure axes: dimshuffle, shape, reshape, alloc, join, arange."""
import math
from dataclasses import dataclass

import numpy as np

from ..graph import Constant
from ..types import TensorType
from .base import Op
from .infer import as_length, broadcast_length, known_length, length, nonnegative
from ..late import tensor as T
from ..types import upcast




def constant_value(var):
    """The Python value of a scalar constant (also through casts), else None."""
    while var.owner is not None and type(var.owner.op).__name__ == "Cast":
        var = var.owner.inputs[0]
    if isinstance(var, Constant) and var.data.ndim == 0:
        return var.data.item()
    return None


@dataclass(frozen=True)
class DimShuffle(Op):
    """Permute axes, drop broadcastable axes and insert new ones ('x')."""
    input_broadcastable: tuple
    new_order: tuple
    view_of = 0

    def pp_text(self, args, inputs):
        n = len(self.new_order)
        return f"{args[0]}.T" if n >= 2 and self.new_order == tuple(reversed(range(n))) else None

    def __post_init__(self):
        kept = [a for a in self.new_order if a != "x"]
        if len(set(kept)) != len(kept):
            raise ValueError(f"dimshuffle {self.new_order}: an axis appears twice")
        for a in kept:
            if not 0 <= a < len(self.input_broadcastable):
                raise ValueError(f"dimshuffle {self.new_order}: axis {a} does not exist in a "
                                 f"{len(self.input_broadcastable)}-d input")
        for a, flag in enumerate(self.input_broadcastable):
            if a not in kept and not flag:
                raise ValueError(f"dimshuffle {self.new_order} drops axis {a}, which is not broadcastable")

    @property
    def drop(self):
        return tuple(a for a in range(len(self.input_broadcastable)) if a not in self.new_order)

    @property
    def is_transpose(self):
        return "x" not in self.new_order and not self.drop

    def make_node(self, x):
        if x.broadcastable != self.input_broadcastable:
            raise TypeError(f"{self} expects an input with flags {self.input_broadcastable}, got {x.broadcastable}")
        flags = tuple(True if a == "x" else x.broadcastable[a] for a in self.new_order)
        return self.apply([x], [TensorType(x.dtype, flags)])

    def perform(self, x):
        x = np.asarray(x)
        y = np.transpose(x.reshape([n for a, n in enumerate(x.shape) if a not in self.drop]),
                         [sorted(a for a in self.new_order if a != "x").index(a)
                          for a in self.new_order if a != "x"])
        return y.reshape([1 if a == "x" else x.shape[a] for a in self.new_order])

    def grad(self, inputs, outputs, grads):
        (x,), (g,) = inputs, grads
        kept = [a for a in self.new_order if a != "x"]
        # sum away inserted axes that were stretched, then undo the permutation
        g = g.sum(axis=[i for i, a in enumerate(self.new_order) if a == "x"])
        order = [kept.index(a) if a in kept else "x" for a in range(x.ndim)]
        return [T.unbroadcast(g.dimshuffle(*order), x)]

    def infer_shape(self, node, input_shapes):
        (shape,) = input_shapes
        return [tuple(length(1) if a == "x" else shape[a] for a in self.new_order)]

    def __str__(self):
        if self.new_order == tuple(reversed(range(len(self.input_broadcastable)))) and len(self.new_order) == 2:
            return "transpose"
        return "dimshuffle{" + ",".join(map(str, self.new_order)) + "}"


@dataclass(frozen=True)
class Shape(Op):
    """The shape of ``x`` as an int64 vector (``x.shape``)."""
    def pp_text(self, args, inputs):
        return f"{args[0]}.shape"

    def make_node(self, x):
        return self.apply([x], [TensorType("int64", (False,))])

    def perform(self, x):
        return np.asarray(np.shape(x), dtype="int64")

    def grad(self, inputs, outputs, grads):
        return [None]

    def infer_shape(self, node, input_shapes):
        return [(length(node.inputs[0].ndim),)]


@dataclass(frozen=True)
class ShapeI(Op):
    """``x.shape[i]`` as one op: the common case, and simple to compile."""
    i: int

    def pp_text(self, args, inputs):
        return f"{args[0]}.shape[{self.i}]"

    def make_node(self, x):
        if not 0 <= self.i < x.ndim:
            raise IndexError(f"shape index {self.i} is out of range for a {x.ndim}-d tensor")
        return self.apply([x], [TensorType("int64", ())])

    def perform(self, x):
        return np.asarray(np.shape(x)[self.i], dtype="int64")

    def grad(self, inputs, outputs, grads):
        return [None]

    def infer_shape(self, node, input_shapes):
        return [()]

    def __str__(self):
        return f"shape_i{{{self.i}}}"


@dataclass(frozen=True)
class MakeVector(Op):
    """Scalars into a vector (symbolic shapes are made of these)."""
    dtype: str = "int64"

    def make_node(self, *scalars):
        for s in scalars:
            if s.ndim != 0:
                raise TypeError("make_vector takes scalars")
        return self.apply(list(scalars), [TensorType(self.dtype, (False,))])

    def perform(self, *scalars):
        return np.asarray(scalars, dtype=self.dtype)

    def grad(self, inputs, outputs, grads):
        return [grads[0][i] if inp.dtype.startswith("float") else None for i, inp in enumerate(inputs)]

    def infer_shape(self, node, input_shapes):
        return [(length(len(node.inputs)),)]


def shape_entries(shape_var, n):
    """The constant entries of a shape vector (None where symbolic)."""
    if isinstance(shape_var, Constant):
        return [int(v) for v in shape_var.data]
    if shape_var.owner is not None and isinstance(shape_var.owner.op, MakeVector):
        return [constant_value(v) for v in shape_var.owner.inputs]
    return [None] * n


def check_reshape_sizes(sizes):
    """NumPy's rules for a new shape, checked before NumPy sees it: sizes are at
    least 0, and -1 (one unknown size) appears at most once.  (NumPy 2 takes any
    negative size for -1; symgraph refuses them, so both backends agree.)"""
    bad = [s for s in sizes if s < -1]
    if bad:
        raise ValueError(f"reshape: size {bad[0]} is negative; sizes must be at least 0, or -1 "
                         f"once for a size computed from the others")
    if list(sizes).count(-1) > 1:
        raise ValueError("reshape: can only specify one unknown dimension (-1)")


@dataclass(frozen=True)
class Reshape(Op):
    """``x`` reshaped to the int64 vector ``shape`` of ``ndim`` entries."""
    ndim: int
    view_of = 0     # when the memory allows (a copy otherwise): may share

    def make_node(self, x, shape):
        if shape.ndim != 1 or not shape.dtype.startswith(("int", "uint")):
            raise TypeError("reshape: the shape must be a vector of integers")
        entries = shape_entries(shape, self.ndim)
        if len(entries) != self.ndim:
            raise ValueError(f"reshape: the shape has {len(entries)} entries but ndim is "
                             f"{self.ndim}; give one size per dimension of the result")
        check_reshape_sizes([v for v in entries if v is not None])
        flags = tuple(v == 1 for v in entries)
        return self.apply([x, shape], [TensorType(x.dtype, flags)])

    def perform(self, x, shape):
        if len(shape) != self.ndim:
            raise ValueError(f"reshape: the shape vector has {len(shape)} entries but this "
                             f"reshape makes a {self.ndim}-d result (ndim={self.ndim})")
        sizes = tuple(int(s) for s in shape)
        check_reshape_sizes(sizes)
        return np.reshape(x, sizes)

    def grad(self, inputs, outputs, grads):
        x, _ = inputs
        return [reshape_like(grads[0], x), None]

    def infer_shape(self, node, input_shapes):
        # the sizes themselves, where the shape vector is built of scalars; one
        # -1 is the number of elements over the product of the other sizes.  A
        # size that might be -1 at run time is not known here.
        x, shape = node.inputs
        if isinstance(shape, Constant):
            sizes = [length(v) for v in shape.data]
        elif shape.owner is not None and isinstance(shape.owner.op, MakeVector):
            sizes = [as_length(v) for v in shape.owner.inputs]
        else:
            return None
        unknown = [k for k, v in enumerate(sizes) if not nonnegative(v)]
        if not unknown:
            return [tuple(sizes)]
        if len(unknown) > 1 or known_length(sizes[unknown[0]]) != -1:
            return None
        total, others = length(1), length(1)
        for n in input_shapes[0]:
            total = total * n
        for k, v in enumerate(sizes):
            if k != unknown[0]:
                others = others * v
        sizes[unknown[0]] = total // T.maximum(others, length(1))
        return [tuple(sizes)]

    def __str__(self):
        return f"reshape{{{self.ndim}}}"


def reshape_like(g, x):
    shape = MakeVector()(*[ShapeI(i)(x) for i in range(x.ndim)]) if x.ndim else T.constant(np.zeros(0, "int64"))
    return T.unbroadcast(Reshape(x.ndim)(g, shape), x)


@dataclass(frozen=True)
class Alloc(Op):
    """A tensor of the given shape filled with (a broadcast of) ``value``."""

    def make_node(self, value, *shape):
        if len(shape) < value.ndim:
            raise ValueError(f"alloc: value has {value.ndim} dimensions but only {len(shape)} sizes were given")
        for s in shape:
            if s.ndim != 0 or not s.dtype.startswith(("int", "uint")):
                raise TypeError("alloc: shape entries must be integer scalars")
        sizes = [constant_value(s) for s in shape]
        if any(n is not None and n < 0 for n in sizes):
            raise ValueError(f"alloc: negative dimensions are not allowed (sizes {sizes})")
        flags = tuple(n == 1 for n in sizes)
        return self.apply([value, *shape], [TensorType(value.dtype, flags)])

    def perform(self, value, *shape):
        out = np.empty(tuple(int(s) for s in shape), dtype=np.asarray(value).dtype)
        out[...] = value
        return out

    def grad(self, inputs, outputs, grads):
        value = inputs[0]
        g = grads[0]
        g = g.sum(axis=list(range(g.ndim - value.ndim))) if g.ndim > value.ndim else g
        return [T.unbroadcast(g, value)] + [None] * (len(inputs) - 1)

    def infer_shape(self, node, input_shapes):
        return [tuple(as_length(s) for s in node.inputs[1:])]


@dataclass(frozen=True)
class Join(Op):
    """Concatenate along ``axis``."""
    axis: int

    def make_node(self, *tensors):
        if not tensors:
            raise ValueError("concatenate needs at least one tensor")
        ndim = tensors[0].ndim
        if any(t.ndim != ndim for t in tensors) or not 0 <= self.axis < ndim:
            raise ValueError(f"concatenate: tensors must have the same number of dimensions "
                             f"and axis {self.axis} must exist; got ndims {[t.ndim for t in tensors]}")
        flags = tuple(False if a == self.axis else all(t.broadcastable[a] for t in tensors)
                      for a in range(ndim))
        return self.apply(list(tensors), [TensorType(upcast(*[t.dtype for t in tensors]), flags)])

    def perform(self, *tensors):
        return np.concatenate(tensors, axis=self.axis)

    def grad(self, inputs, outputs, grads):
        g = grads[0]
        start, out = 0, []
        for x in inputs:
            stop = start + ShapeI(self.axis)(x)
            index = [slice(None)] * self.axis + [slice(start, stop)]
            out.append(T.unbroadcast(g[tuple(index)], x) if x.dtype.startswith("float") else None)
            start = stop
        return out

    def infer_shape(self, node, input_shapes):
        flags = [t.broadcastable for t in node.inputs]
        shape = []
        for a in range(node.outputs[0].ndim):
            if a == self.axis:
                total = input_shapes[0][a]
                for other in input_shapes[1:]:
                    total = total + other[a]
                shape.append(total)
            else:
                shape.append(broadcast_length(input_shapes, flags, a))
        return [tuple(shape)]

    def __str__(self):
        return f"join{{axis={self.axis}}}"


ARANGE_ZERO_STEP = ("arange: step must not be zero (the range would never reach stop); "
                    "pass a nonzero step")
# no array may hold more bytes than this (NumPy's limit: its size in bytes is an intp)
MAX_BYTES = 2 ** 63 - 1


def _wrap(v):
    """A Python integer as int64 arithmetic sees it (modulo 2**64)."""
    return (v + 2 ** 63) % 2 ** 64 - 2 ** 63


def _check_length(n, dtype):
    if n * np.dtype(dtype).itemsize > MAX_BYTES:
        raise ValueError(f"arange: the range has {n} elements, more than an array can hold "
                         f"(Maximum allowed size exceeded); check start, stop and step")


@dataclass(frozen=True)
class ARange(Op):
    """The vector start, start + step, ... up to (not including) stop, of ``dtype``."""
    dtype: str = "int64"

    def make_node(self, start, stop, step):
        for v in (start, stop, step):
            if v.ndim != 0:
                raise TypeError("arange takes scalar start, stop and step")
        if constant_value(step) == 0:
            raise ValueError(ARANGE_ZERO_STEP)
        return self.apply([start, stop, step], [TensorType(self.dtype, (False,))])

    def perform(self, start, stop, step):
        start, stop, step = (np.asarray(v).item() for v in (start, stop, step))
        if step == 0:
            raise ValueError(ARANGE_ZERO_STEP)
        if all(isinstance(v, (int, bool)) for v in (start, stop, step)):
            # exact, in Python integers: NumPy's length of arange(-2**62, 2**62)
            # wraps around int64 and comes out empty
            n = max(0, -((start - stop) // step))
            _check_length(n, self.dtype)
            with np.errstate(over="ignore"):   # wraps exactly as the compiled loop does
                values = np.int64(_wrap(start)) + np.int64(_wrap(step)) * np.arange(n, dtype="int64")
            return values.astype(self.dtype)
        q = (stop - start) / step
        if not math.isfinite(q):
            raise ValueError(f"arange: cannot compute the length of arange({start}, {stop}, "
                             f"{step}); start, stop and step must be finite")
        _check_length(max(0, math.ceil(q)), self.dtype)
        return np.arange(start, stop, step, dtype=self.dtype)

    def grad(self, inputs, outputs, grads):
        return [None, None, None]

    def infer_shape(self, node, input_shapes):
        # integer ranges only: ceil((stop - start) / step) as an exact integer
        # division, at least 0; a float range's length depends on rounding
        start, stop, step = node.inputs
        if not all(v.dtype.startswith(("int", "uint")) for v in node.inputs):
            return [(None,)]
        if constant_value(start) == 0 and constant_value(step) == 1 and nonnegative(stop):
            return [(as_length(stop),)]
        start, stop, step = (as_length(v) for v in node.inputs)
        return [(T.maximum(-((start - stop) // step), length(0)),)]


@dataclass(frozen=True)
class Rebroadcast(Op):
    """Change broadcastable flags; a flag set to True is checked at run time."""
    broadcastable: tuple
    view_of = 0
    shape_of = 0

    def make_node(self, x):
        if len(self.broadcastable) != x.ndim:
            raise ValueError("rebroadcast: one flag per axis")
        return self.apply([x], [TensorType(x.dtype, self.broadcastable)])

    def perform(self, x):
        return x

    def validate(self, node, values):
        problem = node.outputs[0].type.shape_error(np.shape(values[0]), "rebroadcast input")
        if problem:
            raise ValueError(problem)

    def grad(self, inputs, outputs, grads):
        return [T.unbroadcast(grads[0], inputs[0])]

    def __str__(self):
        return "rebroadcast{" + ",".join("T" if b else "F" for b in self.broadcastable) + "}"
