"""From an optimized FunctionGraph to the source of ONE Python function that
Numba compiles once (numba_cpu.py compiles and caches it).

Every variable of the graph becomes a ``Ref``, which says how generated code
reads it:
    Scalar  a 0-d value held in a native Numba scalar (a name or a literal)
    Array   a NumPy array held in a name
    View    another Ref seen through an axis map (dimshuffle, rebroadcast):
            consumers index the base directly, so no view object exists
    ElemRef, DotRef (lowering.py)  an elementwise result or a matrix product
            computed inside its one consumer (a reduction; an in-place update)
Lowerings (lowering.py, lower_reduce.py, lower_shape.py, lower_indexing.py, lower_map.py) are registered per op
class with ``@register(OpClass)``; each appends source lines to the CodeGen and
returns one Ref per output.  Op fields enter the source only as literals.

Arrays know their lengths as source expressions (``arg0.shape[1]``), so equal
lengths read the same and checks between them are left out; the remaining
checks of a node become one ``if``.  A runtime failure raises with the text
``[node K]`` (K: the node's position in ``Program.nodes``) so the caller can
name the node and the user's line.
"""
import contextlib
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from ..graph import Apply, Constant
from ..ops.elemwise import Elemwise
from ..ops.reduce import Reduce
from .chunks import chunked_source

# compute-bound loops (exp, tanh, ...) of at least this many iterations run on
# all cores (prange) in the program's parallel variant, which numba_cpu.py uses
# when the arguments are that large: smaller loops cost more to wake threads for
# than they save, and memory-bound loops gain nothing (one core saturates memory)
PARALLEL_MIN_SIZE = 1 << 18

# ------------------------------------------------------------------ registry
_LOWERINGS = {}


def register(*op_classes):
    """``@register(Sum)``: ``fn(cg, node, refs) -> [Ref per output]`` lowers that op."""
    def wrap(fn):
        for cls in op_classes:
            _LOWERINGS[cls] = fn
        return fn
    return wrap


def lowering_for(op):
    for cls in type(op).__mro__:
        if cls in _LOWERINGS:
            return _LOWERINGS[cls]
    return None


class LoweringError(NotImplementedError):
    """An op the Numba backend cannot compile (raised at compile time)."""


# ------------------------------------------------------------------ literals and dtypes
def np_dtype(dtype):
    """The source text naming a dtype inside generated code."""
    return "np.bool_" if str(dtype) == "bool" else f"np.{dtype}"


def cast(expr, dtype):
    return f"{np_dtype(dtype)}({expr})"


def literal(value, dtype):
    """Source text for a scalar constant of ``dtype`` (exact, including inf and nan)."""
    dtype = str(dtype)
    if dtype == "bool":
        return "True" if bool(value) else "False"
    if np.dtype(dtype).kind == "f":
        v = float(value)
        text = {np.inf: "np.inf", -np.inf: "-np.inf"}.get(v, repr(v)) if v == v else "np.nan"
        return cast(text, dtype)
    return cast(repr(int(value)), dtype)


# ------------------------------------------------------------------ refs
class Ref:
    dtype: str
    ndim: int
    # the graph input, shared variable or constant whose memory this value may share
    root = None
    # names the memory behind an array: views carry their base's
    buffer = None
    # a fresh array that only this program holds: later nodes may write into it
    owned = False

    def load(self, idx):
        """(statements, expression) reading the element at index expressions ``idx``."""
        return [], self.at(idx)


class Scalar(Ref):
    ndim = 0

    def __init__(self, expr, dtype):
        self.expr, self.dtype = expr, str(dtype)

    def at(self, idx):
        return self.expr

    def dim(self, k):
        raise IndexError("a scalar has no axes")


class Array(Ref):
    def __init__(self, name, dtype, ndim, root=None, owned=False, buffer=None, layout="C",
                 dims=None):
        self.name, self.dtype, self.ndim = name, str(dtype), ndim
        # source expressions of the lengths, when known: equal lengths then read
        # the same, and checks between them are left out
        self.dims = list(dims) if dims is not None else None
        self.root, self.owned, self.buffer = root, owned, buffer or name
        # "C" or "F" when the memory order is known here (arguments arrive
        # C-contiguous, see numba_cpu.py), "A" when it is not
        self.layout = layout if ndim > 1 else ("C" if layout in ("C", "F") else layout)

    def at(self, idx):
        return f"{self.name}[{', '.join(idx)}]"

    def dim(self, k):
        return self.dims[k] if self.dims is not None else f"{self.name}.shape[{k}]"


