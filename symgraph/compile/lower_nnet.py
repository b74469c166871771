"""Lowerings of the neural-network ops of ops/nnet.py: softmax and
log_softmax along the last axis."""
from ..ops.nnet import LogSoftmax, Softmax
from .codegen import registrar

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


@register(Softmax, LogSoftmax)
def lower_softmax(cg, node, refs):
    """Per row: the maximum, then the exponentials written into the output row
    (a loop of stores, which LLVM vectorizes with the polynomial ``fexp``; a
    sum of ``exp`` would run libm's one element at a time, see lowering._libm_forms),
    their sum with two accumulators, then the division (softmax) or
    ``x - max - log(sum)`` over the same row (log_softmax).  The RNN step of
    benchmarks/rnn.py (49x1000 log_softmax) went from 0.77-0.80 to 0.70-0.74 ms."""
    (x,), out_var = refs, node.outputs[0]
    dtype, log = out_var.dtype, isinstance(node.op, LogSoftmax)
    dims = [x.dim(k) for k in range(x.ndim)]
    out = cg.alloc(dims, dtype)
    m, s, t, j, e = (cg.fresh(p) for p in ("m", "s", "t", "j", "e"))
    row = dims[-1]

    def body(idx):
        at = lambda jj: x.at(idx + [jj])  # noqa: E731
        o = lambda jj: out.at(idx + [jj])  # noqa: E731
        lines = [f"{m} = -np.inf",
                 f"for {j} in range({row}):",
                 f"    {e} = np.float64({at(j)})",
                 f"    if {e} > {m} or {e} != {e}:",
                 f"        {m} = {e}",
                 f"for {j} in range({row}):",
                 f"    {o(j)} = fexp(np.float64({at(j)}) - {m})",
                 f"{s} = 0.0",
                 f"{t} = 0.0",
                 f"for {j} in range(0, {row} - 1, 2):",
                 f"    {s} += {o(j)}",
                 f"    {t} += {o(j + ' + 1')}",
                 f"if {row} & 1:",
                 f"    {s} += {o(row + ' - 1')}",
                 f"{s} += {t}"]
        if log:
            lines += [f"{s} = math.log({s})",
                      f"for {j} in range({row}):",
                      f"    {o(j)} = np.float64({at(j)}) - {m} - {s}"]
        else:
            lines += [f"for {j} in range({row}):",
                      f"    {o(j)} = {o(j)} / {s}"]
        return lines
    cg.loops(dims[:-1], body)
    return [out]
