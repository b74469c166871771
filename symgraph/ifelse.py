"""``ifelse(condition, then_branch, else_branch)``: Theano's lazy conditional.

Unlike ``T.switch``, which computes both sides elementwise and then picks,
only the branch chosen by the scalar ``condition`` is evaluated (the op,
ops/ifelse.py, holds both branches as inner graphs).
"""
from .late import tensor as T
from .ops.ifelse import IfElse, _build

__all__ = ["ifelse", "IfElse"]


def ifelse(condition, then_branch, else_branch, name=None):
    """``then_branch`` where the scalar ``condition`` is nonzero, else ``else_branch``.

    Each branch is a variable or a list/tuple of variables (the same number in
    both, pairwise of the same dtype and ndim); the result has the same
    structure.  ``name`` names the results (``name`` or ``name[k]``).
    """
    condition = T.as_tensor_variable(condition)
    if condition.ndim != 0:
        raise TypeError(f"ifelse: the condition must be a scalar, got {condition.type}")
    single = not isinstance(then_branch, (list, tuple))
    if single != (not isinstance(else_branch, (list, tuple))):
        raise TypeError("ifelse: the then and else branches must both be variables or both "
                        "be lists of variables")
    thens = [then_branch] if single else list(then_branch)
    elses = [else_branch] if single else list(else_branch)
    if len(thens) != len(elses):
        raise ValueError(f"ifelse: the then branch has {len(thens)} outputs and the else "
                         f"branch {len(elses)}")
    if not thens:
        return type(then_branch)()
    thens = [T.as_tensor_variable(v) for v in thens]
    elses = [T.as_tensor_variable(v) for v in elses]
    outs = _build(condition, thens, elses, {})
    if name is not None:
        for k, o in enumerate(outs):
            o.name = name if single else f"{name}[{k}]"
    if single:
        return outs[0]
    return tuple(outs) if isinstance(then_branch, tuple) else list(outs)
