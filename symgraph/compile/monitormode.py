"""Theano's MonitorMode: run a function node by node through the ops' NumPy
``perform`` (the reference path), with a call before and after each node.

    def show(i, node, fn):
        print(i, node.op, [cell[0] for cell in fn.outputs])
    f = sg.function([x], y, mode=sg.compile.MonitorMode(post_func=show))

``pre_func(i, node, fn)`` and ``post_func(i, node, fn)`` get the node's
position in the optimized graph's order (``f.graph.toposort()``), the node,
and its thunk ``fn``: ``fn.inputs`` and ``fn.outputs`` are lists of
one-element lists holding the values (Theano's storage cells; the outputs'
hold None before the node runs, and what ``post_func`` leaves there is what
the next nodes read).  NanGuardMode (nanguardmode.py) is a MonitorMode that
checks each node's outputs.
"""
import numpy as np

from ..graph import Constant
from .backend import Compiled
from .errors import reraise_with_node
from .mode import Mode


class NodeThunk:
    """One node with its values in storage cells; calling it runs the op's ``perform``."""

    def __init__(self, node, inputs):
        self.node = node
        self.inputs = [[value] for value in inputs]
        self.outputs = [[None] for _ in node.outputs]

    def __call__(self):
        node = self.node
        values = [cell[0] for cell in self.inputs]
        try:
            node.op.validate(node, values)
            result = node.op.perform(*values)
        except Exception as exc:  # noqa: BLE001 - every failure gets its node named
            reraise_with_node(exc, node)
        results = result if len(node.outputs) > 1 else (result,)
        for cell, value, var in zip(self.outputs, results, node.outputs):
            value = np.asarray(value)
            cell[0] = value if value.dtype == var.dtype else value.astype(var.dtype)


def compile_stepwise(fgraph, step):
    """A backend (backend.py's interface, less its options) running ``fgraph``
    node by node: ``step(i, node, thunk)`` for each node, which must call
    ``thunk()``.  Results may be views of the arguments (``function`` copies them)."""
    nodes = fgraph.toposort()

    def run(values):
        computed = dict(zip(fgraph.inputs, values))

        def value(var):
            return var.data if isinstance(var, Constant) else computed[var]

        for i, node in enumerate(nodes):
            thunk = NodeThunk(node, [value(v) for v in node.inputs])
            step(i, node, thunk)
            computed.update(zip(node.outputs, (cell[0] for cell in thunk.outputs)))
        return [value(v) for v in fgraph.outputs]

    return Compiled(run, nodes=nodes)


class MonitorMode(Mode):
    """Runs node by node through the reference path, calling ``pre_func(i,
    node, fn)`` before and ``post_func(i, node, fn)`` after each node (either
    may be None); ``optimizer`` as for ``Mode``."""

    # each elementwise op stays its own node (and keeps the line that built it)
    skip_passes = ("fusion",)

    def __init__(self, pre_func=None, post_func=None, optimizer="default", linker=None):
        if linker not in (None, "py", "python"):
            raise ValueError(f"{type(self).__name__} runs each op's perform in Python; "
                             f"linker={linker!r} cannot be used with it")
        super().__init__("python", optimizer)
        for name, fn in (("pre_func", pre_func), ("post_func", post_func)):
            if fn is not None and not callable(fn):
                raise TypeError(f"MonitorMode: {name} must be callable or None, got {fn!r}")
        self.pre_func, self.post_func = pre_func, post_func

    def eval(self, i, node, fn):
        """Run one node between the two calls."""
        if self.pre_func is not None:
            self.pre_func(i, node, fn)
        fn()
        if self.post_func is not None:
            self.post_func(i, node, fn)

    def compile(self, fgraph, update_pairs=()):
        """The node-by-node run of ``fgraph`` (updates are applied by ``function``)."""
        return compile_stepwise(fgraph, self.eval)
