"""Scan's inner graphs, rewritten like any graph, and its traces cut to the
values the rest of the graph reads.

Each Scan node gets its inner graph optimized once (one run of the passes
over the step, so the cost is linear in the inner graph; scans inside it are
handled there).  A state whose trace is read only as ``trace[-1]`` keeps
just its last value: its buffer has the look-back's rows, whatever the
number of steps, and the output is that one row (none when no step ran, so
``[-1]`` still fails on an empty loop, as it would on the full trace).
A state that only accumulates terms (a gradient's sum over the steps) has
them summed after the loop (scan_sums.py).  Fixed inputs that the step
no longer reads are dropped.
"""
import dataclasses

from ..graph import Constant, FunctionGraph, clone_replace, graph_inputs, toposort
from ..late import tensor as T
from ..ops.blas import Dot
from ..ops.indexing import Subtensor
from ..ops.scan import Scan
from .scan_sums import sum_after_loop


class ScanPass:
    name = "scan"

    def run(self, outputs, stats=None):
        from . import optimize_outputs  # the passes, run again on each step
        nodes = [n for n in toposort(outputs) if isinstance(n.op, Scan)]
        if not nodes:
            return outputs
        clients = FunctionGraph(graph_inputs(outputs), outputs).clients
        replace = {}
        for node in nodes:      # in order: a scan's inputs may come from an earlier one
            inputs = _clone(list(node.inputs), replace) if replace else list(node.inputs)
            modes = tuple("last" if mode == "trace" and _only_last(clients.get(out, []))
                          else mode for mode, out in zip(node.op.state_modes, node.outputs))
            if stats is not None:
                stats["scan_last_only"] += sum(m == "last" for m in modes) - \
                    sum(m == "last" for m in node.op.state_modes)
            op = dataclasses.replace(node.op, state_modes=modes)
            op, inputs, rebuild = sum_after_loop(op, inputs, stats)
            op, inputs = _hoist(op, inputs, stats)
            inner = optimize_outputs(op.inner_outputs, "fast_run", stats)
            op = dataclasses.replace(op, inner_outputs=tuple(inner))
            op, inputs = _drop_unused_fixed(op, inputs, stats)
            if op == node.op and all(a is b for a, b in zip(inputs, node.inputs)):
                continue
            new = op.make_node(*inputs)
            new.trace = node.trace
            replace.update(zip(node.outputs, rebuild(new.outputs) if rebuild else new.outputs))
        return _clone(outputs, replace) if replace else outputs


def _clone(outputs, memo):
    """clone_replace with one memo for every call of the pass: a node
    between two scans (the forward loop's output layer, read by the loss and
    by the backward loop) is copied once, not once per reader."""
    for node in toposort(outputs):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)) and \
                node.outputs[0] not in memo:
            new_node = node.clone_with_new_inputs(new_inputs)
            for old, new in zip(node.outputs, new_node.outputs):
                new.name = old.name
                memo.setdefault(old, new)
    return [memo.get(o, o) for o in outputs]


def _drop_unused_fixed(op, inputs, stats):
    """Fixed inputs the step no longer reads (the zeros a gradient was
    scattered into, its sum now taken after the loop) are not passed."""
    k = op.n_sequences
    fixed_at = k + sum(len(t) for t in op.state_taps)
    used = set(graph_inputs(list(op.inner_outputs)))
    keep = [j for j, v in enumerate(op.inner_inputs[fixed_at:]) if v in used]
    n_fixed = len(op.inner_inputs) - fixed_at
    if len(keep) == n_fixed:
        return op, inputs
    if stats is not None:
        stats["scan_unused_fixed"] += n_fixed - len(keep)
    outer_at = 1 + k + op.n_states
    new_op = dataclasses.replace(op, inner_inputs=op.inner_inputs[:fixed_at] + tuple(
        op.inner_inputs[fixed_at + j] for j in keep))
    return new_op, inputs[:outer_at] + [inputs[outer_at + j] for j in keep]


def _only_last(clients):
    """Every client reads element -1 along axis 0 and nothing else."""
    if not clients:
        return False
    for client, _ in clients:
        if client == "output" or not isinstance(client.op, Subtensor) or \
                client.op.spec != (("i",),):
            return False
        index = client.inputs[1]
        if not (isinstance(index, Constant) and index.data.size == 1 and
                int(index.data.reshape(-1)[0]) == -1):
            return False
    return True


def _hoist(op, inputs, stats):
    """Move work on a sequence row and fixed values out of the loop, as one
    operation on the whole sequence that becomes a new sequence: a row times
    a fixed matrix (one matrix product instead of n), and a fixed table read
    at an integer row (an embedding lookup: one gather)."""
    k = op.n_sequences
    n_taps = sum(len(t) for t in op.state_taps)
    seq_in = {v: inputs[1 + j] for j, v in enumerate(op.inner_inputs[:k])}
    fixed_at = 1 + k + op.n_states
    fixed_in = {v: inputs[fixed_at + j] for j, v in enumerate(op.inner_inputs[k + n_taps:])}
    hoisted = {}
    for inner in toposort(list(op.inner_outputs)):
        a = inner.inputs
        whole = None
        if isinstance(inner.op, Dot) and a[0] in seq_in and a[0].ndim == 1 and \
                a[1] in fixed_in and a[1].ndim == 2:
            whole = T.dot(seq_in[a[0]], fixed_in[a[1]])
        elif isinstance(inner.op, Subtensor) and inner.op.spec == (("i",),) and \
                a[0] in fixed_in and a[1] in seq_in:
            whole = fixed_in[a[0]][seq_in[a[1]]]
        if whole is not None and whole.ndim == inner.outputs[0].ndim + 1:
            hoisted[inner.outputs[0]] = whole
    if not hoisted:
        return op, inputs
    rows = {v: T.TensorType(w.dtype, w.broadcastable[1:])(v.name) for v, w in hoisted.items()}
    inner_outputs = clone_replace(list(op.inner_outputs), rows)
    new_op = dataclasses.replace(op, inner_inputs=op.inner_inputs[:k] + tuple(rows.values()) +
                                 op.inner_inputs[k:], inner_outputs=tuple(inner_outputs),
                                 n_sequences=k + len(rows))
    if stats is not None:
        stats["scan_hoist"] += len(rows)
    return new_op, inputs[:1 + k] + list(hoisted.values()) + inputs[1 + k:]