class View(Ref):
    """``axes[k]`` is the base axis behind axis k, or None for a new length-1 axis.
    Base axes that are not listed (dropped, length 1) are read at index 0."""

    def __init__(self, base, axes):
        self.base, self.axes = base, tuple(axes)
        self.dtype, self.ndim, self.root = base.dtype, len(self.axes), base.root

    def _base_index(self, idx):
        base_idx = ["0"] * self.base.ndim
        for k, a in enumerate(self.axes):
            if a is not None:
                base_idx[a] = idx[k]
        return base_idx

    def at(self, idx):
        return self.base.at(self._base_index(idx))

    def load(self, idx):
        return self.base.load(self._base_index(idx))

    def dim(self, k):
        a = self.axes[k]
        return "1" if a is None else self.base.dim(a)

    @property
    def is_transpose(self):
        kept = [a for a in self.axes if a is not None]
        return len(kept) == self.ndim == self.base.ndim


def view(ref, axes):
    """A View of ``ref``, composing with an existing view."""
    if isinstance(ref, View):
        return View(ref.base, [None if a is None else ref.axes[a] for a in axes])
    return View(ref, axes)


# ------------------------------------------------------------------ program
@dataclass
class Program:
    source: str
    nodes: list                 # Apply nodes by id, for error messages
    arg_inputs: int             # the first arguments are the graph inputs
    const_args: list            # then these constant arrays
    # per graph output: ("ret", k, dtype of a 0-d result or None), ("const", data), or
    # ("input", position) for an update written into that argument
    outputs: list
    inplace: list = field(default_factory=list)   # input positions written in place
    debug: bool = False
    # Python expression of the arguments arg<i>: the largest compute-bound loop
    # (None: none whose size the arguments' shapes give)
    parallel_size: str = None


