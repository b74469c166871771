"""The plan: what one compiled graph does, as plain data, before any target.

``generate.py`` lowers the optimized graph to a ``Plan`` (the lowerings add
steps through ``codegen.CodeGen``); a target's emitter renders it.  The CPU
emitter (numba_cpu/emit.py) writes one ``@njit`` program, or chunks of one;
a GPU emitter renders the same steps as kernels and a host driver.

Statements inside steps are written in the scalar language both Numba
targets compile: Python syntax over ``math``, ``np``, the names a program
binds, and the intrinsics ``fexp``, ``fexpm1`` and ``ftanh`` (each target
binds them to its own exp, expm1 and tanh).  Nothing here imports Numba.
"""
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Line:
    """One statement (or a comment: ``# node K: op`` starts each node's steps)."""
    text: str


@dataclass
class Alloc:
    """``name`` = a new uninitialized array of the lengths ``dims`` (source
    expressions).  ``reuse``: a parameter holding a flat array of the caller's
    that may serve instead when its size fits (a result's recycled buffer)."""
    name: str
    dims: list
    dtype: str
    reuse: Optional[str] = None


@dataclass
class Loop:
    """A loop nest over ``dims``; ``indices[k]`` names axis k's index (``None``:
    a length-1 axis, read at 0).  ``parallel``: the iterations are independent
    and worth threads when there are many, ``"compute"`` (exp, tanh, ...) or
    ``"memory"`` (bound by memory bandwidth, worth threads only when larger:
    a target's emitter sets both thresholds); False: run in order."""
    indices: list
    dims: list
    body: list
    parallel: object = False


@dataclass
class Block:
    """A statement with a body: ``if``/``else`` or an inner loop, in the scalar language."""
    header: str
    body: list


@dataclass
class Check:
    """``raise exc(message)`` when ``condition`` holds; ``message`` names the node."""
    exc: str
    condition: str
    message: str


@dataclass
class Call:
    """A library routine on arrays: ``gemm(a, b, out, alpha, beta)``,
    ``gemv(mat, vec, out, alpha, beta, transposed)``.  ``skinny_gemm`` returns
    False when its operand is not sparse enough; ``otherwise`` runs then."""
    routine: str
    args: list
    otherwise: Optional["Call"] = None


@dataclass
class Effect:
    """Call the Python function ``name`` of ``module`` on ``args`` (source
    texts: literals and values of the program) for its effect, where the
    program is: ``sg.printing.Print``.  A target leaves its compiled code for
    the call (the CPU program through ``numba.objmode``)."""
    module: str
    name: str
    args: list


@dataclass
class Plan:
    """Everything an emitter needs for one graph."""
    steps: list                 # top-level steps, in order
    params: list                # argument names: arg<i> (graph inputs), then cst<j> (constants)
    returns: list               # expressions of the returned values, in order
    protect_from: int           # steps from here on (in-place updates, results) stay together
    scalar_dtypes: dict = field(default_factory=dict)   # scalar name -> dtype
    parallel_loops: list = field(default_factory=list)  # (kind, dims) of each parallel Loop


def walk(steps):
    """Every step, nested ones included, in order."""
    for step in steps:
        yield step
        yield from walk(getattr(step, "body", ()))
