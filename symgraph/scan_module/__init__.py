"""``scan`` and the loops built on it (``map``, ``reduce``, ``foldl``, ``foldr``),
with Theano's signature and semantics; the op is ops/scan.py.

    outputs, updates = sg.scan(fn, sequences=..., outputs_info=..., non_sequences=...)

``fn`` receives, in order: each sequence's taps, each recurrent output's
taps, then the non-sequences.  It returns its outputs, and optionally a dict
of shared-variable updates and ``until(condition)``.
"""
from collections import OrderedDict

from ..graph import clone_replace, close_over, graph_inputs
from ..late import tensor as T
from ..ops.scan import Scan
from ..shared import SharedVariable, _created as _shared_created
from .. import testvalues


class until:
    """Returned from a scan's ``fn``: stop after the step where ``condition`` holds."""

    def __init__(self, condition):
        condition = T.as_tensor_variable(condition)
        if condition.ndim != 0:
            raise TypeError(f"until: the condition must be a scalar, got {condition.type}")
        self.condition = condition


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def _placeholder(var, drop_axis, name):
    flags = var.broadcastable[1:] if drop_axis else var.broadcastable
    placeholder = T.TensorType(var.dtype, flags)(name)
    if drop_axis:   # fn's code then computes test values too (config.compute_test_value)
        testvalues.give_first_row(var, placeholder)
    return placeholder


def _parse_result(result):
    """(outputs, updates, condition) from what ``fn`` returned."""
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    outputs, updates, cond = [], OrderedDict(), None
    for item in items:
        if isinstance(item, until):
            cond = item.condition
        elif isinstance(item, dict):
            updates.update(item)
        elif (isinstance(item, (list, tuple)) and item and
              all(isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], SharedVariable)
                  for p in item)):
            updates.update(item)
        elif isinstance(item, (list, tuple)):
            outputs.extend(item)
        else:
            outputs.append(item)
    return [None if o is None else T.as_tensor_variable(o) for o in outputs], updates, cond