class CodeGen:
    """Collects the lines of the generated function."""

    def __init__(self, fgraph, options):
        self.fgraph = fgraph
        self.options = options
        self.lines = []
        self.indent = 1
        self.refs = {}
        self.counter = 0
        self.node = None
        self.node_id = -1
        self.const_args = []
        self.plan = None
        self.costly_loops = []    # dims of the loops worth running on several threads
        self.scalar_dtypes = {}   # name -> dtype of the scalars made by assign()
        self._check_target = None
        self._pending = []     # checks not yet written: (exception, condition, message)

    # -- names and lines
    def fresh(self, prefix="t"):
        # argument names are arg<i> and cst<j>; these prefixes never collide with them
        assert prefix not in ("arg", "cst")
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, *lines):
        self.flush_checks()
        pad = "    " * self.indent
        self.lines.extend(pad + line for line in lines)

    @contextlib.contextmanager
    def block(self, header):
        self.emit(header)
        self.indent += 1
        yield
        self.flush_checks()
        self.indent -= 1

    @contextlib.contextmanager
    def checks_to(self, target):
        """Send check lines (``emit_check``) to ``target`` instead of the main body."""
        old, self._check_target = self._check_target, target
        yield
        self._check_target = old

    def emit_check(self, *lines):
        """Lines that validate shapes: deferred in-place nodes run all of them
        before the first write."""
        pad = "    " * self.indent
        if self._check_target is None:
            self.lines.extend(pad + line for line in lines)
        else:
            # hoisted lines may only use values computed before the deferred nodes
            assert self.indent == 1, "a check inside a block cannot be hoisted"
            self._check_target.extend(pad + line for line in lines)

    def fail(self, exc, message):
        """A raise statement naming the current node."""
        text = f"[node {self.node_id}] {str(self.node.op)}: {message}"
        return f"raise {exc}({text!r})"

    def check_same(self, a, b, exc, message):
        """Check that two lengths are equal, unless they read the same."""
        if a != b:
            self.check(f"{a} != {b}", exc, message)

    def check(self, condition, exc, message):
        """Raise ``exc`` when ``condition`` holds.  The checks before the next
        statement become one ``if`` per exception type: every branch and raise
        makes Numba's compile slower."""
        self._pending.append((exc, condition, message))

    def flush_checks(self):
        pending, self._pending = self._pending, []
        for exc in dict.fromkeys(e for e, _, _ in pending):
            group = [(c, m) for e, c, m in pending if e == exc]
            condition = " | ".join(f"({c})" for c, _ in group) if len(group) > 1 else group[0][0]
            message = "; ".join(dict.fromkeys(m for _, m in group))
            self.emit_check(f"if {condition}:", "    " + self.fail(exc, message))

    # -- values
    def assign(self, expr, dtype):
        """A Scalar holding ``expr`` in a fresh name."""
        name = self.fresh("s")
        self.scalar_dtypes[name] = str(dtype)
        self.emit(f"{name} = {cast(expr, dtype)}")
        return Scalar(name, dtype)

    def alloc(self, dims, dtype, prefix="v"):
        """A fresh, uninitialized array (huge pages when large)."""
        name = self.fresh(prefix)
        shape = "(" + "".join(f"{d}, " for d in dims) + ")"
        self.emit(f"{name} = np.empty({shape}, {np_dtype(dtype)})")
        if sys.platform.startswith("linux"):
            self.emit(f"advise_huge({name})")
        return Array(name, dtype, len(dims), owned=True, dims=dims)

    def as_array(self, ref):
        """An Array with the value of ``ref`` (a real view where Numba has one, else a copy)."""
        if isinstance(ref, Array):
            return ref
        if isinstance(ref, View) and isinstance(ref.base, Array) and ref.is_transpose:
            name = self.fresh("w")
            if ref.axes == tuple(range(ref.ndim)):
                return ref.base
            layout = "A"
            if ref.axes == tuple(reversed(range(ref.ndim))):
                self.emit(f"{name} = {ref.base.name}.T")
                layout = {"C": "F", "F": "C"}.get(ref.base.layout, "A")
            else:
                self.emit(f"{name} = np.transpose({ref.base.name}, {tuple(ref.axes)!r})")
            return Array(name, ref.dtype, ref.ndim, root=ref.root, buffer=ref.base.buffer,
                         layout=layout, dims=[ref.dim(k) for k in range(ref.ndim)])
        out = self.alloc([ref.dim(k) for k in range(ref.ndim)], ref.dtype)
        self.loops([ref.dim(k) for k in range(ref.ndim)],
                   lambda idx: _store(out, idx, ref.load(idx)))
        return out

    def loops(self, dims, body, parallel=False):
        """A loop nest over ``dims``; ``body(index_names)`` returns the inner lines.
        ``parallel``: a compute-bound loop, which the program's parallel variant
        runs with prange when it has at least PARALLEL_MIN_SIZE iterations."""
        active = [d for d in dims if d != "1"]
        if parallel and active:
            self.costly_loops.append(active)
            if self.options.get("parallel"):
                size = " * ".join(f"({d})" for d in active)
                with self.block(f"if {size} >= {PARALLEL_MIN_SIZE}:"):
                    self._loop_nest(dims, body, "prange")
                with self.block("else:"):
                    self._loop_nest(dims, body, "range")
                return
        self._loop_nest(dims, body, "range")

    def _loop_nest(self, dims, body, outer):
        idx = []
        depth = 0
        for d in dims:
            if d == "1":
                idx.append("0")
                continue
            i = self.fresh("i")
            idx.append(i)
            self.emit(f"for {i} in {outer if depth == 0 else 'range'}({d}):")
            self.indent += 1
            depth += 1
        self.emit(*body(idx))
        self.flush_checks()
        self.indent -= depth

    def ref(self, var):
        return self.refs[var]

    def inplace_target(self, node, refs):
        """The input Array a deferred node overwrites (inplace.py), or None."""
        pos = self.plan.deferred.get(node) if self.plan else None
        return None if pos is None else refs[pos]


def _store(out, idx, loaded):
    lines, expr = loaded
    return lines + [f"{out.at(idx)} = {expr}"]


def constant_ref(cg, var):
    data = var.data
    if data.size == 1:
        # inline: a literal seen through length-1 axes
        scalar = Scalar(literal(data.reshape(-1)[0], var.dtype), var.dtype)
        return scalar if data.ndim == 0 else View(scalar, [None] * data.ndim)
    name = f"cst{len(cg.const_args)}"
    cg.const_args.append(np.ascontiguousarray(data))
    return Array(name, var.dtype, data.ndim, root=var)


def _parallel_size(loops, n_in):
    """The size of the largest compute-bound loop, as an expression of the
    arguments' shapes, for the loops whose lengths are argument lengths."""
    known = re.compile(r"arg(\d+)\.shape\[\d+\]|\d+")
    sizes = [" * ".join(dims) for dims in loops
             if all(known.fullmatch(d) and (not d.startswith("arg")
                                           or int(known.fullmatch(d).group(1)) < n_in)
                    for d in dims)]
    if not sizes:
        return None
    return sizes[0] if len(sizes) == 1 else f"max({', '.join(sizes)})"


