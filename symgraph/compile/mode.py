"""Theano's modes: how a function's graph is optimized and which backend runs it.

    sg.function(ins, outs, mode=sg.Mode(linker="py", optimizer="fast_compile"))
    sg.function(ins, outs, mode="FAST_RUN")

A ``Mode`` pairs a linker (the backend) with an optimizer.  A mode name (the
``mode`` argument of ``function``, or ``sg.config.mode``) stands for a Mode:

==================  ==========  ===========================================
name                backend     optimizer
==================  ==========  ===========================================
``'numba'``         numba       ``sg.config.optimizer`` (default fast_run)
``'python'``        python      ``sg.config.optimizer``
``'debug'``         debug       ``sg.config.optimizer``
``'FAST_RUN'``      numba       fast_run
``'FAST_COMPILE'``  python      fast_compile: nothing is compiled, few rewrites
``'DebugMode'``     debug       ``sg.config.optimizer`` (also ``'DEBUG_MODE'``)
``'NanGuardMode'``  (python)    ``sg.config.optimizer``: nanguardmode.py
==================  ==========  ===========================================

Theano's linker names are read as the backend closest to them: ``'py'`` is
the python backend, the C linkers (``'cvm'``, ``'c'``, ``'c|py'``, ``'vm'``
and their ``_nogc`` forms) are the numba backend.
"""
from ..config import config
from ..optimize import optimize_fgraph
from .backend import BACKENDS, backend

OPTIMIZERS = ("fast_run", "fast_compile", "None")
THEANO_LINKERS = {"py": "python", "c": "numba", "c|py": "numba", "c|py_nogc": "numba",
                  "cvm": "numba", "cvm_nogc": "numba", "vm": "numba", "vm_nogc": "numba"}


def _linker(linker):
    if linker is None or linker in BACKENDS:
        return linker
    if linker in THEANO_LINKERS:
        return THEANO_LINKERS[linker]
    choices = ", ".join(repr(m) for m in [*BACKENDS, *THEANO_LINKERS])
    raise ValueError(f"Mode: unknown linker {linker!r}; choose one of {choices}")


def _optimizer(optimizer):
    if optimizer is None:   # Theano's Mode(optimizer=None): no rewriting
        return "None"
    if optimizer == "default" or optimizer in OPTIMIZERS:
        return optimizer
    raise ValueError(f"Mode: unknown optimizer {optimizer!r}; choose one of "
                     f"{', '.join(map(repr, OPTIMIZERS + ('default', None)))}")


class Mode:
    """How ``function`` optimizes and runs a graph (Theano's Mode).

    ``linker``: the backend, ``'numba'``, ``'python'``, ``'debug'`` (or a
    Theano linker name, ``'py'``, ``'cvm'``, ...); None: the backend of
    ``sg.config.mode``.  ``optimizer``: ``'fast_run'``, ``'fast_compile'``,
    ``'None'`` or None (no rewriting), or ``'default'``: ``sg.config.optimizer``
    when the function is made."""

    # passes of the optimizer that this mode leaves out
    skip_passes = ()

    def __init__(self, linker=None, optimizer="default"):
        self.linker = _linker(linker)
        self.optimizer = _optimizer(optimizer)

    def optimizer_name(self):
        """The optimizer to run now (``'default'`` read from ``sg.config``)."""
        return config.optimizer if self.optimizer == "default" else self.optimizer

    def optimize(self, fgraph):
        """``fgraph`` rewritten by this mode's optimizer."""
        return optimize_fgraph(fgraph, self.optimizer_name(), skip=self.skip_passes)

    def backend_name(self):
        """The backend that runs the graphs of this mode, now."""
        return self.linker or get_mode(config.mode).linker or "numba"

    def compile(self, fgraph, update_pairs=()):
        """The backend's ``Compiled`` for the optimized ``fgraph`` (backend.py)."""
        return backend(self.backend_name())(fgraph, update_pairs)

    def __repr__(self):
        return f"{type(self).__name__}(linker={self.linker!r}, optimizer={self.optimizer!r})"


def _nan_guard():
    # nanguardmode.py builds on this module (its Mode subclasses Mode)
    from .nanguardmode import NanGuardMode
    return NanGuardMode()


# Theano's mode names, made when asked for (a Mode reads sg.config when used)
NAMED = {
    "FAST_RUN": lambda: Mode("numba", "fast_run"),
    "FAST_COMPILE": lambda: Mode("python", "fast_compile"),
    "DebugMode": lambda: Mode("debug"),
    "DEBUG_MODE": lambda: Mode("debug"),
    "NanGuardMode": _nan_guard,
}
# every name sg.config.mode and function(mode=...) accept
NAMES = (*BACKENDS, *NAMED)


def get_mode(mode):
    """The Mode that ``mode`` (a Mode, a mode name, or None: ``sg.config.mode``) stands for."""
    if mode is None:
        mode = config.mode
    if isinstance(mode, Mode):
        return mode
    if isinstance(mode, str) and mode in NAMED:
        return NAMED[mode]()
    if isinstance(mode, str) and (mode in BACKENDS):
        return Mode(mode)
    raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(map(repr, NAMES))}, "
                     f"or pass a sg.Mode")
