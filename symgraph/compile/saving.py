"""Pickling compiled functions: what is saved is what builds them again.

A ``Function`` holds a compiled program that cannot be pickled; its pickle is
its optimized graph with what a call needs (its inputs with their defaults and
names, the update targets, the mode: ``Function.__reduce__``), and loading it
compiles that graph as it is, without optimizing it again: the same program,
found in the disk cache when it was compiled there before, with the same
results.

Pickle walks objects recursively, and a graph is a chain ``variable -> node ->
input variable -> ...``: a deep graph (a long training step) would exhaust
Python's recursion limit.  So ``pack`` writes the nodes as a flat table, in
dependency order: each node's op, its inputs (a ``_Slot`` naming an earlier
node's output, or the input variable itself), its output types and names.
Graph inputs, shared variables and constants are pickled as themselves, so
pickle's memo keeps them one object: two functions pickled together still
share their shared variables after loading.
"""
import copy
import itertools
from dataclasses import dataclass

from .. import graph
from ..graph import Apply, Constant, Variable, toposort

# variable attributes that the table itself records (or that point back into
# the graph and are not needed to run it: a tag's test value)
_STRUCTURE = ("type", "owner", "index", "id", "_tag")


@dataclass(frozen=True)
class _Slot:
    """Output ``index`` of node ``node`` of the table."""
    node: int
    index: int


def _walk(obj, on_variable):
    """``obj`` with every Variable ``v`` inside it replaced by ``on_variable(v)``:
    through lists, tuples, dicts (keys too) and objects with a ``variable``
    attribute (``In``, ``Out``, copied)."""
    if isinstance(obj, (Variable, _Slot)):
        return on_variable(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_walk(o, on_variable) for o in obj)
    if isinstance(obj, dict):
        return {_walk(k, on_variable): _walk(v, on_variable) for k, v in obj.items()}
    if isinstance(getattr(obj, "variable", None), (Variable, _Slot)):
        obj = copy.copy(obj)
        obj.variable = on_variable(obj.variable)
    return obj


def pack(obj):
    """(table, skeleton): ``obj`` with each computed variable replaced by a
    ``_Slot`` of a flat table of the nodes that compute them."""
    found = []
    _walk(obj, lambda v: found.append(v) or v)
    nodes = toposort([v for v in found if v.owner is not None])
    position = {node: k for k, node in enumerate(nodes)}

    def ref(v):
        return _Slot(position[v.owner], v.index) if v.owner is not None else v

    table = []
    for node in nodes:
        outputs = [(v.type, {k: a for k, a in v.__dict__.items() if k not in _STRUCTURE})
                   for v in node.outputs]
        table.append((node.op, [ref(v) for v in node.inputs], outputs, node.trace))
    return table, _walk(obj, ref)


def unpack(table, skeleton):
    """The object ``pack`` saved, its nodes built again (the ops are not asked to
    check their inputs again: these nodes were valid when saved)."""
    built = []
    leaves = {}

    def resolve(v):
        if isinstance(v, _Slot):
            return built[v.node].outputs[v.index]
        leaves[id(v)] = v
        return v

    for op, inputs, outputs, trace in table:
        node = Apply(op, [resolve(v) for v in inputs], [t for t, _ in outputs], trace=trace or ())
        for var, (_, attributes) in zip(node.outputs, outputs):
            var.__dict__.update(attributes)
        built.append(node)
    obj = _walk(skeleton, resolve)
    for v in leaves.values():
        if isinstance(v, Constant):
            v.data.setflags(write=False)   # as Constant.__init__ leaves it
    _ids_after(max((v.id for v in leaves.values()), default=-1))
    return obj


def _ids_after(last):
    """Variables made from now on get ids above ``last``.  The loaded inputs keep
    their ids, which order a graph's inputs (graph.graph_inputs): the function
    built again is the same program, found in the disk cache."""
    start = next(graph._counter)
    graph._counter = itertools.count(max(start, last + 1))
