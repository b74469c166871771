"""Compile to PTX, for a real GPU, every kernel a simulator run recorded
(runtime.py's SYMGRAPH_CUDA_RECORD): the simulator runs kernels as Python and
type-checks nothing, so this is what shows they compile.  Needs the toolkit
wheels of the ``[cuda]`` extra, no GPU; runs with the simulator off."""
import json
import types

CC = (9, 0)


def recorded(path):
    """(sources by program key, launches) of a record file."""
    sources, launches = {}, []
    with open(path) as f:
        for line in f:
            entry = json.loads(line)
            if "source" in entry:
                sources[entry["program"]] = entry["source"]
            else:
                launches.append(entry)
    return sources, launches


def compile_all(path):
    """{(what, signature): ptx text} for every distinct kernel and signature
    recorded; raises on the first that does not compile, naming it."""
    from numba import cuda
    from symgraph.compile.numba_cuda import runtime
    sources, launches = recorded(path)
    modules, done = {}, {}
    for entry in launches:
        sig = f"void({', '.join(entry['sig'])})"
        if "whole" in entry:
            what = f"runtime {entry['whole']} kernel, {entry['ndim']}-d"
            key = (what, sig)
            if key not in done:
                fn = runtime._make(entry["whole"], entry["ndim"]).py_func
                done[key] = _ptx(cuda, fn, sig, what)
            continue
        what = f"{entry['kernel']} of program {entry['program']}"
        key = (what, sig)
        if key in done:
            continue
        if entry["program"] not in modules:
            module = types.ModuleType(f"ptx_{entry['program']}")
            exec(compile(sources[entry["program"]], module.__name__, "exec"), module.__dict__)
            modules[entry["program"]] = module
        fn = getattr(modules[entry["program"]], entry["kernel"]).py_func
        done[key] = _ptx(cuda, fn, sig, what)
    return done


def _ptx(cuda, fn, sig, what):
    try:
        ptx, _ = cuda.compile_ptx(fn, sig, cc=CC)
    except Exception as exc:
        raise AssertionError(f"{what} does not compile for a GPU with {sig}: {exc}") from exc
    return ptx
