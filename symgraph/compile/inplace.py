"""Which updates the program may write into the shared variable's own buffer.

An update ``W <- f(W, ...)`` computed by one elementwise node E may overwrite
W in place when nothing else can see the old W afterwards:
  - E's result is used only as that update (no node, no other output);
  - no output of the function is W or a view of W;
  - no other input of E, and no other in-place node, reads W through a view.
Such nodes run last, after every other node, and all their shape checks run
before their first write, so a call that fails changes no shared value.

A matrix product feeding only E (``W - lr * dot(e, x.T)``, the weight
gradient; ``w - lr * dot(X.T, e)`` for a vector) is folded into E's loop, so
each weight is read and written once.
``update_pairs`` (from Function, through the backend) lists (output index,
input index) for every update.
"""
from dataclasses import dataclass, field

import numpy as np

from ..graph import Constant
from ..ops.blas import Dot
from ..ops.elemwise import Elemwise


@dataclass
class InplacePlan:
    deferred: dict = field(default_factory=dict)   # node -> position in node.inputs it overwrites
    absorbed: set = field(default_factory=set)     # Dot nodes computed inside their consumer
    targets: list = field(default_factory=list)    # fgraph input positions written in place


def roots(var, memo=None):
    """The graph inputs whose buffer ``var`` may share (through views)."""
    memo = {} if memo is None else memo
    if var in memo:
        return memo[var]
    if var.owner is None:
        found = frozenset() if isinstance(var, Constant) else frozenset([var])
    else:
        viewed = var.owner.op.view_of
        found = frozenset() if viewed is None else roots(var.owner.inputs[viewed], memo)
    memo[var] = found
    return found


def may_fail(op, dtypes):
    """Whether an elementwise op (or a step of a fused one) can raise part-way
    through its loop, per its ``may_fail`` (integers to a negative power)."""
    steps = getattr(op, "steps", None)
    if steps is None:
        check = getattr(op, "may_fail", None)
        return bool(check and check(dtypes))
    values = list(dtypes)
    for step, refs in steps:
        step_in = [values[r] for r in refs]
        if may_fail(step, step_in):
            return True
        values.append(step.output_dtype(step_in))
    return False


def _absorbable(fgraph, var, consumer):
    node = var.owner
    if node is None or not isinstance(node.op, Dot):
        return False
    a, b = node.inputs
    # matrix @ matrix (gemm) or a matrix-vector product (gemv); not vector . vector
    return (a.ndim + b.ndim >= 3 and var.dtype.startswith("float")
            and fgraph.clients.get(var, []) == [(consumer, consumer.inputs.index(var))]
            and consumer.inputs.count(var) == 1)


def plan_inplace(fgraph, nodes, pairs):
    if not pairs:
        return None
    memo = {}
    out_roots = {}
    for k, out in enumerate(fgraph.outputs):
        for r in roots(out, memo):
            out_roots.setdefault(r, set()).add(k)
    candidates = {}   # node -> (input position in node, graph input position)
    for out_pos, in_pos in pairs:
        target, value = fgraph.inputs[in_pos], fgraph.outputs[out_pos]
        node = value.owner
        if target.ndim == 0 or node is None or not isinstance(node.op, Elemwise):
            continue
        if value.type != target.type or target not in node.inputs:
            continue
        if may_fail(node.op, [v.dtype for v in node.inputs]):
            continue   # it could stop half-way through writing the shared value
        if fgraph.clients.get(value, []) != [("output", out_pos)]:
            continue
        if out_roots.get(target, set()) - {out_pos}:
            continue   # the old value (or a view of it) is also an output
        readers = [v for v in node.inputs if v is not target]
        if any(target in roots(v, memo) for v in readers):
            continue
        candidates[node] = (node.inputs.index(target), target, in_pos)

    def reads(node):
        """Graph inputs a deferred node reads (through views, absorbed dots included)."""
        found = set()
        for v in node.inputs:
            if _absorbable(fgraph, v, node):
                for u in v.owner.inputs:
                    found |= roots(u, memo)
            else:
                found |= roots(v, memo)
        return found

    changed = True
    while changed:
        changed = False
        for node, (_, target, _) in list(candidates.items()):
            if any(target in reads(other) for other in candidates if other is not node):
                del candidates[node]
                changed = True
    plan = InplacePlan()
    written = {target for _, target, _ in candidates.values()}
    for node, (pos, target, in_pos) in candidates.items():
        plan.deferred[node] = pos
        plan.targets.append(in_pos)
        for v in node.inputs:
            if _absorbable(fgraph, v, node) and not any(
                    roots(u, memo) & written for u in v.owner.inputs):
                plan.absorbed.add(v.owner)
    return plan


# ------------------------------------------------------------------ at call time
# The plan above proves that no *node* reads a target after it is written; it
# cannot know the arrays of a call.  An argument, another shared value or a
# constant may be the target's buffer or a view of it (``f(W.get_value(borrow=True))``,
# two shared variables made from one array): the in-place loop, or the gemm/gemv
# writing into the target, would then read values it already overwrote.  Such a
# target is copied first, which makes the update out of place for that call.
# 0-d values are read at the start of the program, before any write: never a hazard;
# nor is a constant whose data only read-only arrays can see.

def overlaps(values, target, slots, consts=()):
    """True when the buffer of ``values[target]`` may be shared with ``values[k]``
    for another k in ``slots`` (the positions of the arrays that are not 0-d) or
    with one of ``consts``.  np.may_share_memory compares bounds: cheap, never
    misses.  It is skipped for two arrays that own their memory (``base`` None):
    those are one object or disjoint."""
    w = values[target]
    owner = w.base is None
    for k in slots:
        v = values[k]
        if k != target and isinstance(v, np.ndarray) and (
                v is w or not (owner and v.base is None) and np.may_share_memory(w, v)):
            return True
    return any(c is w or not (owner and c.base is None) and np.may_share_memory(w, c)
               for c in consts)


def reachable_for_writing(a):
    """False when no writeable array can see the memory of ``a``: it belongs to a
    read-only array (a Constant's data), whose views are read-only too."""
    while isinstance(a.base, np.ndarray):
        a = a.base
    return a.base is not None or a.flags.writeable


def any_overlap(values, targets, slots, consts=()):
    return any(overlaps(values, t, slots, consts) for t in targets)


def dealias(values, targets, slots, consts=()):
    """Replace, in ``values``, each in-place target that may share memory with
    another value the program reads by a copy.  The copy is what the program
    then updates and what the shared variable holds after the call."""
    for t in targets:
        if overlaps(values, t, slots, consts):
            values[t] = np.array(values[t], copy=True)
