"""Reverse-mode differentiation: ``grad`` walks the graph backwards and asks each
op for its input gradients, which are ordinary graphs (so grads of grads work).
"""
import warnings

from .graph import Variable, ancestors, clone_replace, toposort
from .types import is_float
from .config import config
from .late import tensor as T


class DisconnectedInputError(ValueError):
    pass


def _as_list(x):
    return (list(x), False) if isinstance(x, (list, tuple)) else ([x], True)


def grad(cost, wrt, consider_constant=None, disconnected_inputs="raise", known_grads=None,
         return_disconnected="zero"):
    """Symbolic gradient of the scalar ``cost`` with respect to ``wrt``.

    ``consider_constant``: variables through which no gradient flows.
    ``known_grads``: {variable: gradient} to start from (then ``cost`` may be None).
    """
    if disconnected_inputs not in ("raise", "warn", "ignore"):
        raise ValueError("disconnected_inputs must be 'raise', 'warn' or 'ignore'")
    wrt_list, single = _as_list(wrt)
    for w in wrt_list:
        if not isinstance(w, Variable):
            raise TypeError(f"grad: wrt must be symbolic variables, got {type(w).__name__}")
    seeds = {}
    if cost is not None:
        cost = T.as_tensor_variable(cost)
        if cost.ndim != 0:
            raise TypeError(f"grad: the cost must be a scalar, but {cost!r} has {cost.ndim} "
                            f"dimensions (sum or average it first, or use T.jacobian)")
        if not is_float(cost.dtype):
            raise TypeError(f"grad: the cost must be a float scalar, got {cost.dtype}")
        seeds[cost] = T.ones_like(cost)
    for var, g in (known_grads or {}).items():
        g = T.as_tensor_variable(g)
        seeds[var] = T.unbroadcast(g, var) if g.type != var.type else g
    if not seeds:
        raise ValueError("grad needs a cost or known_grads")

    blocked = set(consider_constant or ())
    grads = _backprop(list(seeds), seeds, blocked, set(wrt_list))

    out = []
    upstream = None
    for w in wrt_list:
        g = grads.get(w)
        if g is None:
            upstream = set(ancestors(list(seeds))) if upstream is None else upstream
        if g is None and w in upstream:
            # the cost depends on w only through integers, comparisons or
            # consider_constant: the gradient is zero (a float zero for an
            # integer w, as in Theano), not an error
            out.append(_zeros_for(w) if return_disconnected == "zero" else None)
            continue
        if g is None:
            message = f"grad: the cost does not depend on {w!r}"
            if disconnected_inputs == "raise":
                raise DisconnectedInputError(
                    message + " (pass disconnected_inputs='ignore' or 'warn' to get zeros)")
            if disconnected_inputs == "warn":
                warnings.warn(message, stacklevel=2)
            g = _zeros_for(w) if return_disconnected == "zero" else None
        out.append(g)
    return out[0] if single else out


def _backprop(outputs, seeds, blocked, wanted):
    # only nodes that lie between the seeds and a wanted variable matter
    nodes = toposort(outputs)
    leads_to_wanted = set(wanted)
    for node in nodes:
        if any(i in leads_to_wanted for i in node.inputs) and not any(o in blocked for o in node.outputs):
            leads_to_wanted.update(node.outputs)
    grads = {v: [g] for v, g in seeds.items()}
    for node in reversed(nodes):
        if not any(o in leads_to_wanted for o in node.outputs):
            continue
        out_grads = [_total(grads.get(o)) for o in node.outputs]
        if all(g is None for g in out_grads):
            continue
        out_grads = [T.zeros_like(o) if g is None else g for o, g in zip(node.outputs, out_grads)]
        needed = [i in leads_to_wanted and i not in blocked for i in node.inputs]
        if not any(needed):
            continue
        in_grads = node.op.grad(node.inputs, node.outputs, out_grads)
        if len(in_grads) != len(node.inputs):
            raise RuntimeError(f"{node.op}.grad returned {len(in_grads)} gradients for "
                               f"{len(node.inputs)} inputs")
        for inp, g, need in zip(node.inputs, in_grads, needed):
            if g is None or not need:
                continue
            if g.type != inp.type:
                raise TypeError(f"{node.op}.grad gave {g.type} for an input of type {inp.type}")
            grads.setdefault(inp, []).append(g)
    return {v: _total(gs) for v, gs in grads.items()}


def _zeros_for(w):
    """A zero gradient for w: w's type, or floatX for an integer w (as in Theano)."""
    return T.zeros_like(w, dtype=w.dtype if is_float(w.dtype) else config.floatX)


def _total(gs):
    if not gs:
        return None
    total = gs[0]
    for g in gs[1:]:
        total = total + g
    return total


def Lop(f, wrt, eval_points, consider_constant=None, disconnected_inputs="raise"):
    """Vector-Jacobian product: eval_points^T (df/dwrt), without forming the Jacobian."""
    fs, _ = _as_list(f)
    points, _ = _as_list(eval_points)
    if len(fs) != len(points):
        raise ValueError("Lop: one eval point per output of f")
    return grad(None, wrt, consider_constant=consider_constant,
                disconnected_inputs=disconnected_inputs, known_grads=dict(zip(fs, points)))


def Rop(f, wrt, eval_points, disconnected_inputs="raise"):
    """Jacobian-vector product (df/dwrt) v, built from two Lops (the transpose trick)."""
    f_list, f_single = _as_list(f)
    wrt_list, _ = _as_list(wrt)
    points, _ = _as_list(eval_points)
    if len(wrt_list) != len(points):
        raise ValueError("Rop: one eval point per wrt variable")
    out = []
    for fi in f_list:
        # u is a dummy cotangent: the vjp is linear in u, so the gradient of
        # <vjp(u), v> with respect to u does not depend on u's value.  Nodes of
        # the graph may still read u (for its shape), so u becomes zeros.
        u = fi.type("u")
        vjp = Lop(fi, wrt_list, u, disconnected_inputs=disconnected_inputs)
        inner = sum(((vj * p).sum() for vj, p in zip(vjp, points)), T.constant(0.0, dtype=fi.dtype))
        jvp = grad(inner, u, disconnected_inputs="ignore")
        out.append(clone_replace(jvp, {u: T.zeros_like(fi)}))
    return out[0] if f_single else out
