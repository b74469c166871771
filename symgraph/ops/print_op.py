"""Theano's ``Print``: the identity, which prints its value while a call runs.

    from symgraph.printing import Print
    y = Print("h", attrs=("shape", "sum"))(h)   # prints 'h shape = (2, 3)', 'h sum = 4.5'

Each attribute is read from the value as a NumPy array and printed on its own
line, ``<message> <attr> = <value>``: a method (``sum``, ``max``, ``__str__``)
is called, anything else (``shape``, ``dtype``) printed as it is.  Python
mode prints from ``perform``; the Numba program calls ``show`` back from its
compiled code (compile/lower_print.py).  Only a Print whose result is used
prints, as in Theano: write ``y`` into the rest of the graph.

Every Print that is built is a distinct op (its ``uid``), so the merge pass
never makes two of them one; constant folding leaves it alone (``has_effect``);
its gradient is the output's gradient, unchanged.
"""
import itertools
from dataclasses import dataclass, field

import numpy as np

from .base import Op

_uids = itertools.count()


def show(message, attrs, value, dtype=None):
    """Print ``message attr = value.attr`` for each attribute, one line each;
    ``value`` is read as an array (of ``dtype``: compiled code hands back a
    0-d value as a Python number)."""
    value = np.asarray(value, dtype=dtype)
    for attr in attrs:
        got = getattr(value, attr)
        print(message, attr, "=", got() if callable(got) else got)


@dataclass(frozen=True)
class Print(Op):
    """``Print(message, attrs=("__str__",))(x)`` is ``x``, printing
    ``<message> <attr> = <value>`` for each attribute whenever a call computes it."""

    message: str = ""
    attrs: tuple = ("__str__",)
    # a new op for every Print built: two Prints are never merged into one
    uid: int = field(default_factory=lambda: next(_uids))
    # the output is the input itself: a view of it, of its shape
    view_of = 0
    shape_of = 0
    has_effect = True

    def __post_init__(self):
        if isinstance(self.attrs, str):
            object.__setattr__(self, "attrs", (self.attrs,))
        object.__setattr__(self, "attrs", tuple(self.attrs))
        if not isinstance(self.message, str) or not all(isinstance(a, str) for a in self.attrs):
            raise TypeError(f"Print: the message and the attrs must be strings, got "
                            f"{self.message!r} and {self.attrs!r}")
        unknown = [a for a in self.attrs if not hasattr(np.ndarray, a)]
        if unknown:
            raise ValueError(f"Print({self.message!r}): {unknown[0]!r} is not an attribute of a "
                             f"NumPy array (try 'shape', 'sum', 'min', 'max' or '__str__')")

    def make_node(self, x):
        return self.apply([x], [x.type])

    def perform(self, x):
        show(self.message, self.attrs, x)
        return x

    def grad(self, inputs, outputs, output_grads):
        return [output_grads[0]]

    def __str__(self):
        return f"print{{{self.message!r}}}"
