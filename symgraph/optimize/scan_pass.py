"""Scan's inner graphs, rewritten like any graph, and its traces cut to the
values the rest of the graph reads.

Each Scan node gets its inner graph optimized once (one run of the passes
over the step, so the cost is linear in the inner graph; scans inside it are
handled there).  A state whose trace is read only as ``trace[-1]`` keeps
just its last value: its buffer has the look-back's rows, whatever the
number of steps, and the output is that one row (none when no step ran, so
``[-1]`` still fails on an empty loop, as it would on the full trace).
"""
import dataclasses

from ..graph import Constant, FunctionGraph, clone_replace, graph_inputs, toposort
from ..ops.indexing import Subtensor
from ..ops.scan import Scan


class ScanPass:
    name = "scan"

    def run(self, outputs, stats=None):
        from . import optimize_outputs  # the passes, run again on each step
        nodes = [n for n in toposort(outputs) if isinstance(n.op, Scan)]
        if not nodes:
            return outputs
        clients = FunctionGraph(graph_inputs(outputs), outputs).clients
        replace = {}
        for node in nodes:
            op = node.op
            inner = optimize_outputs(op.inner_outputs, "fast_run", stats)
            modes = tuple("last" if mode == "trace" and _only_last(clients.get(out, []))
                          else mode for mode, out in zip(op.state_modes, node.outputs))
            new_op = dataclasses.replace(op, inner_outputs=tuple(inner), state_modes=modes)
            if new_op == op:
                continue
            new = new_op.make_node(*node.inputs)
            new.trace = node.trace
            replace.update(zip(node.outputs, new.outputs))
            if stats is not None:
                stats["scan_last_only"] += sum(m == "last" for m in modes) - \
                    sum(m == "last" for m in op.state_modes)
        return clone_replace(outputs, replace) if replace else outputs


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
