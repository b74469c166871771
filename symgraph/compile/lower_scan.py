"""Scan (ops/scan.py): the inner graph lowered once, inside a loop of the
program itself, so a step costs what its statements cost (no call, no
wrapping).  Each state lives in one buffer: its L initial values then a row
per step for a trace; only L rows, used as a ring, for a final value.
Mapped outputs are allocated at the first step, when their shape is known;
with no steps the body runs once on zero rows to learn it, as the reference
does."""
from ..ops.scan import Scan
from .codegen import Array, bind_row, lower_inner, np_dtype, registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


def stack_at(cg, name, n, step, value, dtype, what, per="steps"):
    """``name``: ``n`` rows of ``value``'s shape, allocated at step 0 (when the
    shape is first known); a later step of another shape fails."""
    dims = [value.dim(d) for d in range(value.ndim)]
    with cg.block(f"if {step} == 0:"):
        cg.emit(f"{name} = np.empty(({n}, {''.join(d + ', ' for d in dims)}), {np_dtype(dtype)})")
    for d, length in enumerate(dims):
        cg.check(f"{length} != {name}.shape[{d + 1}]", "ValueError",
                 f"{what} has different shapes on different {per}")


def write_row(cg, target, index, value):
    if value.ndim == 0:
        cg.emit(f"{target}[{index}] = {value.at([])}")
        return

    def body(idx):
        lines, expr = value.load(idx)
        return lines + [f"{target}[{index}, {', '.join(idx)}] = {expr}"]
    cg.loops([value.dim(d) for d in range(value.ndim)], body)


@register(Scan)
def lower_scan(cg, node, refs):
    op = node.op
    k, s = op.n_sequences, op.n_states
    n = cg.fresh("n")
    cg.emit(f"{n} = np.int64({refs[0].at([])})")
    cg.check(f"{n} < 0", "ValueError", "n_steps must be at least 0")
    seqs, inits, fixed = refs[1:1 + k], refs[1 + k:1 + k + s], refs[1 + k + s:]
    probe = op.n_mapped > 0     # with no steps, one run on zero rows gives the shapes
    sources = []
    for j, ref in enumerate(seqs):
        arr = cg.as_array(ref)
        cg.check(f"{arr.dim(0)} < {n}", "ValueError", f"sequence {j} is shorter than n_steps")
        src = arr.name
        if probe:
            src = cg.fresh("w")
            rest = "".join(f"{arr.dim(d)}, " for d in range(1, arr.ndim))
            cg.emit(f"{src} = {arr.name} if {n} > 0 else "
                    f"np.zeros((1, {rest}), {np_dtype(arr.dtype)})")
        sources.append((src, arr))
    buffers = []
    for j, (ref, look, mode) in enumerate(zip(inits, op.lookback, op.state_modes)):
        init = cg.as_array(ref)
        cg.check(f"{init.dim(0)} < {look}", "ValueError",
                 f"output {j} needs {look} initial values")
        rows = f"{look} + max({n}, 1)" if mode == "trace" else str(look)
        buf = cg.alloc([rows] + [init.dim(d) for d in range(1, init.ndim)], init.dtype, "sb")
        cg.emit(f"{buf.name}[:{look}] = {init.name}[:{look}]")
        buffers.append(buf)
    mapped = []
    for var in node.outputs[s:]:
        name = cg.fresh("mo")
        cg.emit(f"{name} = np.empty(({'0, ' * var.ndim}), {np_dtype(var.dtype)})")
        mapped.append(name)
    done = cg.fresh("m")
    cg.emit(f"{done} = {n}")
    t = cg.fresh("t")
    with cg.block(f"for {t} in range({f'max({n}, 1)' if probe else n}):"):
        for inner, (src, arr) in zip(op.inner_inputs[:k], sources):
            bind_row(cg, inner, src, t, arr)
        taps = iter(op.inner_inputs[k:])
        for buf, look, tps, mode in zip(buffers, op.lookback, op.state_taps, op.state_modes):
            for tap in tps:
                row = f"{t} + {look + tap}" if mode == "trace" else \
                    f"({t} + {look + tap}) % {look}"
                bind_row(cg, next(taps), buf.name, row, buf)
        for inner, ref in zip(op.inner_inputs[k + sum(map(len, op.state_taps)):], fixed):
            cg.refs[inner] = ref
        values = lower_inner(cg, op.inner_outputs, "scan")
        # a final value overwrites the row its step read: compute it apart first
        news = []
        for value, mode in zip(values[:s], op.state_modes):
            if mode != "trace" and value.ndim > 0:
                tmp = cg.alloc([value.dim(d) for d in range(value.ndim)], value.dtype)
                cg.loops([value.dim(d) for d in range(value.ndim)],
                         lambda idx, v=value, o=tmp: _copy(v, o, idx))
                value = tmp
            elif value.ndim == 0:
                value = cg.assign(value.at([]), value.dtype)
            news.append(value)
        for j, (name, value, var) in enumerate(zip(mapped, values[s:s + op.n_mapped],
                                                   node.outputs[s:])):
            stack_at(cg, name, n, t, value, var.dtype, f"output {s + j}")
        with cg.block(f"if {t} < {n}:"):
            for buf, value, look, mode in zip(buffers, news, op.lookback, op.state_modes):
                row = f"{t} + {look}" if mode == "trace" else f"({t} + {look}) % {look}"
                write_row(cg, buf.name, row, value)
            for name, value in zip(mapped, values[s:s + op.n_mapped]):
                write_row(cg, name, t, value)
            if op.has_until:
                with cg.block(f"if {values[-1].at([])}:"):
                    cg.emit(f"{done} = {t} + 1", "break")
    outs = []
    for buf, look, mode, var in zip(buffers, op.lookback, op.state_modes, node.outputs):
        name = cg.fresh("so")
        if mode == "trace":
            cg.emit(f"{name} = {buf.name}[{look}:{look} + {done}]")
            outs.append(Array(name, var.dtype, var.ndim, buffer=buf.buffer))
        elif mode == "last":
            last = f"({done} + {look - 1}) % {look}"
            cg.emit(f"{name} = {buf.name}[{last}:{last} + min({done}, 1)]")
            outs.append(Array(name, var.dtype, var.ndim, buffer=buf.buffer))
        elif var.ndim == 0:
            outs.append(cg.assign(f"{buf.name}[({done} + {look - 1}) % {look}]", var.dtype))
        else:
            cg.emit(f"{name} = {buf.name}[({done} + {look - 1}) % {look}]")
            outs.append(Array(name, var.dtype, var.ndim, buffer=buf.buffer))
    for name, var in zip(mapped, node.outputs[s:]):
        if op.has_until:
            cut = cg.fresh("so")
            cg.emit(f"{cut} = {name}[:{done}]")
            name = cut
        outs.append(Array(name, var.dtype, var.ndim, owned=not op.has_until))
    return outs


def _copy(value, out, idx):
    lines, expr = value.load(idx)
    return lines + [f"{out.at(idx)} = {expr}"]
