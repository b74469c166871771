"""Sums carried through a scan, summed after the loop instead.

A state that only accumulates, ``acc_t = acc_{t-1} + f_1 + f_2 + ...`` with
``acc`` read by nothing else and only its final value returned, is what the
reverse scan of ``grad`` builds for every non-sequence.  Each term that has a
summed form becomes mapped (stacked) outputs of the loop, and the sum is taken
once after it:

    outer(u_t, v_t)                  ->  dot(U.T, V)            (one matrix product)
    dot(A_t.T, B_t)                  ->  dot(A.T, B), the steps' rows stacked
    inc_subtensor(zeros[i_t], y_t)   ->  inc_subtensor(zeros[I], Y)   (one scatter)
    a scalar or vector term f_t      ->  F.sum(axis=0)  (also given broadcastable axes)

The other terms stay in the carried state; a state left with none is dropped
and its final value is ``initial + the summed forms``.  A per-step value that
is a sequence's row is not copied: the summed form reads the sequence.
"""
import dataclasses

import numpy as np

from ..graph import Constant, FunctionGraph
from ..late import tensor as T
from ..ops import elemwise as ew
from ..ops.blas import Dot
from ..ops.indexing import IncSubtensor
from ..ops.shape import Alloc, DimShuffle, Reshape


def sum_after_loop(op, inputs, stats=None):
    """(op, inputs, rebuild): the scan with its accumulating states' terms
    moved after the loop; ``rebuild(new_outputs)`` gives the values of the
    old node's outputs.  ``rebuild`` is None when nothing changed."""
    if op.has_until:        # the number of rows would be the steps taken: left alone
        return op, inputs, None
    k, s = op.n_sequences, op.n_states
    n_taps = sum(len(t) for t in op.state_taps)
    fixed_at = 1 + k + s
    seq_outer = {v: inputs[1 + j] for j, v in enumerate(op.inner_inputs[:k])}
    fixed_outer = {v: inputs[fixed_at + j] for j, v in enumerate(op.inner_inputs[k + n_taps:])}
    clients = FunctionGraph(list(op.inner_inputs), list(op.inner_outputs)).clients
    tap_first = np.cumsum([0] + [len(t) for t in op.state_taps])[:-1] + k
    n = inputs[0]

    mapped = {}             # per-step inner value -> its index among the new mapped outputs

    def stacked(v):
        # the n per-step values of v, as an outer variable (filled in after make_node)
        if v in seq_outer:
            return lambda outs: seq_outer[v][:n]
        mapped.setdefault(v, len(mapped))
        return lambda outs: outs[mapped[v]]

    plans = {}
    for j in range(s):
        if op.state_modes[j] != "final" or op.state_taps[j] != (-1,):
            continue
        acc, new = op.inner_inputs[tap_first[j]], op.inner_outputs[j]
        node = new.owner
        if node is None or not isinstance(node.op, ew.Add) or \
                [c for c in clients.get(acc, [])] != [(node, node.inputs.index(acc))] or \
                node.inputs.count(acc) != 1 or acc in op.inner_outputs or \
                clients.get(new, []) != [("output", j)]:
            # the running sum read inside the step (or returned twice) is needed there
            continue
        forms, rest = [], []
        for term in _terms([v for v in node.inputs if v is not acc], clients):
            form = _summed_form(term, op, seq_outer, fixed_outer, stacked)
            (forms if form is not None else rest).append(form or term)
        if forms:
            plans[j] = (forms, rest, new)
    if not plans:
        return op, inputs, None

    # the new op: dropped states' taps and initials out, new mapped outputs in
    keep = [j for j in range(s) if j not in plans or plans[j][1]]
    inner_outputs = list(op.inner_outputs)
    for j, (forms, rest, new) in plans.items():
        acc = op.inner_inputs[tap_first[j]]
        inner_outputs[j] = T.add(acc, *rest) if rest else None
    dropped_taps = {op.inner_inputs[tap_first[j]] for j in range(s) if j not in keep}
    new_mapped = sorted(mapped, key=mapped.get)
    new_op = dataclasses.replace(
        op,
        inner_inputs=tuple(v for v in op.inner_inputs if v not in dropped_taps),
        inner_outputs=tuple([inner_outputs[j] for j in keep] +
                            inner_outputs[s:s + op.n_mapped] + new_mapped),
        state_taps=tuple(op.state_taps[j] for j in keep),
        state_modes=tuple(op.state_modes[j] for j in keep),
        n_mapped=op.n_mapped + len(new_mapped))
    new_inputs = inputs[:1 + k] + [inputs[1 + k + j] for j in keep] + inputs[fixed_at:]
    if stats is not None:
        stats["scan_sum_after_loop"] += sum(len(p[0]) for p in plans.values())

    def rebuild(outs):
        outs = list(outs)
        states = dict(zip(keep, outs[:len(keep)]))
        old_mapped = outs[len(keep):len(keep) + op.n_mapped]
        extra = outs[len(keep) + op.n_mapped:]
        result = []
        for j in range(s):
            if j not in plans:
                result.append(states[j])
                continue
            forms = [form(extra) for form in plans[j][0]]
            init = inputs[1 + k + j]
            if j in states:
                total = states[j]
            elif _zeros_initial(init) and forms[0].ndim == init.ndim - 1 and \
                    not any(forms[0].broadcastable) and forms[0].owner is not None and \
                    isinstance(forms[0].owner.op, (Dot, IncSubtensor)):
                # a matrix product or a scatter into zeros, added to the state
                # without broadcasting: it has the state's shape
                total, forms = forms[0], forms[1:]
            else:
                total = init[0]
            for form in forms:
                total = total + form
            result.append(T.cast(total, op.inner_outputs[j].dtype)
                          if total.dtype != op.inner_outputs[j].dtype else total)
        return result + old_mapped
    return new_op, new_inputs, rebuild


