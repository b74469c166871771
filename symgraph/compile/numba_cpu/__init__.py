"""The Numba CPU backend (mode='numba', the default).

The optimized graph's plan (generate.py) is rendered as one program (emit.py;
a few chunks when it is long, chunks.py), which Numba compiles once, when the
function is made, for one signature: C-contiguous writeable arrays of the
input types.
The machine code is cached on disk (cache.py).  The callable returned here
passes the inputs, shared values and large constants to the program and turns
its results into arrays; an argument of another layout is copied to that
signature rather than compiled for.  Programs with large compute-bound loops
also get a parallel variant, compiled when first needed.

When the compiled code fails (a shape that breaks the broadcast flags, an index
out of range, ...), the reference backend re-runs the same inputs to find the
failing node and the user's line; nothing was written in place by then (see
inplace.py), so the shared variables are unchanged.
"""
import logging
import os
import re
import threading
import time
import warnings

import numpy as np

from ...config import config
from ...graph import format_trace
from .. import cache, tiered
from ..backend import Compiled, FastPath, result_exprs
from ..errors import locator
from ..generate import generate
from ..inplace import dealias, reachable_for_writing
from . import compile_worker, emit, memory
from .recycle import Recycler
import numba
from numba import types
from numba.core.errors import NumbaError
from numba.core.errors import NumbaPerformanceWarning

log = logging.getLogger("symgraph.compile")


def compile_numba(fgraph, update_pairs=(), debug=False):
    """The Numba CPU backend (backend.py's interface)."""
    if debug:
        return _debug_thunk(fgraph, emit.rendered(generate(fgraph, debug=True)))
    # each stage timed, for profiles (compile/profile.py)
    start = time.perf_counter()
    program = emit.rendered(generate(fgraph, update_pairs=update_pairs))
    rendered = time.perf_counter()
    before = dict(cache.stats)
    compiled = make_thunk(fgraph, program, update_pairs=update_pairs)
    after = cache.stats
    source = ("compiled by Numba" if after["compiled"] > before["compiled"] else
              "compiled by the helper process" if after["compiled_elsewhere"] >
              before["compiled_elsewhere"] else
              "loaded from the disk cache" if after["loaded"] > before["loaded"] else
              "already in memory")
    compiled.timings = {"code generation": rendered - start,
                        "LLVM": time.perf_counter() - rendered, "source": source}
    return compiled


def _signature(fgraph, program):
    """The one signature a program is compiled for: C-contiguous, writeable arrays
    for the inputs and shared values (the call converts anything else, see
    ``_conform``), the constants as they are."""
    sig = [types.Array(numba.from_dtype(np.dtype(v.dtype)), v.ndim, "C") for v in fgraph.inputs]
    sig += [numba.typeof(c) for c in program.const_args]
    # the buffers of dropped results (recycle.py), flat
    sig += [types.Array(numba.from_dtype(np.dtype(d)), 1, "C") for _, d in program.recycle]
    return tuple(sig)


def _conform(values, types_):
    """Replace, in place, the values that are not C-contiguous writeable arrays of
    the expected dtype and rank by such copies.  True when any was replaced."""
    changed = False
    for k, (v, (dtype, ndim)) in enumerate(zip(values, types_)):
        if not (type(v) is np.ndarray and v.dtype == dtype and v.ndim == ndim
                and v.flags.c_contiguous and v.flags.writeable):
            values[k] = np.array(v, dtype=dtype, order="C")
            changed = True
    return changed


def load_program(fgraph, program):
    """The callable of ``program``, compiled (from memory, the disk cache, or
    Numba): the dispatcher of its one function, or the Python function calling
    its chunks (chunks.py)."""
    memory.keep_freed_memory(config.malloc_keep_mb)
    key = cache.program_key(program.source, [v.type for v in fgraph.inputs],
                            [(c.dtype.str, c.ndim, c.flags.writeable) for c in program.const_args])
    # threads compiling one graph at once: one compiles, the others wait and then
    # reuse it (rather than seeing no overload yet, compiling, and finding
    # compilation disabled by the first)
    with _compile_lock(key):
        return _load(fgraph, program, key)


_compile_locks = {}
_compile_locks_guard = threading.Lock()