def scan(fn, sequences=None, outputs_info=None, non_sequences=None, n_steps=None,
         truncate_gradient=-1, go_backwards=False, mode=None, name=None, strict=False,
         return_list=False, profile=False, allow_gc=None, _finals=()):
    """Loop ``fn`` over the sequences (Theano's scan); returns ``(outputs, updates)``.

    ``outputs`` has one entry per output of ``fn``: the value after each step,
    stacked along a new axis 0 (the initial values are not included).
    ``updates`` maps each shared variable ``fn`` updated to its value after
    the loop: pass it to ``function(..., updates=updates)``.
    (``_finals``: positions of recurrent outputs to return as their value
    after the loop instead, the initial one when no step runs; the gradient
    uses it for its accumulators.)
    """
    # -- sequences: one sliced outer sequence and one step placeholder per tap
    outer_seqs, seq_args = [], []
    for j, seq in enumerate(_as_list(sequences)):
        taps = [0]
        if isinstance(seq, dict):
            taps = list(seq.get("taps", [0]))
            seq = seq["input"]
        seq = T.as_tensor_variable(seq)
        if seq.ndim == 0:
            raise TypeError(f"scan: sequence {j} ({seq!r}) is a scalar; sequences are "
                            f"iterated over their first axis")
        if go_backwards:
            seq = seq[::-1]
        lo, hi = min(taps), max(taps)
        length = T.shape_i(seq, 0)
        for tap in taps:
            stop = length - (hi - tap)
            outer_seqs.append(seq[tap - lo:stop])
            seq_args.append(_placeholder(seq, True, f"{seq.name or 'seq'}[t{tap:+d}]"
                                         if tap else f"{seq.name or 'seq'}[t]"))

    # -- recurrent outputs: taps and initial values
    infos = _as_list(outputs_info)
    state_taps, initials, state_args, state_of_output = [], [], [], {}
    for j, info in enumerate(infos):
        if isinstance(info, dict):
            init, taps = info.get("initial"), info.get("taps", [-1])
        else:
            init, taps = info, [-1]
        if init is None:
            continue
        init = T.as_tensor_variable(init)
        taps = sorted(taps)
        if not taps or taps[-1] >= 0:
            raise ValueError(f"scan: the taps of output {j} must be negative, got {taps}")
        look = -taps[0]
        if isinstance(info, dict) and "taps" in info and taps != [-1]:
            if init.ndim == 0:
                raise TypeError(f"scan: output {j} has taps {taps}; its initial value needs "
                                f"{look} rows along axis 0")
            stacked = init[:look]
        else:
            stacked = init.dimshuffle(["x"] + list(range(init.ndim)))
        state_of_output[j] = len(state_taps)
        state_taps.append(tuple(taps))
        initials.append(stacked)
        for tap in taps:
            state_args.append(_placeholder(stacked, True, f"out{j}[t{tap:+d}]"))

    fixed_given = [T.as_tensor_variable(v) for v in _as_list(non_sequences)]
    # fn gets the non-sequences themselves (as in Theano), so graphs built on
    # them inside fn, T.grad(y[i], x) included, connect to the outer graph;
    # whatever the step reads from outside becomes a fixed input below
    made_from = next(_shared_created)   # shared variables made by fn come after this
    result = fn(*seq_args, *state_args, *fixed_given)
    outputs, updates, cond = _parse_result(result)
    if infos and len(outputs) != len(infos):
        raise ValueError(f"scan: fn returned {len(outputs)} outputs but outputs_info has "
                         f"{len(infos)} entries")
    if not infos:
        infos = [None] * len(outputs)

    # -- the shared variables fn updates become states that keep their last value;
    # so do those fn made with a default update (a RandomStreams draw inside fn:
    # a new draw at every step, as in Theano)
    for v in graph_inputs([v for v in outputs + list(updates.values()) + [cond]
                           if v is not None]):
        if (isinstance(v, SharedVariable) and v.default_update is not None
                and v.container.order > made_from and v not in updates):
            updates[v] = v.default_update
    shared_targets = list(updates)
    shared_args = [s.type(f"{s.name or 'shared'}[t-1]") for s in shared_targets]
    values = outputs + list(updates.values()) + ([cond] if cond is not None else [])
    replaced = clone_replace([v for v in values if v is not None],
                             dict(zip(shared_targets, shared_args)))
    it = iter(replaced)
    values = [None if v is None else next(it) for v in values]
    outputs = values[:len(outputs)]
    update_values = values[len(outputs):len(outputs) + len(shared_targets)]
    cond = values[-1] if cond is not None else None

    state_new = [None] * len(state_taps)
    mapped = []
    for j, out in enumerate(outputs):
        if out is None:
            raise ValueError(f"scan: fn returned None for output {j}")
        if j in state_of_output:
            init = initials[state_of_output[j]]
            if out.dtype != init.dtype:
                raise TypeError(
                    f"scan: output {j} of fn is {out.dtype} but its initial value is "
                    f"{init.dtype}; use T.cast so they agree")
            state_new[state_of_output[j]] = out
        else:
            mapped.append((j, out))
    final_states = {state_of_output[j] for j in _finals}
    modes = ["final" if i in final_states else "trace" for i in range(len(state_taps))] + \
        ["final"] * len(shared_targets)
    for s, value in zip(shared_targets, update_values):
        value = T.as_tensor_variable(value)
        if value.dtype != s.dtype or value.ndim != s.ndim:
            raise TypeError(f"scan: the update of {s!r} is {value.type}, but {s!r} is {s.type}")
        state_taps.append((-1,))
        initials.append(s.dimshuffle(["x"] + list(range(s.ndim))))
        state_new.append(value)
    state_args += shared_args

    inner_outputs = state_new + [o for _, o in mapped] + ([cond] if cond is not None else [])
    fixed, inner_fixed, inner_outputs = close_over(inner_outputs, seq_args + state_args)

    # -- the number of steps
    lengths = [T.shape_i(q, 0) for q in outer_seqs]
    if n_steps is not None:
        steps = T.cast(T.as_tensor_variable(n_steps), "int64")
    elif lengths:
        steps = lengths[0]
        for length in lengths[1:]:
            steps = T.minimum(steps, length)
        steps = T.cast(steps, "int64")
    else:
        raise ValueError("scan: give sequences or n_steps (there is nothing to count steps by)")

    op = Scan(tuple(seq_args + state_args + inner_fixed), tuple(inner_outputs),
              len(seq_args), tuple(state_taps), tuple(modes), len(mapped),
              cond is not None, name, int(truncate_gradient))
    node = op.make_node(steps, *outer_seqs, *initials, *fixed)
    outs = node.outputs
    n_user_states = len(state_taps) - len(shared_targets)
    by_output = [None] * len(outputs)
    for j, k in state_of_output.items():
        by_output[j] = outs[k]
    for m, (j, _) in enumerate(mapped):
        by_output[j] = outs[len(state_taps) + m]
    new_updates = OrderedDict(
        (s, T.patternbroadcast(v, s.broadcastable) if v.broadcastable != s.broadcastable else v)
        for s, v in zip(shared_targets, outs[n_user_states:len(state_taps)]))
    if len(by_output) == 1 and not return_list:
        return by_output[0], new_updates
    return by_output, new_updates


def map(fn, sequences, non_sequences=None, truncate_gradient=-1, go_backwards=False,
        mode=None, name=None):
    """``fn`` applied to each step of the sequences (scan with no recurrence)."""
    return scan(fn, sequences=sequences, outputs_info=None, non_sequences=non_sequences,
                truncate_gradient=truncate_gradient, go_backwards=go_backwards, name=name)


def reduce(fn, sequences, outputs_info, non_sequences=None, go_backwards=False, mode=None,
           name=None):
    """Like scan, keeping only the last value of each output."""
    outs, updates = scan(fn, sequences=sequences, outputs_info=outputs_info,
                         non_sequences=non_sequences, go_backwards=go_backwards, name=name,
                         return_list=True)
    last = [o[-1] for o in outs]
    return (last[0] if len(last) == 1 else last), updates


def foldl(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """reduce from the first step to the last."""
    return reduce(fn, sequences, outputs_info, non_sequences, False, mode, name)


def foldr(fn, sequences, outputs_info, non_sequences=None, mode=None, name=None):
    """reduce from the last step to the first."""
    return reduce(fn, sequences, outputs_info, non_sequences, True, mode, name)


__all__ = ["scan", "until", "map", "reduce", "foldl", "foldr", "Scan"]
