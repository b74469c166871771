"""The numba.cuda GPU backend (mode='cuda').

The optimized graph's plan (generate.py, the same plan the CPU renders) is
rendered by emit.py as CUDA kernels and a Python host driver; the module is
kept in the disk cache like CPU programs, and Numba caches the kernels'
machine code beside it.  Shared variables live on the device between calls
(``SharedVariable`` keeps a device copy, ``Compiled.device_values``): a call
uploads the inputs, runs the kernels, and copies back only the outputs.
Updates are never written in place: they are new device arrays, handed to
the shared variables only after every kernel ran and the error code was read,
so a failing call changes no shared variable.
"""
import threading
import time

import numpy as np

from .. import cache
from ..backend import Compiled
from ..errors import locator
from ..generate import generate
from . import cudalib, emit


def compile_cuda(fgraph, update_pairs=(), debug=False):
    """The GPU backend (backend.py's interface)."""
    problem = cudalib.problem()
    if problem:
        raise RuntimeError(f"mode='cuda' cannot run here: {problem}")
    from . import runtime   # late: it compiles the device intrinsics, which needs the checks above
    start = time.perf_counter()
    # nothing is written in place (update_pairs unused): see the module docstring
    program = generate(fgraph, debug=debug, target="gpu")
    rendered = emit.render(program, [v.ndim for v in fgraph.inputs])
    key = cache.program_key(rendered.source, [v.type for v in fgraph.inputs],
                            [(c.dtype.str, c.ndim, c.flags.writeable) for c in program.const_args])
    entry, path = cache.load_module("cuda" + key[4:], rendered.source)
    generated = time.perf_counter()
    counts = {"i": 1, "f": 0}
    for kind, slot in rendered.slots.values():
        counts[kind] = max(counts[kind], slot + 1)
    driver = entry.program
    rt = runtime.Runtime(counts["i"], counts["f"], rendered.messages, key)
    runtime._record({"program": key, "source": rendered.source})
    consts = [cudalib.to_device(c) if c.ndim else c for c in program.const_args]
    locate = locator(fgraph, program)
    n_ret = sum(1 for kind, *_ in program.outputs if kind == "ret")
    # outputs cross to the host; updates (the trailing outputs) stay on the device
    n_host = len(fgraph.outputs) - len(update_pairs) if not debug else len(fgraph.outputs)
    node_outputs = [v for node in program.nodes for v in node.outputs] if debug else []
    lock = threading.Lock()
    # the allocations the returned values may be: those of the updates stay on
    # the device, and those of the outputs too with outputs_on_device
    sites = driver.__globals__["RETURN_SITES"]
    returned = [(k, spec[0]) for k, (kind, *spec) in enumerate(program.outputs) if kind == "ret"]
    stays = [frozenset().union(*(sites[r] for k, r in returned if k >= n_host or keep))
             for keep in (False, True)]

    def run(values):
        args = [v if v.ndim == 0 or cudalib.is_device_array(v) else cudalib.to_device(
            np.ascontiguousarray(v)) for v in map(_array, values)]
        with lock:
            rt.fresh = stays[compiled.outputs_on_device]
            rt.start()
            try:
                results = driver(rt, *args, *consts)
            except Exception as exc:  # noqa: BLE001 - every failure gets its node named
                locate(exc, [_host(v) for v in values])
                raise
        outs = []
        for k, (kind, *spec) in enumerate(program.outputs):
            if kind == "const":
                value = np.array(spec[0])
            else:
                value = results[spec[0]]
                if spec[1] is not None:
                    value = np.array(value, dtype=spec[1])
                elif k < n_host and not compiled.outputs_on_device:
                    value = value.copy_to_host()
            outs.append(value)
        for var, value in zip(node_outputs, results[n_ret:]):
            outs.append(np.array(value, dtype=var.dtype) if var.ndim == 0
                        else value.copy_to_host())
        return outs

    compiled = Compiled(run, nodes=program.nodes if debug else [], owns_results=True,
                        key=key, path=path, program=program, device_values=True,
                        upload=cudalib.to_device)
    compiled.runtime = rt
    compiled.outputs_on_device = False     # function(..., outputs_on_device=True) sets it
    compiled.kernels = rendered.kernels
    compiled.timings = {"code generation": generated - start, "LLVM": 0.0,
                        "source": "kernels compiled by Numba on first launch"}
    return compiled


def _array(value):
    return value if cudalib.is_device_array(value) else np.asarray(value)


def _host(value):
    return value.copy_to_host() if cudalib.is_device_array(value) else value