def _compile_lock(key):
    with _compile_locks_guard:
        return _compile_locks.setdefault(key, threading.Lock())


def _load(fgraph, program, key):
    module, path = cache.load_module(key, program.source)
    plan = module.CHUNKS or [(module.program, None, None)]
    if plan[0][0].overloads:
        cache.stats["reused"] += 1
        return module.program, key, path
    sig = _signature(fgraph, program)
    params = program.plan.params
    start = time.perf_counter()
    elsewhere = None
    if compile_worker.wanted(cache.stats["compiled"]) and not _on_disk(plan[0][0]):
        elsewhere = compile_worker.compile_elsewhere(key, program.source, sig, params)
    try:
        hits = compile_module(module, sig, params)
    except NumbaError as exc:
        raise RuntimeError(_internal_error(program, path, exc)) from exc
    seconds = time.perf_counter() - start
    if hits == len(plan) and (elsewhere is None or elsewhere == len(plan)):
        cache.stats["loaded"] += 1
        log.info("loaded %s from the disk cache in %.3fs", path, seconds)
    else:
        # compiled here, or by the helper and loaded here (compile_worker.py)
        cache.stats["compiled"] += elsewhere is None
        cache.stats["compiled_elsewhere"] += elsewhere is not None
        log.info("compiled %s in %.2fs%s", path, seconds, "" if elsewhere is None else
                 " by the helper process")
    return module.program, key, path


def _on_disk(dispatcher):
    """Whether Numba's disk cache may already hold this dispatcher's code (then
    loading it here is cheaper than asking the helper)."""
    index = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    path = getattr(index, "_index_path", None)
    return path is None or os.path.exists(path)


def compile_module(module, sig, params):
    """Compile a program module (cache.load_module) for its one signature; how
    many of its functions came from the disk cache.  Run here or in the
    compile helper (compile_worker.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        if module.CHUNKS:
            hits = _compile_chunks(module.CHUNKS, sig, params)
        else:
            module.program.compile(sig)
            hits = int(sum(module.program.stats.cache_hits.values()) > 0)
    # one signature only: other argument types are converted by the caller,
    # never compiled again behind the user's back
    for fn, _, _ in module.CHUNKS or [(module.program, None, None)]:
        fn.disable_compile()
    return hits


def _compile_chunks(chunks, sig, params):
    """Compile each chunk for the types its inputs have: the program's arguments,
    or what an earlier chunk returns (scalars come back as Python numbers).
    Returns how many were loaded from the disk cache."""
    env = dict(zip(params, sig))
    hits = 0
    for fn, needs, gives in chunks:
        chunk_sig = tuple(env[n] for n in needs)
        fn.compile(chunk_sig)
        hits += int(sum(fn.stats.cache_hits.values()) > 0)
        returned = fn.overloads[chunk_sig].signature.return_type
        for name, t in zip(gives, getattr(returned, "types", ())):
            if isinstance(t, types.Boolean):
                t = types.boolean
            elif isinstance(t, types.Float):
                t = types.float64
            elif isinstance(t, types.Integer):
                t = types.int64 if t.signed or t.bitwidth < 64 else types.uint64
            env[name] = t
    return hits


def _internal_error(program, path, exc):
    """A compile failure is a bug of this backend: say which node's code broke."""
    text = str(exc)
    node = None
    match = re.search(re.escape(path) + r'", line (\d+)', text) or re.search(r"line (\d+)", text)
    if match:
        lines = program.source.splitlines()[:int(match.group(1))]
        for line in reversed(lines):
            m = re.match(r"\s*# node (\d+):", line)
            if m:
                node = program.nodes[int(m.group(1))]
                break
    where = f" while lowering {node.op} ({format_trace(node.trace)})" if node is not None else ""
    return (f"internal error in the Numba backend{where}: the generated program {path} "
            f"does not compile. Please report it; mode='python' runs this graph meanwhile.\n{text}")


# a call that first needs the parallel variant runs the serial program while a
# helper process compiles the variant (tiered.py); False: it waits for it
PARALLEL_IN_BACKGROUND = True


