"""Jacobians and Hessians.

A Jacobian is one vector-Jacobian product per output element: row i is
``Lop(expression.flatten(), wrt, e_i)``.  We build that product once, on a
placeholder seed row, and let ``MapRows`` (ops/maprows.py) apply it to every
row of an identity matrix.
"""
from .late import tensor as T
from .grad import Lop, _as_list, grad
from .ops.maprows import map_rows, row_placeholder
from .types import is_float


def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression / d wrt, of shape expression.shape + wrt.shape (a list for a list)."""
    expression = T.as_tensor_variable(expression)
    if not is_float(expression.dtype):
        raise TypeError(f"jacobian: the expression must be float, got {expression.dtype}")
    if expression.ndim == 0:
        return grad(expression, wrt, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)
    wrt_list, single = _as_list(wrt)
    flat = expression.flatten()
    n = T.shape_i(flat, 0)
    index = T.arange(n)
    identity = T.cast(T.eq(index.dimshuffle(0, "x"), index.dimshuffle("x", 0)), flat.dtype)
    seed = row_placeholder(identity, "seed")
    vjps = Lop(flat, wrt_list, seed, consider_constant=consider_constant,
               disconnected_inputs=disconnected_inputs)
    stacked = map_rows(vjps, [identity], [seed])
    out = []
    for w, s in zip(wrt_list, stacked):
        if expression.ndim != 1:
            shape = [T.shape_i(expression, i) for i in range(expression.ndim)] + \
                    [T.shape_i(w, i) for i in range(w.ndim)]
            s = T.reshape(s, shape)
        out.append(s)
    return out[0] if single else out


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The matrix of second derivatives of the scalar ``cost``: jacobian(grad(cost, w), w)."""
    wrt_list, single = _as_list(wrt)
    out = []
    for w in wrt_list:
        g = grad(cost, w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        # a cost linear in w has a gradient that does not depend on w: the Hessian is zero
        out.append(jacobian(g, w, consider_constant=consider_constant,
                            disconnected_inputs="ignore"))
    return out[0] if single else out
