"""Runtime checks that the types cannot express (Theano's Assert)."""
from dataclasses import dataclass

import numpy as np

from .base import Op
from ..late import tensor as T


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

    def infer_shape(self, node, input_shapes):
        # the shape of x (read without waiting for the check, as Theano's Assert)
        return [tuple(input_shapes[0])]

    def grad(self, inputs, outputs, grads):
        # the conditions only decide whether the value comes out at all
        return [grads[0]] + [None] * (len(inputs) - 1)

    def __str__(self):
        return "check_and_raise"


@dataclass(frozen=True)
class SpecifyShape(Op):
    """``x`` unchanged, once its lengths equal the given ones (Theano's
    specify_shape); else ValueError naming ``what`` (the variable) at run time.
    Inputs: x, then one int64 scalar per axis whose flag in ``given`` is True.
    Shape inference reads the given lengths, so code using only the shape of
    the result does not wait for x."""
    view_of = 0
    what: str
    given: tuple

    def pp_text(self, args, inputs):
        sizes = iter(args[1:])
        return f"specify_shape({args[0]}, ({', '.join(next(sizes) if g else 'None' for g in self.given)}))"

    def make_node(self, x, *sizes):
        if len(self.given) != x.ndim:
            raise ValueError(f"specify_shape: {self.what} has {x.ndim} dimensions but the shape "
                             f"gives {len(self.given)} lengths")
        if len(sizes) != sum(self.given):
            raise TypeError(f"specify_shape takes one length per given axis, got {len(sizes)}")
        for s in sizes:
            if s.ndim != 0 or np.dtype(s.dtype).kind not in "iu":
                raise TypeError(f"specify_shape: a length must be an integer scalar, got {s.type}")
        return self.apply([x, *sizes], [x.type])

    def axes(self):
        """The axes whose length is given, in the order of the size inputs."""
        return [a for a, g in enumerate(self.given) if g]

    def perform(self, x, *sizes):
        shape = np.shape(x)
        for axis, n in zip(self.axes(), sizes):
            if shape[axis] != int(n):
                wanted = iter(int(s) for s in sizes)
                spec = tuple(next(wanted) if g else None for g in self.given)
                raise ValueError(f"specify_shape: {self.what} has shape {shape}, but its shape "
                                 f"was specified as {spec} (axis {axis} differs)")
        return x

    def infer_shape(self, node, input_shapes):
        shape = list(input_shapes[0])
        for axis, n in zip(self.axes(), node.inputs[1:]):
            shape[axis] = n if n.dtype == "int64" else T.cast(n, "int64")
        return [tuple(shape)]

    def grad(self, inputs, outputs, grads):
        return [grads[0]] + [None] * (len(inputs) - 1)

    def __str__(self):
        return "specify_shape"
