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
import functools
from dataclasses import dataclass

import numpy as np

from ..graph import FunctionGraph
from ..late import late
from ..types import TensorType
from .base import Op

# the reference run of the inner graph is the reference backend (see late.py)
_python = late("symgraph.compile.python")


@dataclass(frozen=True)
class Scan(Op):
    inner_inputs: tuple
    inner_outputs: tuple
    n_sequences: int
    state_taps: tuple          # per state: its taps, negative, increasing
    state_modes: tuple         # per state: "trace" or "final"
    n_mapped: int
    has_until: bool = False
    name: str = None

    @property
    def n_states(self):
        return len(self.state_taps)

    @property
    def lookback(self):
        return tuple(-min(taps) for taps in self.state_taps)

    @property
    def nout(self):
        return self.n_states + self.n_mapped

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
            out_types.append(TensorType(new.dtype, ((False,) if mode == "trace" else ()) + flags))
        for new in self.inner_outputs[s:s + self.n_mapped]:
            out_types.append(TensorType(new.dtype, (False,) + new.broadcastable))
        return self.apply([n_steps, *inputs], out_types)

    def inner_fgraph(self):
        return FunctionGraph(list(self.inner_inputs), list(self.inner_outputs))

    @functools.cached_property
    def _program(self):
        return _python.compile_python(self.inner_fgraph())

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
            mapped = [[], ] * self.n_mapped
            shapes = [np.shape(p) for p in probe[s:s + self.n_mapped]]
        else:
            shapes = [None] * self.n_mapped
        for j, (rows, new) in enumerate(zip(mapped, self.inner_outputs[s:])):
            outs.append(_stack(rows, shapes[j], new.dtype, f"output {s + j}"))
        return tuple(outs) if len(outs) > 1 else outs[0]

    def __str__(self):
        return f"scan{{{self.name}}}" if self.name else "scan"


def _stack(rows, shape, dtype, what):
    if not rows:
        return np.zeros((0,) + tuple(shape), dtype)
    shapes = {np.shape(r) for r in rows}
    if len(shapes) > 1:
        raise ValueError(f"scan: {what} has different shapes on different steps: {sorted(shapes)}")
    return np.stack(rows).astype(dtype, copy=False)
