"""Scan: an inner graph run once per step, carrying states from step to step
(Theano's scan).  The front end, ``symgraph.scan_module.scan``, turns the
user's ``fn`` into this op; here are its type rule and its NumPy reference.

Outer inputs, in order:
    n_steps      int64 scalar: the number of steps (an upper bound with ``until``)
    sequences    one per (sequence, tap), already sliced by the front end so
                 that step t reads row t of each
    initials     one per state: its first ``L`` values stacked (``L`` = the
                 longest look-back of its taps)
    fixed        passed whole to every step (non-sequences, implicit inputs)
Inner inputs mirror them: a row per sequence, one value per state tap, the
fixed values.  Inner outputs: each state's new value, then the mapped
outputs (no recurrence), then the ``until`` condition if there is one.

Each state is returned as its ``trace`` (the n new values, without the
initials) or, for the shared variables ``fn`` updates, as its ``final`` value
(the initial one when no step runs).
"""
from dataclasses import dataclass

import numpy as np

from ..graph import Constant, clone_replace
from ..late import late, tensor as T
from ..types import TensorType, is_float
from .base import InnerGraphOp

# the gradient is a scan built by the front end with grad, both above the
# ops (see late.py)
_grad = late("symgraph.grad")
_front = late("symgraph.scan_module")


@dataclass(frozen=True)
class Scan(InnerGraphOp):
    inner_inputs: tuple
    inner_outputs: tuple
    n_sequences: int
    state_taps: tuple          # per state: its taps, negative, increasing
    # per state: "trace", "final", or "last" (the trace's last row only, none
    # when no step ran: what optimize/scan_pass.py gives a trace read only at -1)
    state_modes: tuple
    n_mapped: int
    has_until: bool = False
    name: str = None
    # backpropagate through the last this many steps only (-1: all of them)
    truncate_gradient: int = -1

    @property
    def n_states(self):
        return len(self.state_taps)

    @property
    def lookback(self):
        return tuple(-min(taps) for taps in self.state_taps)

    @property
    def nout(self):
        return self.n_states + self.n_mapped

    def infer_shape(self, node, input_shapes):
        # the number of steps taken (until), the taps' rows kept and the step's
        # results' shapes are known only once the loop runs: declined
        return None

    def make_node(self, n_steps, *inputs):
        k, s = self.n_sequences, self.n_states
        n_taps = sum(len(t) for t in self.state_taps)
        if len(inputs) != k + s + len(self.inner_inputs) - k - n_taps:
            raise TypeError(f"scan: {len(inputs)} outer inputs do not fit the inner graph")
        if n_steps.ndim != 0 or n_steps.dtype[0] not in "iu":
            raise TypeError(f"scan: n_steps must be an integer scalar, got {n_steps.type}")
        seq_inner = self.inner_inputs[:k]
        for j, (outer, inner) in enumerate(zip(inputs[:k], seq_inner)):
            if outer.dtype != inner.dtype or outer.ndim != inner.ndim + 1:
                raise TypeError(f"scan: sequence {j} is {outer.type}, its step value {inner.type}")
        for j, (init, new) in enumerate(zip(inputs[k:k + s], self.inner_outputs[:s])):
            if init.dtype != new.dtype or init.ndim != new.ndim + 1:
                raise TypeError(
                    f"scan: output {j} of the step is {new.type}, but its initial value is "
                    f"{TensorType(init.dtype, init.broadcastable[1:])}; they must have the same "
                    f"dtype and number of dimensions (use T.cast or fix outputs_info)")
        out_types = []
        for mode, new in zip(self.state_modes, self.inner_outputs[:s]):
            flags = tuple(False for _ in new.broadcastable)
            out_types.append(TensorType(new.dtype, (() if mode == "final" else (False,)) + flags))
        for new in self.inner_outputs[s:s + self.n_mapped]:
            out_types.append(TensorType(new.dtype, (False,) + new.broadcastable))
        return self.apply([n_steps, *inputs], out_types)

    def validate(self, node, values):
        n = int(values[0])
        if n < 0:
            raise ValueError(f"scan: n_steps is {n}; it must be at least 0")
        for j, seq in enumerate(values[1:1 + self.n_sequences]):
            if np.shape(seq)[0] < n:
                raise ValueError(f"scan: sequence {j} has {np.shape(seq)[0]} rows (after its "
                                 f"taps) for {n} steps")
        for j, (init, look) in enumerate(zip(values[1 + self.n_sequences:], self.lookback)):
            if np.shape(init)[0] < look:
                raise ValueError(f"scan: output {j} needs {look} initial values, got "
                                 f"{np.shape(init)[0]}")

    def perform(self, n_steps, *values):
        k, s = self.n_sequences, self.n_states
        n = int(n_steps)
        seqs, inits, fixed = values[:k], values[k:k + s], list(values[k + s:])
        # each state's last L values, oldest first: all a step can read
        windows = [list(init[:look]) for init, look in zip(inits, self.lookback)]
        traces = [[] for _ in range(s)]
        mapped = [[] for _ in range(self.n_mapped)]
        for t in range(n):
            taps = [w[look + tap] for w, look, tps in zip(windows, self.lookback, self.state_taps)
                    for tap in tps]
            results = self._program([q[t] for q in seqs] + taps + fixed)
            for j in range(s):
                new = np.asarray(results[j])
                windows[j] = windows[j][1:] + [new]
                if self.state_modes[j] == "trace":
                    traces[j].append(new)
                elif self.state_modes[j] == "last":
                    traces[j] = [new]
            for j in range(self.n_mapped):
                mapped[j].append(np.asarray(results[s + j]))
            if self.has_until and bool(results[-1]):
                break
        outs = []
        for j in range(s):
            init = inits[j]
            if self.state_modes[j] == "final":
                outs.append(windows[j][-1])
            else:
                outs.append(_stack(traces[j], np.shape(init)[1:], init.dtype, f"output {j}"))
        if self.n_mapped and not any(mapped):
            # no step ran: one run on zero rows tells the mapped outputs' shapes
            probe = self._program([np.zeros(np.shape(q)[1:], q.dtype) for q in seqs] +
                                  [w[look + tap] for w, look, tps in
                                   zip(windows, self.lookback, self.state_taps) for tap in tps] +
                                  fixed)
            shapes = [np.shape(p) for p in probe[s:s + self.n_mapped]]
        else:
            shapes = [None] * self.n_mapped
        for j, (rows, new) in enumerate(zip(mapped, self.inner_outputs[s:])):
            outs.append(_stack(rows, shapes[j], new.dtype, f"output {s + j}"))
        return tuple(outs) if len(outs) > 1 else outs[0]

    def grad(self, inputs, outputs, output_grads):
        return _reverse_scan(self, inputs, outputs, output_grads)

    def __str__(self):
        return f"scan{{{self.name}}}" if self.name else "scan"


