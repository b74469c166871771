"""From an optimized FunctionGraph to a Program: its Plan (plan.py), plus what
the caller needs to pass arguments and read results.  Target-neutral: it
imports no Numba (tests/test_layers.py checks it); numba_cpu/emit.py turns
the plan into the CPU program's source.

The driver decides, once per graph, what the lowerings then follow: which
elementwise nodes are computed inside their one consumer (a reduction), which
updates are written in place and which matrix products are absorbed into
them (inplace.py), and in which order the nodes run (in-place ones last,
their checks before their first write).
"""
import importlib
import os
import pkgutil
import re
from dataclasses import dataclass, field

import numpy as np

from ..graph import Apply, Constant
from ..ops.elemwise import Elemwise
from ..ops.reduce import Reduce
from .codegen import Array, CodeGen, LoweringError, constant_ref, lowering_in
from .inplace import plan_inplace
from .lowering import DotRef, ElemRef
from .plan import Alloc, Plan


def _lowering_tables():
    """The ``LOWERINGS`` table of lowering.py and of every ``lower_*.py`` module
    of this package: a new module of lowerings needs no line here."""
    here = [os.path.dirname(os.path.abspath(__file__))]
    names = ["lowering"] + sorted(m.name for m in pkgutil.iter_modules(here)
                                  if m.name.startswith("lower_"))
    for name in names:
        yield importlib.import_module(f"{__package__}.{name}").LOWERINGS


# every op's lowering, by op class
LOWERINGS = {cls: fn for table in _lowering_tables() for cls, fn in table.items()}


@dataclass
class Program:
    plan: Plan
    nodes: list                 # Apply nodes by id, for error messages
    const_args: list            # passed after the graph inputs: constant arrays
    # per graph output: ("ret", k, dtype of a 0-d result or None), ("const", data), or
    # ("input", position) for an update written into that argument
    outputs: list
    inplace: list = field(default_factory=list)   # input positions written in place
    # (output position, dtype) of each result whose buffer the caller may hand
    # back for reuse, in the order of the rec<k> parameters (after the constants)
    recycle: list = field(default_factory=list)
    # kind of parallel loop ("compute", "memory", "blas") -> Python expression of the
    # arguments arg<i>: the largest such loop (absent: none whose size the
    # arguments' shapes give)
    parallel_sizes: dict = field(default_factory=dict)
    # the target's rendering of the plan (numba_cpu/emit.py), once made
    source: str = None


_ARG_LENGTH = re.compile(r"arg(\d+)\.shape\[\d+\]")


def _of_arguments(dim, n_in):
    """Whether the length ``dim`` (a source expression) is arithmetic on the
    lengths of the arguments ``arg<i>``: then a call can compute it."""
    if any(int(m.group(1)) >= n_in for m in _ARG_LENGTH.finditer(dim)):
        return False
    rest = _ARG_LENGTH.sub("0", dim)
    return re.fullmatch(r"[\d\s()+\-*/,]*", re.sub(r"\b(max|min)\(", "(", rest)) is not None


def _parallel_sizes(loops, n_in):
    """For each kind of parallel loop, the size of the largest one as an
    expression of the arguments' shapes, among the loops whose lengths a call
    can compute from its arguments."""
    out = {}
    for kind in ("compute", "memory", "blas"):
        sizes = [" * ".join(d if _ARG_LENGTH.fullmatch(d) or d.isdigit() else f"({d})"
                            for d in dims)
                 for k, dims in loops if k == kind and all(_of_arguments(d, n_in) for d in dims)]
        if sizes:
            out[kind] = sizes[0] if len(sizes) == 1 else f"max({', '.join(sizes)})"
    return out


