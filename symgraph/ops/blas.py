"""Matrix products: dot for vectors and matrices (BLAS in the compiled backends)."""
from dataclasses import dataclass

import numpy as np

from ..types import TensorType, upcast
from .base import Op
from .infer import length
from ..late import tensor as T




@dataclass(frozen=True)
class Dot(Op):
    """NumPy's dot for 1-d and 2-d operands; higher ranks go through tensordot."""

    def make_node(self, x, y):
        if not (1 <= x.ndim <= 2 and 1 <= y.ndim <= 2):
            raise TypeError(f"dot takes vectors and matrices, got {x.ndim}-d and {y.ndim}-d "
                            f"(use T.tensordot for higher ranks)")
        flags = x.broadcastable[:-1] + y.broadcastable[1:] if y.ndim == 2 else x.broadcastable[:-1]
        return self.apply([x, y], [TensorType(upcast(x.dtype, y.dtype), flags)])

    def perform(self, x, y):
        if x.shape[-1] != y.shape[0]:
            raise ValueError(f"dot: inner dimensions do not match: {x.shape} and {y.shape}")
        return np.dot(x, y)

    def infer_shape(self, node, input_shapes):
        # NumPy's dot: x's axes but the last, then y's but the first (its only one
        # for a vector); a length-1 flag is kept as the constant 1
        x_shape, y_shape = input_shapes
        shape = tuple(x_shape[:-1]) + tuple(y_shape[1:])
        flags = node.outputs[0].broadcastable
        return [tuple(length(1) if f else n for n, f in zip(shape, flags))]

    def grad(self, inputs, outputs, grads):
        (x, y), g = inputs, grads[0]
        if x.ndim == 1 and y.ndim == 1:
            gx, gy = g * y, g * x
        elif x.ndim == 2 and y.ndim == 1:
            gx, gy = T.outer(g, y), dot(x.T, g)
        elif x.ndim == 1 and y.ndim == 2:
            gx, gy = dot(y, g), T.outer(x, g)
        else:
            gx, gy = dot(g, y.T), dot(x.T, g)
        return [T.unbroadcast(gx, x) if x.dtype.startswith("float") else None,
                T.unbroadcast(gy, y) if y.dtype.startswith("float") else None]


dot = Dot()
