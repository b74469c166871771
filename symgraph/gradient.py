"""Theano's ``theano.gradient``: the differentiation functions under their
Theano path, and the gradient overrides.

    from symgraph import gradient
    gradient.grad(cost, w)                   # symgraph.grad.grad itself
    y = gradient.grad_clip(x, -1.0, 1.0)     # y is x; its gradient is clipped

Each override is the identity forward; it changes only what ``grad`` sends
back through it, and the optimizer removes it before compilation.

``disconnected_grad(x)`` sends nothing back.  As for ``consider_constant``,
``grad`` then gives a zero gradient for a variable the cost reaches only
through it (Theano raises DisconnectedInputError there instead): the cost
still depends on that variable, so symgraph's grad calls it connected.
"""
from numbers import Real

from .grad import DisconnectedInputError, Lop, Rop, grad  # noqa: F401
from .gradcheck import GradientError, verify_grad  # noqa: F401
from .jacobian import hessian, jacobian  # noqa: F401
from .ops.gradient_ops import GradientOverride

__all__ = ["grad", "Lop", "Rop", "jacobian", "hessian", "verify_grad", "GradientError",
           "DisconnectedInputError", "disconnected_grad", "zero_grad", "grad_clip", "grad_scale",
           "GradientOverride"]


def _number(value, what):
    # the bounds and the factor are op parameters (hashable fields), not graphs
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a Python or NumPy number, got {type(value).__name__}")
    return float(value)


def disconnected_grad(x):
    """``x`` forward; no gradient flows back through it."""
    return GradientOverride("disconnected")(x)


def zero_grad(x):
    """``x`` forward; the gradient sent back through it is zeros (of ``x``'s shape)."""
    return GradientOverride("zero")(x)


def grad_clip(x, lower_bound, upper_bound):
    """``x`` forward; the gradient through it is clipped elementwise to
    ``[lower_bound, upper_bound]``."""
    lower, upper = _number(lower_bound, "grad_clip: lower_bound"), _number(upper_bound, "grad_clip: upper_bound")
    if lower > upper:
        raise ValueError(f"grad_clip: lower_bound {lower} is above upper_bound {upper}")
    return GradientOverride("clip", lower=lower, upper=upper)(x)


def grad_scale(x, multiplier):
    """``x`` forward; the gradient through it is multiplied by ``multiplier``."""
    return GradientOverride("scale", multiplier=_number(multiplier, "grad_scale: multiplier"))(x)
