"""The lowering machinery: from graph values to the steps of a Plan (plan.py).

generate.py drives it: each node's lowering (lowering.py, lower_*.py) adds
steps through a ``CodeGen`` and returns how its outputs are read.  Nothing
here knows a target: numba_cpu/emit.py renders the plan for the CPU.

Every variable of the graph becomes a ``Ref``, which says how generated code
reads it:
    Scalar  a 0-d value held in a native Numba scalar (a name or a literal)
    Array   a NumPy array held in a name
    View    another Ref seen through an axis map (dimshuffle, rebroadcast):
            consumers index the base directly, so no view object exists
    ElemRef, DotRef (lowering.py)  an elementwise result or a matrix product
            computed inside its one consumer (a reduction; an in-place update)
Lowerings (lowering.py, lower_reduce.py, lower_shape.py, lower_indexing.py,
lower_map.py) are registered per op class in their module's ``LOWERINGS``
table (``register = registrar(LOWERINGS)``; generate.py collects every
``lower_*.py`` module);
each adds steps and returns one Ref per output.  Op fields enter the
statements only as literals.

Arrays know their lengths as source expressions (``arg0.shape[1]``), so equal
lengths read the same and checks between them are left out; the remaining
checks of a node become one ``if``.  A runtime failure raises with the text
``[node K]`` (K: the node's position in ``Program.nodes``) so the caller can
name the node and the user's line.
"""
import contextlib

import numpy as np

from ..graph import Constant, toposort
from .plan import Alloc, Block, Call, Check, Effect, Line, Loop

# ------------------------------------------------------------------ registry
def registrar(table):
    """``register = registrar(LOWERINGS)``; then ``@register(Sum)`` puts
    ``fn(cg, node, refs) -> [Ref per output]`` in ``table`` as Sum's lowering."""
    def register(*op_classes):
        def wrap(fn):
            for cls in op_classes:
                table[cls] = fn
            return fn
        return wrap
    return register


def lowering_in(table, op):
    """The lowering of ``op`` in ``table``: its class's, or a base class's."""
    for cls in type(op).__mro__:
        if cls in table:
            return table[cls]
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


# ------------------------------------------------------------------ the plan builder
class CodeGen:
    """Collects the steps of a plan (plan.py) while the nodes are lowered."""

    def __init__(self, fgraph, options, lowerings):
        self.fgraph = fgraph
        self.options = options
        self.lowerings = lowerings
        self.steps = []          # the plan's top-level steps
        self._body = self.steps  # where steps go now (a block's or loop's body inside it)
        self.refs = {}
        self.counter = 0
        self.node = None
        self.node_id = -1
        self.const_args = []
        self.inplace = None       # the InplacePlan (inplace.py), or None
        # (kind, dims) of the loops worth running on several threads when large
        self.parallel_loops = []
        self.scalar_dtypes = {}   # name -> dtype of the scalars made by assign()
        self._check_target = None
        self._pending = []     # checks not yet written: (exception, condition, message)

    # -- names and steps
    def fresh(self, prefix="t"):
        # argument names are arg<i> and cst<j>; these prefixes never collide with them
        assert prefix not in ("arg", "cst")
        self.counter += 1
        return f"{prefix}{self.counter}"

    def emit(self, *lines):
        """Statements, in order (a line may hold an inner loop's text)."""
        self.flush_checks()
        self._body.extend(Line(line) for line in lines)

    def call(self, routine, *args, otherwise=None, parallel_dims=None):
        """A library routine (plan.Call).  ``parallel_dims``: the lengths of
        the work a target may split among threads (the matrix of a gemv)."""
        self.flush_checks()
        self._body.append(Call(routine, list(args), otherwise))
        if parallel_dims:
            self.parallel_loops.append(("blas", list(parallel_dims)))

    def effect(self, module, name, *args):
        """A call back into Python for its effect (plan.Effect)."""
        self.flush_checks()
        self._body.append(Effect(module, name, list(args)))

    @contextlib.contextmanager
    def block(self, header):
        self.flush_checks()
        block = Block(header, [])
        self._body.append(block)
        outer, self._body = self._body, block.body
        yield
        self.flush_checks()
        self._body = outer

    @contextlib.contextmanager
    def checks_to(self, target):
        """Send checks to the list ``target`` instead of the current body."""
        old, self._check_target = self._check_target, target
        yield
        self._check_target = old

    def lowering_for(self, op):
        return lowering_in(self.lowerings, op)

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
            text = f"[node {self.node_id}] {str(self.node.op)}: {message}"
            if self._check_target is None:
                self._body.append(Check(exc, condition, text))
            else:
                # deferred in-place nodes: every check runs before the first write;
                # hoisted checks may only use values computed before those nodes
                assert self._body is self.steps, "a check inside a block cannot be hoisted"
                self._check_target.append(Check(exc, condition, text))

    # -- values
    def assign(self, expr, dtype):
        """A Scalar holding ``expr`` in a fresh name."""
        name = self.fresh("s")
        self.scalar_dtypes[name] = str(dtype)
        self.emit(f"{name} = {cast(expr, dtype)}")
        return Scalar(name, dtype)

    def alloc(self, dims, dtype, prefix="v"):
        """A fresh, uninitialized array."""
        name = self.fresh(prefix)
        self.flush_checks()
        self._body.append(Alloc(name, list(dims), str(dtype)))
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
        ``parallel``: "compute" (or True) or "memory", a loop whose iterations are
        independent and worth threads when large (plan.Loop)."""
        self.flush_checks()
        indices = [None if d == "1" else self.fresh("i") for d in dims]
        idx = ["0" if i is None else i for i in indices]
        active = [d for d in dims if d != "1"]
        parallel = ("compute" if parallel is True else parallel) if active else False
        if parallel:
            self.parallel_loops.append((parallel, active))
        loop = Loop(indices, list(dims), [], parallel)
        outer, self._body = self._body, loop.body
        self._body.extend(Line(line) for line in body(idx))
        self.flush_checks()
        self._body = outer
        self._body.append(loop)

    def ref(self, var):
        return self.refs[var]

    def inplace_target(self, node, refs):
        """The input Array a deferred node overwrites (inplace.py), or None."""
        pos = self.inplace.deferred.get(node) if self.inplace else None
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


# ------------------------------------------------------------------ inner graphs
def lower_inner(cg, outputs, where):
    """Lower the nodes computing ``outputs`` of an op's inner graph (scan, map_rows,
    ifelse), its placeholders already bound in ``cg.refs``; one Ref per output."""
    for node in toposort(list(outputs)):
        for v in node.inputs:
            if v not in cg.refs and isinstance(v, Constant):
                cg.refs[v] = constant_ref(cg, v)
        lowered = cg.lowering_for(node.op)
        if lowered is None:
            raise LoweringError(f"the Numba backend has no lowering for op(s) {node.op} "
                                f"(inside {where})")
        for v, ref in zip(node.outputs, lowered(cg, node, [cg.refs[v] for v in node.inputs])):
            cg.refs[v] = ref
    return [cg.refs[v] if not isinstance(v, Constant) else constant_ref(cg, v) for v in outputs]


def bind_row(cg, inner, source, index, arr):
    """Bind the placeholder ``inner`` to row ``index`` of the array ``source``."""
    if inner.ndim == 0:
        cg.refs[inner] = cg.assign(f"{source}[{index}]", inner.dtype)
    else:
        row = cg.fresh("w")
        cg.emit(f"{row} = {source}[{index}]")
        cg.refs[inner] = Array(row, inner.dtype, inner.ndim, root=arr.root, buffer=arr.buffer,
                               layout="C" if arr.layout == "C" else "A")
