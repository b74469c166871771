"""Stability rewrites that a row cannot say.

``log`` of a softmax reached through transposes and indexing moves down to
the softmax (``log(softmax(z.T).T[y, i]) -> log_softmax(z.T).T[y, i]``).

The gradient of ``log(p[y, i])`` holds ``g / p[y, i]`` scattered into zeros,
later multiplied by the softmax ``p`` again: inf * 0 when p underflows.  Two
general rules take it apart: a product with a scatter into zeros (seen
through transposes) moves into the scattered values, ``A * inc(0, v, idx) ->
inc(0, v * A[idx], idx)``, where ``v * A[idx]`` is ``g / p * p`` and cancels;
and a product over a sum is distributed when that lets a term absorb the
factor (a scatter, or a term that divides by the factor).  A scatter into
zeros added to a value of the sum's type is a scatter into that value.
"""
from ..ops import elemwise as ew
from ..ops.indexing import IncSubtensor, Subtensor
from ..ops.nnet import LogSoftmax, Softmax
from ..ops.shape import DimShuffle, Rebroadcast
from ..types import is_float
from .values import is_zeros

VIEWS = (DimShuffle, Subtensor, Rebroadcast)


def log_of_softmax_view(out):
    x = out.owner.inputs[0]
    chain = []
    while x.owner is not None and isinstance(x.owner.op, VIEWS):
        chain.append(x.owner)
        x = x.owner.inputs[0]
    if not chain or x.owner is None or not isinstance(x.owner.op, Softmax):
        return None
    result = LogSoftmax()(x.owner.inputs[0])
    for node in reversed(chain):
        result = node.op(result, *node.inputs[1:])
    return result


def softmax_from_log_softmax(out, graph):
    """softmax(x) -> exp(log_softmax(x)) where log_softmax(x) is computed anyway:
    one row reduction less, and the exp fuses with what uses the softmax."""
    x = out.owner.inputs[0]
    log_p = graph.existing(LogSoftmax(), [x])
    return None if log_p is None else ew.Exp()(log_p)


# ------------------------------------------------------------------ scatters into zeros
def _is_permutation(op):
    return isinstance(op, DimShuffle) and op.is_transpose


def is_scatter(var):
    """An inc/set_subtensor into zeros, possibly behind transposes."""
    node = var.owner
    while node is not None and _is_permutation(node.op):
        node = node.inputs[0].owner
    return node is not None and isinstance(node.op, IncSubtensor) and is_zeros(node.inputs[0])


def _push(a, scatter):
    """``a * scatter`` with the product moved into the scattered values."""
    node = scatter.owner
    if _is_permutation(node.op):
        order = node.op.new_order
        inverse = tuple(order.index(i) for i in range(len(order)))
        return node.op(_push(DimShuffle(a.broadcastable, inverse)(a), node.inputs[0]))
    zeros, values, *index = node.inputs
    if all(a.broadcastable):
        # one value for every position: a factor of each scattered value as it is
        return node.op(zeros, ew.Mul()(values, DimShuffle(a.broadcastable,
                                                          ("x",) * values.ndim)(a)), *index)
    return node.op(zeros, ew.Mul()(values, Subtensor(node.op.spec)(a, *index)), *index)


def _split(node, k):
    """The product of the inputs other than the k-th (None if there are none)."""
    others = node.inputs[:k] + node.inputs[k + 1:]
    if not others:
        return None
    return others[0] if len(others) == 1 else ew.Mul()(*others)


def _one_dtype(node, dtype):
    return is_float(dtype) and all(i.dtype == dtype for i in node.inputs)


def push_into_scatter(out):
    node = out.owner
    if not _one_dtype(node, out.dtype):
        return None
    for k, f in enumerate(node.inputs):
        if not is_scatter(f):
            continue
        scatter_node = f.owner
        while _is_permutation(scatter_node.op):
            scatter_node = scatter_node.inputs[0].owner
        if scatter_node.inputs[1].dtype != out.dtype:
            continue
        a = _split(node, k)
        # a[idx] must index the same positions as the scatter: no broadcasting,
        # or a is one value (a learning rate)
        if a is not None and a.ndim == f.ndim and \
                (a.broadcastable == f.broadcastable or all(a.broadcastable)):
            return _push(a, f)
    return None


def add_into_scatter(out):
    """``x + inc(0, v, idx) -> inc(x, v, idx)`` and ``x - inc(0, v, idx) -> inc(x, -v, idx)``
    when x has the sum's type (no broadcasting): only the scattered positions
    are computed (an update of an embedding table touches the rows used)."""
    node = out.owner
    if not _one_dtype(node, out.dtype):
        return None
    for k, f in enumerate(node.inputs):
        scatter = f.owner
        if scatter is None or not isinstance(scatter.op, IncSubtensor) or \
                scatter.op.set_instead_of_inc or not is_zeros(scatter.inputs[0]) or \
                f.type != out.type or (isinstance(node.op, ew.Sub) and k == 0):
            continue
        others = node.inputs[:k] + node.inputs[k + 1:]
        for j, x in enumerate(others):
            if x.type != out.type:
                continue
            _, values, *index = scatter.inputs
            if isinstance(node.op, ew.Sub):
                values = ew.Neg()(values)
            result = scatter.op(x, values, *index)
            rest = others[:j] + others[j + 1:]
            return ew.Add()(result, *rest) if rest else result
    return None


def _divisors(var):
    node = var.owner
    if node is None or not isinstance(node.op, ew.TrueDiv):
        return []
    d = node.inputs[1]
    return list(d.owner.inputs) if d.owner is not None and isinstance(d.owner.op, ew.Mul) else [d]


def distribute_to_absorb(out):
    """a * (b - c) -> a*b - a*c when a*b simplifies: b is a scatter, or b divides by a factor of a."""
    node = out.owner
    if not _one_dtype(node, out.dtype):
        return None
    for k, s in enumerate(node.inputs):
        if s.owner is None or not isinstance(s.owner.op, (ew.Add, ew.Sub)) or \
                not _one_dtype(s.owner, out.dtype):
            continue
        factors = node.inputs[:k] + node.inputs[k + 1:]
        if not factors:
            continue
        a = _split(node, k)
        flags = tuple(all(col) for col in zip(*(f.broadcastable for f in factors)))

        def absorbs(term):
            if is_scatter(term) and term.broadcastable == flags:
                return True
            return any(d is f for d in _divisors(term) for f in factors)

        if any(absorbs(t) for t in s.owner.inputs):
            return s.owner.op(*[ew.Mul()(a, t) for t in s.owner.inputs])
    return None
