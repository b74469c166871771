"""Profiles of compiled functions (Theano's ``function(..., profile=True)``).

``function(..., profile=True)`` (every function when ``config.profile`` is on)
keeps a ``Profile`` as ``f.profile``: the number of calls and their time, and the
compile time split into optimize / code generation / LLVM (Numba's compilation,
or loading the machine code from the disk cache).  Everything is measured with
``time.perf_counter``; nothing is estimated.  The compiled program is one
function, so per-node times are measured through the reference path (each op's
``perform``), on request: ``f.profile.node_times(*args)``, or on every call with
``profile='nodes'``.

``f.profile.summary()`` returns the report; with ``config.profile`` on, the
profiles are also printed when the process exits, to
``config.profiling.destination`` ('stderr', 'stdout' or a file name).
An unprofiled function's call path is untouched.
"""
import atexit
import sys
import threading
import time

import numpy as np

from ..config import config
from ..graph import Constant
from .errors import reraise_with_node

_at_exit = []
_at_exit_lock = threading.Lock()


class Profile:
    """What one function's calls and compilation cost (see the module's docstring)."""

    def __init__(self, function, optimize, backend, per_node=False):
        self.name = function.name
        self.mode = function.mode
        self.fgraph = function.fgraph
        self._function = function
        self.calls = 0
        self.call_time = 0.0
        self.min_call = float("inf")
        self.max_call = 0.0
        self.optimize_time = optimize
        timings = getattr(function._thunk, "timings", None) or {}
        # a backend that generates code says how its time divides
        self.codegen_time = timings.get("code generation")
        self.llvm_time = timings.get("LLVM")
        self.llvm_source = timings.get("source")
        self.backend_time = backend
        self.per_node = per_node
        self.node_runs = 0
        self.node_seconds = {}      # node -> total seconds over node_runs runs
        self._lock = threading.Lock()

    @property
    def compile_time(self):
        """Seconds from the unoptimized graph to a callable: optimize + backend."""
        return self.optimize_time + self.backend_time

    def wrap(self, call):
        """``call`` timed: each call's wall time is added to this profile."""
        clock = time.perf_counter

        def profiled(*args, **kwargs):
            if self.per_node:
                self.node_times(*args, **kwargs)
            start = clock()
            try:
                return call(*args, **kwargs)
            finally:
                seconds = clock() - start
                with self._lock:
                    self.calls += 1
                    self.call_time += seconds
                    self.min_call = min(self.min_call, seconds)
                    self.max_call = max(self.max_call, seconds)
        return profiled

    def node_times(self, *args, repeat=1, **kwargs):
        """Run the graph on ``args`` through the reference path (each op's
        ``perform``) ``repeat`` times, timing every node; the times are added to
        this profile and returned as [(node, seconds per run)], slowest first.
        Shared variables are read, never updated."""
        if repeat < 1:
            raise ValueError(f"node_times: repeat must be at least 1, got {repeat}")
        f = self._function
        values = f._parse_args(args, kwargs) + [c.value for c in f._containers]
        nodes = self.fgraph.toposort()
        clock = time.perf_counter
        for _ in range(repeat):
            store = dict(zip(self.fgraph.inputs, values))
            for node in nodes:
                inputs = [v.data if isinstance(v, Constant) else store[v] for v in node.inputs]
                start = clock()
                try:
                    node.op.validate(node, inputs)
                    result = node.op.perform(*inputs)
                except Exception as exc:  # noqa: BLE001 - named like the reference backend's errors
                    reraise_with_node(exc, node)
                seconds = clock() - start
                results = result if len(node.outputs) > 1 else (result,)
                for out, r in zip(node.outputs, results):
                    store[out] = np.asarray(r, dtype=out.dtype)
                with self._lock:
                    self.node_seconds[node] = self.node_seconds.get(node, 0.0) + seconds
            with self._lock:
                self.node_runs += 1
        per_run = [(node, self.node_seconds[node] / self.node_runs) for node in nodes]
        return sorted(per_run, key=lambda item: -item[1])

    def summary(self, n_nodes=None):
        """The report, as text: calls, time per call, compile time by stage and,
        when measured, the slowest nodes (``config.profiling.n_apply`` of them)."""
        n_nodes = config.profiling.n_apply if n_nodes is None else n_nodes
        label = f"function {self.name!r}" if self.name else "function"
        lines = [f"Profile of {label} (mode={self.mode}, {len(self.fgraph.apply_nodes)} nodes "
                 f"after optimization)"]
        if self.calls:
            lines.append(f"  calls: {self.calls}, {self.call_time:.6f} s in all, "
                         f"{_us(self.call_time / self.calls)} per call (min "
                         f"{_us(self.min_call)}, max {_us(self.max_call)})")
        else:
            lines.append("  calls: 0")
        lines.append(f"  compile: {self.compile_time:.6f} s")
        lines.append(f"    optimize:        {self.optimize_time:.6f} s")
        if self.codegen_time is not None:
            rest = self.backend_time - self.codegen_time - self.llvm_time
            lines.append(f"    code generation: {self.codegen_time:.6f} s")
            lines.append(f"    LLVM:            {self.llvm_time:.6f} s ({self.llvm_source})")
            lines.append(f"    other:           {max(rest, 0.0):.6f} s")
        else:
            lines.append(f"    backend:         {self.backend_time:.6f} s (mode={self.mode} "
                         f"does not time its stages)")
        if self.node_runs:
            total = sum(self.node_seconds.values()) / self.node_runs
            lines.append(f"  nodes, through the reference path ({self.node_runs} runs): "
                         f"{_us(total)} per run")
            lines.append("    share   per run     node")
            ranked = sorted(self.node_seconds.items(), key=lambda item: -item[1])
            for node, seconds in ranked[:n_nodes]:
                per_run = seconds / self.node_runs
                share = 100.0 * per_run / total if total else 0.0
                lines.append(f"    {share:5.1f}%  {_us(per_run):>10}  {node}")
            if len(ranked) > n_nodes:
                lines.append(f"    ... {len(ranked) - n_nodes} more nodes")
        return "\n".join(lines)

    def __repr__(self):
        return f"<Profile of {self.name or 'a function'}: {self.calls} calls>"


def _us(seconds):
    return f"{seconds * 1e6:.1f} us"


def attach(function, profile, optimize, backend):
    """The Profile of ``function`` when ``profile`` (or config.profile) asks for
    one, else None.  With config.profile on, it is printed at exit."""
    if profile not in (None, False, True, "nodes"):
        raise ValueError(f"function: profile must be True, False or 'nodes', got {profile!r}")
    if not (profile or (profile is None and config.profile)):
        return None
    prof = Profile(function, optimize, backend, per_node=profile == "nodes")
    if config.profile:
        with _at_exit_lock:
            if not _at_exit:
                atexit.register(_print_at_exit)
            _at_exit.append(prof)
    return prof


def _print_at_exit():
    destination = config.profiling.destination
    text = "\n\n".join(p.summary() for p in _at_exit) + "\n"
    if destination in ("stderr", "stdout"):
        getattr(sys, destination).write(text)
    else:
        with open(destination, "a", encoding="utf-8") as fh:
            fh.write(text)
