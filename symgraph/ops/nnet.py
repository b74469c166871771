"""Softmax and log-softmax along the last axis (row-wise on matrices)."""
from dataclasses import dataclass

import numpy as np

from ..types import TensorType, is_float
from .base import Op
from ..late import tensor as T




def _float_type(x, name):
    if x.ndim < 1:
        raise TypeError(f"{name} needs at least a vector, got a scalar")
    dtype = x.dtype if is_float(x.dtype) else "float64"
    return TensorType(dtype, x.broadcastable)


@dataclass(frozen=True)
class Softmax(Op):
    """exp(x) / sum(exp(x)) along the last axis, shifted by the maximum for stability."""
    shape_of = 0

    def make_node(self, x):
        return self.apply([x], [_float_type(x, "softmax")])

    def perform(self, x):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def grad(self, inputs, outputs, grads):
        sm, g = outputs[0], grads[0]
        return [sm * (g - (g * sm).sum(axis=-1, keepdims=True))]


@dataclass(frozen=True)
class LogSoftmax(Op):
    """log(softmax(x)) along the last axis, as x - max - log(sum(exp(x - max)))."""
    shape_of = 0

    def make_node(self, x):
        return self.apply([x], [_float_type(x, "log_softmax")])

    def perform(self, x):
        shifted = x - np.max(x, axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

    def grad(self, inputs, outputs, grads):
        g = grads[0]
        return [g - T.exp(outputs[0]) * g.sum(axis=-1, keepdims=True)]

    def __str__(self):
        return "log_softmax"