def generate(fgraph, update_pairs=(), debug=False, target="cpu"):
    """The Program for ``fgraph``.  ``update_pairs``: (output, input) positions
    of the updates, which may be written in place (inplace.py).  ``debug`` also
    returns every node's outputs (and writes nothing in place).  ``target``:
    "gpu" asks the lowerings that have a choice for independent loops (one
    thread each) over sequential accumulation (lower_reduce.py)."""
    nodes = fgraph.toposort()
    missing = sorted({str(n.op) for n in nodes if lowering_in(LOWERINGS, n.op) is None})
    if missing:
        raise LoweringError(
            f"the Numba backend has no lowering for op(s) {', '.join(missing)}; "
            f"use mode='python' for this function or add a lowering to symgraph/compile/")
    cg = CodeGen(fgraph, {"debug": debug, "target": target}, LOWERINGS)
    n_in = len(fgraph.inputs)
    params = [f"arg{i}" for i in range(n_in)]
    for i, var in enumerate(fgraph.inputs):
        if var.ndim == 0:
            cg.refs[var] = cg.assign(f"arg{i}[()]", var.dtype)
        else:
            cg.refs[var] = Array(f"arg{i}", var.dtype, var.ndim, root=var)

    inplace = cg.inplace = None if debug else plan_inplace(fgraph, nodes, update_pairs)
    # elementwise nodes read only by one reduction are computed inside its loop
    inline = set() if debug else {
        n for n in nodes if isinstance(n.op, Elemwise) and n.outputs[0].ndim > 0
        and (inplace is None or n not in inplace.deferred)
        and [isinstance(c, Apply) and isinstance(c.op, Reduce)
             for c, _ in fgraph.clients.get(n.outputs[0], [])] == [True]}
    deferred = inplace.deferred if inplace else {}
    order = [n for n in nodes if n not in deferred] + [n for n in nodes if n in deferred]
    ids = {node: k for k, node in enumerate(nodes)}

    def lower(node):
        cg.node, cg.node_id = node, ids[node]
        for var in node.inputs:
            if var not in cg.refs and isinstance(var, Constant):
                cg.refs[var] = constant_ref(cg, var)
        refs = [cg.refs.get(v) for v in node.inputs]
        if node in inline:
            cg.emit(f"# node {ids[node]}: {node.op} (inside its reduction)")
            cg.refs[node.outputs[0]] = ElemRef(cg, node, refs)
            cg.flush_checks()
            return
        if inplace and node in inplace.absorbed:
            # computed inside the node that consumes it (see inplace.py)
            cg.refs[node.outputs[0]] = DotRef(cg, refs[0], refs[1], node.outputs[0].dtype)
            return
        cg.emit(f"# node {ids[node]}: {node.op}")
        outs = cg.lowering_for(node.op)(cg, node, refs)
        cg.flush_checks()
        for var, ref in zip(node.outputs, outs):
            cg.refs[var] = ref

    for node in order:
        if node in deferred:
            break
        lower(node)
    protect_from = len(cg.steps)   # in-place updates and results stay together
    if deferred:
        # every check of the in-place nodes runs before the first write, so a
        # failing call leaves the shared buffers as they were
        checks, start = [], len(cg.steps)
        with cg.checks_to(checks):
            for node in order[len(order) - len(deferred):]:
                lower(node)
        cg.steps[start:start] = checks

    outputs, returned = [], []
    target_slots = {out_pos: in_pos for out_pos, in_pos in update_pairs
                    if inplace and in_pos in inplace.targets}
    seen = set()
    for k, var in enumerate(fgraph.outputs):
        if isinstance(var, Constant):
            outputs.append(("const", np.array(var.data)))
            continue
        if k in target_slots:
            # written in place: the caller has the array already
            outputs.append(("input", target_slots[k]))
            continue
        ref = cg.refs[var]
        if ref.ndim == 0:
            returned.append(ref.at([]))
            outputs.append(("ret", len(returned) - 1, var.dtype))
            continue
        arr = cg.as_array(ref)
        # a result is the caller's own array: no view of an argument, a shared value,
        # a constant or another result (an in-place update returns its own buffer)
        if not debug and (arr.root is not None or arr.buffer in seen):
            name = cg.fresh("r")
            cg.emit(f"{name} = {arr.name}.copy()")
            arr = Array(name, arr.dtype, arr.ndim, owned=True)
        seen.add(arr.buffer)
        returned.append(arr.name)
        outputs.append(("ret", len(returned) - 1, None))
    if debug:
        for node in nodes:
            for var in node.outputs:
                ref = cg.refs[var]
                returned.append(ref.at([]) if ref.ndim == 0 else cg.as_array(ref).name)
    cg.flush_checks()

    params += [f"cst{j}" for j in range(len(cg.const_args))]
    recycle = [] if debug or target != "cpu" else _recyclable(cg.steps, outputs, returned)
    params += [step.reuse for _, step in recycle]
    plan = Plan(steps=cg.steps, params=params, returns=returned, protect_from=protect_from,
                 scalar_dtypes=cg.scalar_dtypes, parallel_loops=cg.parallel_loops)
    return Program(plan=plan, nodes=nodes, const_args=cg.const_args,
                   parallel_sizes=_parallel_sizes(cg.parallel_loops, n_in),
                   outputs=outputs, inplace=inplace.targets if inplace else [],
                   recycle=[(k, step.dtype) for k, step in recycle])


def _recyclable(steps, outputs, returned):
    """(output position, Alloc step) of the results allocated at the top level
    of the program, each Alloc now reading a buffer to reuse from a parameter
    rec<j> (numba_cpu/recycle.py hands back the caller's dropped results)."""
    allocs = {step.name: step for step in steps if isinstance(step, Alloc)}
    found = []
    for k, (kind, *spec) in enumerate(outputs):
        if kind == "ret" and spec[1] is None and returned[spec[0]] in allocs:
            step = allocs.pop(returned[spec[0]])
            step.reuse = f"rec{len(found)}"
            found.append((k, step))
    return found
