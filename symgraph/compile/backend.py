"""What ``function`` asks of a backend, and the backends by mode name.

A backend is a function ``compile(fgraph, update_pairs=(), debug=False)``:

- ``fgraph``: the optimized graph; its inputs are the function's inputs
  followed by the shared variables it uses.
- ``update_pairs``: (output position, input position) for each update, the
  new value of that shared variable (a backend may write it in place, see
  inplace.py; the reference backend ignores them).
- ``debug``: the program also returns every node's outputs (in the order of
  ``Compiled.nodes``) after the graph's outputs, and writes nothing in place.
  ``mode='debug'`` (debug.py) compares them with the ops' ``perform``.

It returns a ``Compiled``.  ``function.py`` and ``debug.py`` use nothing else.
"""
import importlib
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass(eq=False)
class Compiled:
    """One graph, compiled by one backend."""

    # values (inputs, then shared values) -> one array per graph output
    run: Callable
    # the nodes in the order their outputs follow the graph outputs (debug=True)
    nodes: list = field(default_factory=list)
    # results never alias the arguments, shared values, constants or each other,
    # except an update written in place, which is its shared value's buffer
    owns_results: bool = False
    # what Function's generated fast path calls, or None
    fast: Optional["FastPath"] = None
    # fgraph input positions whose buffer the program writes (inplace.py)
    inplace: tuple = ()
    # positions in ``fast[1]`` of the constants an in-place target could share memory with
    open_consts: tuple = ()
    # what the program is, for messages, tests and the cache (None when not generated)
    key: Optional[str] = None
    path: Optional[str] = None
    program: object = None
    dispatcher: object = None
    # the arguments for shared variables are their device copies, and the updates
    # come back as device arrays (mode='cuda'; shared.py keeps the copies)
    device_values: bool = False
    upload: Optional[Callable] = None     # host array -> device array, when device_values
    # the parallel variant, once compiled (numba_cpu.py), and what compiles it
    # ahead of the first call that needs it (None: the program has none)
    threaded: list = field(default_factory=list)
    load_parallel: Optional[Callable] = None
    # the thread of a helper compiling the parallel variant, once started
    compiling: list = field(default_factory=list)
    # seconds by stage ("code generation", "LLVM") and where the machine code came
    # from ("source"), for profiles (profile.py); empty when nothing is generated
    timings: dict = field(default_factory=dict)

    def __call__(self, values):
        return self.run(values)


@dataclass(eq=False)
class FastPath:
    """``program(*values, *consts, *recs)`` returns a call's results, which
    ``result_exprs(outputs, ...)`` reads; ``recs`` come from
    ``recycler.take()`` and the results are handed to ``recycler.give`` when
    there is one (numba_cpu/recycle.py).  Calls for
    which ``large`` (an expression of the values ``arg<i>``) holds need the
    parallel variant: the first one takes ``run``, which compiles it into
    ``threaded``, and the later ones call it there."""
    program: Callable
    consts: tuple
    recycler: object = None
    large: Optional[str] = None
    outputs: list = field(default_factory=list)   # generate.Program.outputs
    threaded: list = field(default_factory=list)  # the parallel variant, once compiled


# the dtypes whose 0-d results the program returns as the Python numbers NumPy
# reads back as them: no dtype to pass (it costs ~40 ns on a 0.4 µs call)
_NATIVE = ("float64", "int64", "bool")


def result_exprs(outputs, value, names):
    """Python expressions of a call's results, from the program's returned tuple
    ``r``: per ``generate.Program.outputs`` entry, a returned array, a 0-d
    result made an array, a constant's copy, or the argument an update was
    written into (``value(i)`` names argument i).  ``names`` gets what they use."""
    names["array"] = np.array
    exprs = []
    for k, (kind, *spec) in enumerate(outputs):
        if kind == "ret" and spec[1] is None:
            exprs.append(f"r[{spec[0]}]")
        elif kind == "ret" and str(spec[1]) in _NATIVE:
            exprs.append(f"array(r[{spec[0]}])")
        elif kind == "ret":
            names[f"dtype{k}"] = np.dtype(spec[1])
            exprs.append(f"array(r[{spec[0]}], dtype{k})")
        elif kind == "const":
            names[f"const{k}"] = spec[0]
            exprs.append(f"array(const{k})")
        else:
            exprs.append(value(spec[0]))
    return exprs


# mode -> (module, function); imported when first used: the Numba backends cost
# a Numba import (~0.5 s), which a user of mode='python' never pays
BACKENDS = {
    "python": ("symgraph.compile.python", "compile_python"),
    "numba": ("symgraph.compile.numba_cpu", "compile_numba"),
    "debug": ("symgraph.compile.debug", "compile_debug"),
    "cuda": ("symgraph.compile.numba_cuda", "compile_cuda"),
}


def backend(mode):
    """The compile function of ``mode``."""
    if mode not in BACKENDS:
        choices = ", ".join(repr(m) for m in [*BACKENDS])
        raise ValueError(f"unknown mode {mode!r}; choose one of {choices}")
    module, name = BACKENDS[mode]
    return getattr(importlib.import_module(module), name)
