"""The broadcastable flags of T: addbroadcast, unbroadcast, patternbroadcast.

A flag says an axis has length 1 and stretches in elementwise operations;
setting one is checked at run time (the Rebroadcast op), clearing one is free.
``unbroadcast(g, like)`` is also the one helper every gradient uses to bring
a gradient back to its input's type."""
import numpy as np

from ..graph import Variable
from ..ops.shape import Rebroadcast
from ..types import is_float
from .basic import as_tensor_variable, cast, dimshuffle

__all__ = ["addbroadcast", "unbroadcast", "patternbroadcast"]


def addbroadcast(x, *axes):
    """``x`` with the given axes flagged broadcastable; their length is checked to be
    1 at run time."""
    x = as_tensor_variable(x)
    axes = [_axis(a, x) for a in axes]
    flags = tuple(f or a in axes for a, f in enumerate(x.broadcastable))
    return x if flags == x.broadcastable else Rebroadcast(flags)(x)


def unbroadcast(x, *axes):
    """``x`` with the broadcastable flag of each of ``axes`` cleared (Theano's
    T.unbroadcast): those axes no longer stretch in elementwise operations.

    Called with a variable in place of the axes, ``unbroadcast(g, like)`` is the
    helper the gradients use: ``g`` summed over the axes ``like`` broadcasts and
    flagged so that it has exactly ``like``'s type."""
    if len(axes) == 1 and isinstance(axes[0], Variable):
        return _sum_to_type(x, axes[0])
    x = as_tensor_variable(x)
    axes = [_axis(a, x) for a in axes]
    flags = tuple(f and a not in axes for a, f in enumerate(x.broadcastable))
    return x if flags == x.broadcastable else Rebroadcast(flags)(x)


def _axis(a, x):
    if not isinstance(a, (int, np.integer)) or isinstance(a, bool) or not -x.ndim <= a < x.ndim:
        raise ValueError(f"axis {a!r} does not exist in {x.name or 'a'} {x.ndim}-d tensor")
    return int(a) % x.ndim


def _sum_to_type(g, x):
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
    """``x`` with exactly the flags ``broadcastable``; axes newly flagged True are
    checked to have length 1 at run time."""
    x = as_tensor_variable(x)
    broadcastable = tuple(bool(b) for b in broadcastable)
    if len(broadcastable) != x.ndim:
        raise ValueError(f"patternbroadcast: {x.name or 'the tensor'} has {x.ndim} dimensions "
                         f"but {len(broadcastable)} flags were given")
    return x if broadcastable == x.broadcastable else Rebroadcast(broadcastable)(x)
