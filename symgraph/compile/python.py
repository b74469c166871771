"""The reference backend: walks the graph and calls each op's NumPy ``perform``."""
import numpy as np

from ..graph import Constant
from .backend import Compiled
from .errors import reraise_with_node


def compile_python(fgraph, update_pairs=(), debug=False):
    """The reference backend (backend.py's interface); ``update_pairs`` need
    nothing here: every result is a new array."""
    nodes = fgraph.toposort()
    slot = {v: i for i, v in enumerate(fgraph.inputs)}
    constants = []
    plan = []
    for node in nodes:
        args = []
        for v in node.inputs:
            if v not in slot:
                if not isinstance(v, Constant):
                    raise ValueError(f"{v!r} is needed but is not an input of the function")
                slot[v] = len(slot)
                constants.append((slot[v], v.data))
            args.append(slot[v])
        outs = []
        for v in node.outputs:
            slot[v] = len(slot)
            outs.append(slot[v])
        plan.append((node, args, outs, [o.dtype for o in node.outputs]))
    for v in fgraph.outputs:
        if v not in slot:  # an output that is a constant
            slot[v] = len(slot)
            constants.append((slot[v], v.data))
    out_slots = [slot[v] for v in fgraph.outputs]
    if debug:
        out_slots += [slot[v] for node in nodes for v in node.outputs]
    size = len(slot)
    n_in = len(fgraph.inputs)

    def run(values):
        store = [None] * size
        store[:n_in] = values
        for i, data in constants:
            store[i] = data
        for node, args, outs, dtypes in plan:
            vals = [store[i] for i in args]
            try:
                node.op.validate(node, vals)
                result = node.op.perform(*vals)
            except Exception as exc:
                reraise_with_node(exc, node)
            results = result if len(outs) > 1 else (result,)
            for i, r, dtype in zip(outs, results, dtypes):
                r = np.asarray(r)
                store[i] = r if r.dtype == dtype else r.astype(dtype)
        return [store[i] for i in out_slots]

    return Compiled(run, nodes=nodes)