def _terms(values, clients):
    """The summands of nested additions (an inner Add is opened when only
    this sum reads it)."""
    out = []
    for v in values:
        node = v.owner
        if node is not None and isinstance(node.op, ew.Add) and len(clients.get(v, [])) == 1 \
                and v.type == node.outputs[0].type and all(i.ndim == v.ndim for i in node.inputs):
            out += _terms(node.inputs, clients)
        else:
            out.append(v)
    return out


def _summed_form(term, op, seq_outer, fixed_outer, stacked):
    """A function of the stacked per-step values giving the sum of ``term``
    over the steps, or None when ``term`` has no summed form here."""
    inner_inputs = set(op.inner_inputs)

    def per_step(v):
        # a value of the step (a sequence's row or computed in the step); a
        # constant, fixed or carried input cannot be a mapped output as it is
        return v in seq_outer or (v.owner is not None and v not in inner_inputs)

    node = term.owner
    if node is not None and isinstance(node.op, Dot) and term.ndim == 2:
        a, b = node.inputs
        u, v = _column(a), _row(b)
        if u is not None and v is not None and per_step(u) and per_step(v):
            U, V = stacked(u), stacked(v)
            return lambda outs: T.dot(U(outs).T, V(outs))
        at = _transposed(a)
        if at is not None and b.ndim == 2 and per_step(at) and per_step(b):
            A, B = stacked(at), stacked(b)

            def matmul(outs):
                a_s, b_s = A(outs), B(outs)
                rows = a_s.shape[0] * a_s.shape[1]
                return T.dot(a_s.reshape((rows, a_s.shape[2])).T,
                             b_s.reshape((rows, b_s.shape[2])))
            return matmul
    if node is not None and isinstance(node.op, IncSubtensor) and \
            not node.op.set_instead_of_inc and len(node.op.spec) == 1 and \
            node.op.spec[0][0] in ("i", "a"):
        x, y, idx = node.inputs
        zeros = _outer_zeros(x, fixed_outer)
        if zeros is not None and idx.dtype.startswith(("int", "uint")) and \
                y.ndim == x.ndim - 1 + idx.ndim and per_step(y) and per_step(idx):
            Y, I = stacked(y), stacked(idx)
            return lambda outs: T.inc_subtensor(zeros[I(outs)], Y(outs))
    if term.ndim <= 1 and per_step(term):
        F = stacked(term)
        return lambda outs: F(outs).sum(axis=0)
    if node is not None and isinstance(node.op, DimShuffle) and node.inputs[0].ndim <= 1 and \
            [a for a in node.op.new_order if a != "x"] == list(range(node.inputs[0].ndim)) and \
            per_step(node.inputs[0]):
        # a small term given broadcastable axes (a bias's gradient as a row)
        F, order = stacked(node.inputs[0]), node.op.new_order
        return lambda outs: F(outs).sum(axis=0).dimshuffle(order)
    return None


def _column(v):
    """u where v is u as a column (the first factor of an outer product)."""
    if v.owner is not None and isinstance(v.owner.op, DimShuffle) and \
            v.owner.op.new_order == (0, "x"):
        return _vector(v.owner.inputs[0])
    return None


def _row(v):
    if v.owner is not None and isinstance(v.owner.op, DimShuffle) and \
            v.owner.op.new_order == ("x", 0):
        return _vector(v.owner.inputs[0])
    return None


def _vector(v):
    # flatten() of a vector is the vector
    if v.owner is not None and isinstance(v.owner.op, Reshape) and v.ndim == 1 and \
            v.owner.inputs[0].ndim == 1:
        return v.owner.inputs[0]
    return v if v.ndim == 1 else None


def _transposed(v):
    if v.owner is not None and isinstance(v.owner.op, DimShuffle) and \
            v.owner.op.new_order == (1, 0):
        return v.owner.inputs[0]
    return None


def _outer_zeros(x, fixed_outer):
    """The outer zeros that the inner ``x`` is, or None."""
    if x in fixed_outer:
        return fixed_outer[x] if _is_zeros(fixed_outer[x]) else None
    node = x.owner
    if node is not None and isinstance(node.op, ew.Second) and _zero_constant(node.inputs[1]) \
            and node.inputs[0] in fixed_outer and node.inputs[0].type == x.type:
        return T.zeros_like(fixed_outer[node.inputs[0]])
    return None


def _zeros_initial(init):
    # zeros stacked as the one initial row
    node = init.owner
    return node is not None and isinstance(node.op, DimShuffle) and \
        node.op.new_order[0] == "x" and _is_zeros(node.inputs[0])


def _is_zeros(v):
    node = v.owner
    if node is None:
        return _zero_constant(v)
    if isinstance(node.op, ew.Second):
        return _zero_constant(node.inputs[1])
    if isinstance(node.op, Alloc):
        return _zero_constant(node.inputs[0])
    return False


def _zero_constant(v):
    return isinstance(v, Constant) and not np.asarray(v.data).any()
