"""Runtime checks that the types cannot express (Theano's Assert)."""
from dataclasses import dataclass

import numpy as np

from .base import Op


@dataclass(frozen=True)
class CheckAndRaise(Op):
    """``x`` unchanged, once every condition (a bool or integer scalar) holds;
    else ValueError(message) at run time.  Nodes that use the result run after
    the check, so a check placed on an operand guards what is computed from it."""
    view_of = 0
    message: str

    def make_node(self, x, *conditions):
        if not conditions:
            raise ValueError("check_and_raise needs at least one condition")
        for c in conditions:
            if c.ndim != 0 or np.dtype(c.dtype).kind not in "biu":
                raise TypeError(f"check_and_raise: a condition must be a bool or integer scalar, "
                                f"got {c.type}")
        return self.apply([x, *conditions], [x.type])

    def perform(self, x, *conditions):
        if not all(conditions):
            raise ValueError(self.message)
        return x

    def grad(self, inputs, outputs, grads):
        # the conditions only decide whether the value comes out at all
        return [grads[0]] + [None] * (len(inputs) - 1)

    def __str__(self):
        return "check_and_raise"