def _reverse_scan(op, inputs, outputs, output_grads):
    """Backpropagation through time as a scan over the steps in reverse.

    State j with look-back L lives in a buffer B (its L initial values, then
    a row per step); step t reads B[L + t + tap].  Going backwards, each state
    carries A (L rows): A[i] is the gradient gathered so far for B[L + t - i],
    so A[0] is complete when step t is reached (every later reader is done).
    The step's vector-Jacobian product comes from one ``grad`` call; its tap
    gradients are added to A shifted by one row; where it reads the value the
    step returned (a sigmoid's output), that value is read from the forward
    trace, not computed again.  Non-sequence gradients are summed in carried
    accumulators (optimize/scan_sums.py moves them after the loop); after
    the loop A, reversed, is the initial values' gradient."""
    k, s = op.n_sequences, op.n_states
    n, seqs, inits, fixed = inputs[0], inputs[1:1 + k], inputs[1 + k:1 + k + s], inputs[1 + k + s:]
    if any(m == "final" and not _is_zero(g, o)
           for m, g, o in zip(op.state_modes, output_grads[:s], outputs)):
        raise NotImplementedError("grad through the value of a shared variable updated "
                                  "inside scan is not supported")
    n_taps = sum(len(t) for t in op.state_taps)
    seq_in, tap_in = op.inner_inputs[:k], op.inner_inputs[k:k + n_taps]
    fixed_in = op.inner_inputs[k + n_taps:]
    trace = [j for j in range(s) if op.state_modes[j] == "trace" and is_float(inputs[1 + k + j].dtype)]
    mapped_float = [m for m in range(op.n_mapped) if is_float(outputs[s + m].dtype)]
    wanted = [v for v in seq_in + tap_in + fixed_in if is_float(v.dtype)]
    if not wanted or not (trace or mapped_float):
        return [None] * len(inputs)

    # the sequences of the backward loop, all reversed: rows, tap values, cotangents
    rev = lambda x: x[:n][::-1]  # noqa: E731
    seq_rows = [rev(q) for q in seqs]
    tap_rows, tap_owner = [], []
    for j, (taps, look) in enumerate(zip(op.state_taps, op.lookback)):
        if op.state_modes[j] == "trace":
            buf = T.concatenate([inits[j][:look], outputs[j]], axis=0)
        for tap in taps:
            tap_owner.append(j)
            # a final state has no trace: its taps cannot be replayed
            tap_rows.append(rev(buf[look + tap:]) if op.state_modes[j] == "trace" else None)
    cots = [rev(output_grads[j]) for j in trace] + \
        [rev(output_grads[s + m]) for m in mapped_float]
    # the values the step returned, read back instead of computed again where
    # the gradient needs them (sigmoid's and tanh's gradients read their output)
    returned = [op.inner_outputs[j] for j in trace] + \
        [op.inner_outputs[s + m] for m in mapped_float]
    done = [rev(outputs[j]) for j in trace] + [rev(outputs[s + m]) for m in mapped_float]
    reuse = [i for i, (v, rows) in enumerate(zip(returned, done))
             if v.type == T.TensorType(rows.dtype, rows.broadcastable[1:])]

    # every row the step reads is a sequence of the backward loop; the float
    # ones are differentiated
    seq_args = [(v, rows) for v, rows in zip(seq_in, seq_rows)]
    tap_args = [(v, rows) for v, rows in zip(tap_in, tap_rows) if rows is not None]
    float_seqs = [i for i, (v, _) in enumerate(seq_args) if is_float(v.dtype)]
    float_taps = [v for v, _ in tap_args if is_float(v.dtype)]
    fixed_float = [i for i, v in enumerate(fixed_in) if is_float(v.dtype)]

    def step(*args):
        it = iter(args)
        rows = {v: next(it) for v, _ in seq_args + tap_args}
        cot = [next(it) for _ in cots]
        returned_rows = [next(it) for _ in reuse]
        carries = [next(it) for _ in trace]
        sums = [next(it) for _ in fixed_float]
        outer_fixed = [next(it) for _ in fixed_in]
        replace = dict(rows) | dict(zip(fixed_in, outer_fixed))
        new_values = clone_replace([op.inner_outputs[j] for j in trace] +
                                   [op.inner_outputs[s + m] for m in mapped_float], replace)
        seeds = {}
        for v, c in zip(new_values, [a[0] + c for a, c in zip(carries, cot)] + cot[len(trace):]):
            seeds[v] = seeds[v] + c if v in seeds else c
        float_rows = [seq_args[i][0] for i in float_seqs] + float_taps
        wrt = [rows[v] for v in float_rows] + [outer_fixed[i] for i in fixed_float]
        grads = _grad.grad(None, wrt, known_grads=seeds, disconnected_inputs="ignore")
        back_in = {new_values[i]: row for i, row in zip(reuse, returned_rows)
                   if new_values[i] not in rows and new_values[i] not in outer_fixed}
        if back_in:
            present = [gr for gr in grads if gr is not None]
            it_new = iter(clone_replace(present, back_in))
            grads = [None if gr is None else next(it_new) for gr in grads]
        g = dict(zip(float_rows, grads))
        seq_grads = [g[seq_args[i][0]] for i in float_seqs]
        new_carries = []
        for j, a in zip(trace, carries):
            look = op.lookback[j]
            by_tap = {tap: g[v] for v, tap, owner in zip(tap_in, _taps(op), tap_owner)
                      if owner == j and v in g}
            rows_out = []
            for i in range(look):
                row = a[i + 1] if i + 1 < look else T.zeros_like(a[0])
                if -(i + 1) in by_tap:
                    row = row + by_tap[-(i + 1)]
                rows_out.append(row)
            new_carries.append(T.stack(rows_out))
        new_sums = [acc + gf for acc, gf in zip(sums, grads[len(float_rows):])]
        return seq_grads + new_carries + new_sums

    zeros_carry = [T.zeros_like(inits[j][:op.lookback[j]]) for j in trace]
    zeros_sums = [T.zeros_like(fixed[i]) for i in fixed_float]
    infos = [None] * len(float_seqs) + zeros_carry + zeros_sums
    back = n if op.truncate_gradient < 0 else T.minimum(n, op.truncate_gradient)
    results, _ = _front.scan(step, sequences=[r for _, r in seq_args + tap_args] + cots +
                             [done[i] for i in reuse],
                             outputs_info=infos, non_sequences=list(fixed), n_steps=back,
                             return_list=True,
                             _finals=range(len(float_seqs), len(infos)))
    result = [None] * len(inputs)
    for i, rows in zip(float_seqs, results[:len(float_seqs)]):
        result[1 + i] = T.set_subtensor(T.zeros_like(seqs[i])[n - back:n], rows[::-1])
    # truncated: the initial values are further back than the gradient goes
    reached = None if op.truncate_gradient < 0 else T.eq(back, n)
    nf = len(float_seqs)
    for j, carry in zip(trace, results[nf:nf + len(trace)]):
        g = carry[::-1] if reached is None else carry[::-1] * T.cast(reached, carry.dtype)
        result[1 + k + j] = T.unbroadcast(g, inputs[1 + k + j])
    for i, total in zip(fixed_float, results[nf + len(trace):]):
        result[1 + k + s + i] = T.unbroadcast(total, fixed[i]) if total.type != fixed[i].type \
            else total
    return result


def _taps(op):
    return [tap for taps in op.state_taps for tap in taps]


def _is_zero(g, out):
    # T.zeros_like(out): what grad.py passes for an output no gradient reached
    return g is None or (g.owner is not None and g.owner.inputs[0] is out and
                         isinstance(g.owner.inputs[-1], Constant) and
                         not g.owner.inputs[-1].data.any())


def _stack(rows, shape, dtype, what):
    if not rows:
        return np.zeros((0,) + tuple(shape), dtype)
    shapes = {np.shape(r) for r in rows}
    if len(shapes) > 1:
        raise ValueError(f"scan: {what} has different shapes on different steps: {sorted(shapes)}")
    return np.stack(rows).astype(dtype, copy=False)
