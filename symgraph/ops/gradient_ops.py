"""Gradient overrides: ops that are the identity forward and change only what
``grad`` sends back through them (zero_grad, disconnected_grad, grad_clip,
grad_scale; the public functions are in symgraph/gradient.py).

One op class with a ``kind`` keeps the optimizer's rule and the backends'
lowering to one row each: the forward never depends on the kind.
"""
from dataclasses import dataclass

from .base import Op
from ..late import tensor as T

KINDS = ("disconnected", "zero", "clip", "scale")


@dataclass(frozen=True)
class GradientOverride(Op):
    kind: str
    # grad_clip's bounds and grad_scale's factor: Python numbers, so that the
    # op stays hashable (the merge pass compares ops by their fields)
    lower: float = None
    upper: float = None
    multiplier: float = None
    # the output is the input itself: a view of it, of its shape
    view_of = 0
    shape_of = 0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"gradient override: kind must be one of {KINDS}, got {self.kind!r}")

    def make_node(self, x):
        return self.apply([x], [x.type])

    def perform(self, x):
        return x

    def grad(self, inputs, outputs, output_grads):
        (x,), (g,) = inputs, output_grads
        if self.kind == "disconnected":
            return [None]
        if self.kind == "zero":
            return [T.zeros_like(x)]
        if self.kind == "clip":
            lo = T.constant(self.lower, dtype=g.dtype)
            hi = T.constant(self.upper, dtype=g.dtype)
            return [T.clip(g, lo, hi)]
        return [g * T.constant(self.multiplier, dtype=g.dtype)]

    def __str__(self):
        if self.kind == "clip":
            return f"grad_clip{{{self.lower},{self.upper}}}"
        if self.kind == "scale":
            return f"grad_scale{{{self.multiplier}}}"
        return f"{self.kind}_grad"