def make_thunk(fgraph, program, dispatcher=None, update_pairs=()):
    if dispatcher is None:
        dispatcher, key, path = load_program(fgraph, program)
    else:
        key = path = None
    consts = tuple(program.const_args)
    expected = [(np.dtype(v.dtype), v.ndim) for v in fgraph.inputs]
    finish = _finisher(program)
    locate = locator(fgraph, program)
    recycler = Recycler(program.recycle) if program.recycle else None
    # the parallel variant (emit.min_size), compiled when a call first has a
    # parallel loop that large: parallel=True compiles slower, so this happens in
    # a helper process while such calls run the serial program meanwhile
    threaded, compiling = [], []
    large = emit.wants_threads(program.parallel_sizes)
    wants_threads = None if large is None else eval(
        f"lambda {', '.join(f'arg{i}' for i in range(len(fgraph.inputs)))}: {large}")

    def load_parallel():
        if not threaded:
            threaded.append(load_program(fgraph, emit.rendered(program, parallel=True))[0])

    def call(values, recs=()):
        target = dispatcher
        if wants_threads is not None and wants_threads(*values):
            if threaded:
                target = threaded[0]
            elif not PARALLEL_IN_BACKGROUND:
                load_parallel()
                target = threaded[0]
            elif not compiling:
                compiling.append(tiered.compile_variant(fgraph, update_pairs, load_parallel))
        return target(*values, *consts, *recs)

    targets = tuple(program.inplace)
    slots = tuple(k for k, v in enumerate(fgraph.inputs) if v.ndim)
    # the constants a target could share memory with
    open_consts = tuple(j for j, c in enumerate(consts) if reachable_for_writing(c))
    suspects = tuple(consts[j] for j in open_consts)

    def run(values):
        if targets:
            dealias(values, targets, slots, suspects)
        recs, roots = recycler.take() if recycler else ((), None)
        try:
            results = call(values, recs)
        except Exception as exc:  # noqa: BLE001 - every failure gets its node named
            # TypeError: no compiled signature for these arguments (AttributeError:
            # not even arrays, under trust_input)
            if not (isinstance(exc, (TypeError, AttributeError)) and _conform(values, expected)):
                locate(exc, values)
                raise
            # an argument was not a C-contiguous writeable array: it is now
            try:
                results = call(values, recs)
            except Exception as again:  # noqa: BLE001
                locate(again, values)
                raise
        out = finish(results, values)
        if recycler:
            recycler.give(out, roots)
        return out

    return Compiled(
        run, key=key, path=path, program=program, dispatcher=dispatcher, threaded=threaded,
        load_parallel=None if large is None else load_parallel, compiling=compiling,
        # a call large enough for the parallel variant leaves the fast path
        fast=FastPath(dispatcher, consts, recycler, large, program.outputs, threaded),
        inplace=targets, open_consts=open_consts,
        # results are fresh arrays, an update written in place its own buffer (codegen.py)
        owns_results=True)


def _debug_thunk(fgraph, program):
    """The program that also returns every node's outputs (codegen's debug=True)."""
    dispatcher, key, path = load_program(fgraph, program)
    consts = tuple(program.const_args)
    n_ret = sum(1 for kind, *_ in program.outputs if kind == "ret")
    finish = _finisher(program)
    locate = locator(fgraph, program)
    node_outputs = [v for node in program.nodes for v in node.outputs]
    expected = [(np.dtype(v.dtype), v.ndim) for v in fgraph.inputs]

    def run(values):
        _conform(values, expected)
        try:
            results = dispatcher(*values, *consts)
        except Exception as exc:  # noqa: BLE001 - every failure gets its node named
            locate(exc, values)
            raise
        # 0-d results come back as Numba scalars
        computed = [np.asarray(r, dtype=var.dtype) if var.ndim == 0 else r
                    for var, r in zip(node_outputs, results[n_ret:])]
        return finish(results[:n_ret], values) + computed

    return Compiled(run, nodes=program.nodes, key=key, path=path, program=program,
                    dispatcher=dispatcher)


def _finisher(program):
    """(results tuple, arguments) -> list of arrays: 0-d results come back as
    Numba scalars, constants and in-place updates are not returned by the program.
    Built as one list display: this runs on every call."""
    names = {}
    parts = result_exprs(program.outputs, lambda i: f"v[{i}]", names)
    exec(f"def finish(r, v):\n    return [{', '.join(parts)}]\n", names)
    return names["finish"]