# ------------------------------------------------------------------ driver
def generate(fgraph, update_pairs=(), debug=False, parallel=False):
    """The Program for ``fgraph``.  ``update_pairs``: (output, input) positions
    of the updates, which may be written in place (inplace.py).  ``debug`` also
    returns every node's outputs (and writes nothing in place); ``parallel``
    makes the variant whose costly elementwise loops are pranges (numba_cpu.py
    runs it on large inputs)."""
    # the lowerings register themselves per op class; imported here, late, because
    # they import this module's Ref classes
    from . import lower_indexing, lower_map, lower_reduce, lower_shape  # noqa: F401
    from .inplace import plan_inplace
    from .lowering import DotRef, ElemRef

    nodes = fgraph.toposort()
    missing = sorted({str(n.op) for n in nodes if lowering_for(n.op) is None})
    if missing:
        raise LoweringError(
            f"the Numba backend has no lowering for op(s) {', '.join(missing)}; "
            f"use mode='python' for this function or add a lowering to symgraph/compile/")
    cg = CodeGen(fgraph, {"debug": debug, "parallel": parallel})
    n_in = len(fgraph.inputs)
    params = [f"arg{i}" for i in range(n_in)]
    for i, var in enumerate(fgraph.inputs):
        if var.ndim == 0:
            cg.refs[var] = cg.assign(f"arg{i}[()]", var.dtype)
        else:
            cg.refs[var] = Array(f"arg{i}", var.dtype, var.ndim, root=var)

    plan = cg.plan = None if debug else plan_inplace(fgraph, nodes, update_pairs)
    # elementwise nodes read only by one reduction are computed inside its loop
    inline = set() if debug else {
        n for n in nodes if isinstance(n.op, Elemwise) and n.outputs[0].ndim > 0
        and (plan is None or n not in plan.deferred)
        and [isinstance(c, Apply) and isinstance(c.op, Reduce)
             for c, _ in fgraph.clients.get(n.outputs[0], [])] == [True]}
    deferred = plan.deferred if plan else {}
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
        if plan and node in plan.absorbed:
            # computed inside the node that consumes it (see inplace.py)
            cg.refs[node.outputs[0]] = DotRef(cg, refs[0], refs[1], node.outputs[0].dtype)
            return
        cg.emit(f"# node {ids[node]}: {node.op}")
        outs = lowering_for(node.op)(cg, node, refs)
        cg.flush_checks()
        for var, ref in zip(node.outputs, outs):
            cg.refs[var] = ref

    for node in order:
        if node in deferred:
            break
        lower(node)
    protect_from = len(cg.lines)   # in-place updates and results: one chunk (chunks.py)
    if deferred:
        # every check of the in-place nodes runs before the first write, so a
        # failing call leaves the shared buffers as they were
        checks, start = [], len(cg.lines)
        with cg.checks_to(checks):
            for node in order[len(order) - len(deferred):]:
                lower(node)
        cg.lines[start:start] = checks

    outputs, returned = [], []
    target_slots = {out_pos: in_pos for out_pos, in_pos in update_pairs
                    if plan and in_pos in plan.targets}
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
    cg.emit("return (" + "".join(r + ", " for r in returned) + ")")

    params += [f"cst{j}" for j in range(len(cg.const_args))]
    header = [
        "# generated by symgraph.compile.codegen: one program per compiled graph",
        "import math",
        "import numpy as np",
        "from numba import njit, prange",
        "from symgraph.compile.runtime import advise_huge, matmul, matvec, skinny_matmul",
        "from symgraph.compile.runtime import exp as fexp, expm1 as fexpm1, tanh as ftanh",
        "",
        "",
    ]
    options = "cache=True, nogil=True, error_model='numpy'" + (", parallel=True" if parallel else "")
    decorator = f"@njit({options})"
    source = "\n".join(header) + chunked_source(decorator, params, cg.lines, protect_from,
                                                cg.scalar_dtypes) + "\n"
    return Program(source=source, nodes=nodes, arg_inputs=n_in, const_args=cg.const_args,
                   parallel_size=_parallel_size(cg.costly_loops, n_in),
                   outputs=outputs, inplace=plan.targets if plan else [], debug=debug)
