"""What a generated GPU driver (emit.py) calls: the ``Runtime`` of one
compiled function (its scalar slabs, the launches, whole-array operations).

Launches go to the default stream in order and nothing waits for them until
``finish`` (or a ``fetch`` of a device scalar the host needs) reads the
slabs back; a kernel's error code is raised there.
"""
import builtins
import importlib
import json
import os

import numpy as np

from . import blas
from .cudalib import SIMULATOR, cuda, empty, permuted, to_device

# threads per block; the simulator runs each thread as a Python thread, so few
THREADS = 8 if SIMULATOR else 256
# at most this many blocks: the grid-stride loops cover any size
MAX_BLOCKS = 2 if SIMULATOR else 4096


# ------------------------------------------------------------------ whole-array kernels
def _index_lines(ndim):
    lines = ["        rest = t"]
    for k in reversed(range(ndim)):
        lines += [f"        i{k} = rest % dst.shape[{k}]", f"        rest = rest // dst.shape[{k}]"]
    return lines


def _make(kind, ndim):
    """A grid-stride kernel over every element of ``dst`` (any strides)."""
    idx = ", ".join(f"i{k}" for k in range(ndim))
    body = {"copy": f"dst[{idx}] = src[{idx}]",
            "fill": f"dst[{idx}] = src",
            "add": f"dst[{idx}] += src",
            "sub": f"dst[{idx}] -= src",
            "mult": f"dst[{idx}] *= src",
            "div": f"dst[{idx}] /= src"}[kind]
    source = "\n".join(["def kernel(dst, src, total):",
                        "    t = cuda.grid(1)",
                        "    step = cuda.gridsize(1)",
                        "    while t < total:"] + _index_lines(ndim) +
                       [f"        {body}", "        t += step"])
    namespace = {"cuda": cuda}
    exec(source, namespace)
    return cuda.jit(namespace["kernel"])


_KERNELS = {}


def _whole(kind, dst, src):
    size = int(np.prod(dst.shape))
    if size == 0:
        return
    key = (kind, dst.ndim)
    if key not in _KERNELS:
        _KERNELS[key] = _make(kind, dst.ndim)
    _record({"whole": kind, "ndim": dst.ndim, "sig": signature([dst, src, size])})
    _KERNELS[key][_blocks(size), THREADS](dst, src, size)


# With SYMGRAPH_CUDA_RECORD=<file>, every launch is written to that file (JSON
# lines): the tests compile each kernel they ran on the simulator to PTX for a
# real GPU, which type-checks what the simulator does not.  Read once: launches
# are the hot path.
RECORD = os.environ.get("SYMGRAPH_CUDA_RECORD")


def _record(entry):
    if RECORD:
        with open(RECORD, "a") as f:
            f.write(json.dumps(entry) + "\n")


def signature(args):
    """The Numba type names of kernel arguments, for ``compile_ptx``."""
    names = []
    for value in args:
        if hasattr(value, "copy_to_host"):
            names.append(f"{_numba_name(value.dtype)}[{', '.join([':'] * value.ndim)}]")
        elif isinstance(value, (bool, np.bool_)):
            names.append("boolean")
        elif isinstance(value, int):
            names.append("int64")
        elif isinstance(value, float):
            names.append("float64")
        else:
            names.append(_numba_name(np.asarray(value).dtype))
    return names


def _numba_name(dtype):
    return "boolean" if np.dtype(dtype) == np.bool_ else str(np.dtype(dtype))


def _blocks(size):
    return max(1, min(MAX_BLOCKS, -(-size // THREADS)))


class KernelError(Exception):
    """Raised in the driver when a kernel set an error code (replaced by the
    plan's own exception and message)."""


class Runtime:
    """The state of one compiled function on the device."""

    def __init__(self, n_int, n_float, messages, key=None):
        self.key = key
        # allocation sites whose arrays stay on the device after the call (set
        # by the backend per call); the others are reused by the next call
        # (kernels run in stream order, so the previous call's kernels are done
        # with them before the next call's run)
        self.fresh = frozenset()
        self.pool = {}
        self.islab = to_device(np.zeros(max(n_int, 1), np.int64))
        self.fslab = to_device(np.zeros(max(n_float, 1), np.float64))
        self.messages = messages
        self.host = None          # the slabs as last read, while no kernel ran since
        self.failed = False
        self.launches = 0

    # -- launches
    def start(self):
        if self.failed:
            self.islab.copy_to_device(np.zeros(self.islab.shape[0], np.int64))
            self.failed = False
        self.host = None

    def launch(self, kernel, size, args):
        size = int(size)
        if size <= 0:
            return
        self.host = None
        self.launches += 1
        self._record(kernel, args)
        kernel[_blocks(size), THREADS](self.islab, self.fslab, *args)

    def launch_serial(self, kernel, args):
        self.host = None
        self.launches += 1
        self._record(kernel, args)
        kernel[1, 1](self.islab, self.fslab, *args)

    def _record(self, kernel, args):
        if RECORD:
            fn = getattr(kernel, "py_func", None) or kernel.fn    # the simulator's: .fn
            _record({"program": self.key, "kernel": fn.__name__,
                     "sig": signature([self.islab, self.fslab, *args])})

    # -- reading back
    def _read(self):
        if self.host is None:
            self.host = (self.islab.copy_to_host(), self.fslab.copy_to_host())
            code = int(self.host[0][0])
            if code:
                self.failed = True
                exc, message = self.messages[code - 1]
                raise _exception(exc)(message)
        return self.host

    def finish(self):
        self._read()

    def fetch(self, kind, slot):
        ints, floats = self._read()
        return (ints if kind == "i" else floats)[slot]

    # -- arrays
    def empty(self, shape, dtype, site=None):
        shape = tuple(int(d) for d in (shape if isinstance(shape, tuple) else (shape,)))
        if any(d < 0 for d in shape):
            raise ValueError(f"negative dimensions are not allowed: {shape}")
        dtype = np.dtype(dtype)
        if site is None or site in self.fresh:
            return empty(shape, dtype)
        kept = self.pool.get(site)
        if kept is None or kept.shape != shape or kept.dtype != dtype:
            kept = self.pool[site] = empty(shape, dtype)
        return kept

    def zeros(self, shape, dtype):
        out = self.empty(shape, dtype)
        _whole("fill", out, np.dtype(dtype).type(0))
        return out

    def copy(self, src):
        out = self.empty(src.shape, src.dtype)
        if src.ndim == 0:
            out.copy_to_device(src.copy_to_host())
        else:
            _whole("copy", out, src)
        return out

    def astype(self, src, dtype):
        out = self.empty(src.shape, dtype)
        _whole("copy", out, src)
        return out

    def ascontiguousarray(self, src):
        if src.is_c_contiguous():
            return src
        return self.copy(src)

    def reshape(self, src, shape):
        shape = tuple(int(d) for d in (shape if isinstance(shape, tuple) else (shape,)))
        if -1 in shape:
            known = int(np.prod([d for d in shape if d != -1]))
            shape = tuple(int(np.prod(src.shape)) // max(known, 1) if d == -1 else d
                          for d in shape)
        return self.ascontiguousarray(src).reshape(shape)

    def transpose(self, src, axes=None):
        return permuted(src, tuple(reversed(range(src.ndim))) if axes is None else axes)

    def assign(self, dst, value):
        if hasattr(value, "copy_to_host"):
            _whole("copy", dst, value)
        else:
            _whole("fill", dst, dst.dtype.type(value))

    def inplace(self, dst, op, value):
        _whole(op, dst, dst.dtype.type(value))

    # -- routines
    def matmul(self, a, b, out, alpha, beta):
        self.host = None
        blas.matmul(a, b, out, alpha, beta)
        return True

    def matvec(self, a, x, out, alpha, beta, transposed):
        self.host = None
        blas.matvec(a, x, out, alpha, beta, transposed)

    def random_fill(self, out, state, new_state, normal, bits24):
        # the draws themselves run on the host, from the same Philox code as
        # the CPU backend (bit for bit the same values); the state and the
        # draw cross the bus
        from ..numba_cpu.runtime_random import random_fill   # late: only programs that draw
        host_out = np.empty(out.shape, out.dtype)
        host_state = state.copy_to_host()
        host_new = np.empty(new_state.shape, new_state.dtype)
        random_fill(host_out, host_state, host_new, normal, bits24)
        out.copy_to_device(host_out)
        new_state.copy_to_device(host_new)

    def on_host(self, fn, *args):
        """``fn`` (a NumPy routine: np.linalg's) on host copies of device arrays;
        an array result goes back to the device."""
        self._read()
        result = fn(*[a.copy_to_host() if hasattr(a, "copy_to_host") else a for a in args])
        if isinstance(result, np.ndarray) and result.ndim:
            return to_device(np.ascontiguousarray(result))
        return result

    def effect(self, module, name, args):
        self._read()
        values = [a.copy_to_host() if hasattr(a, "copy_to_host") else a for a in args]
        getattr(importlib.import_module(module), name)(*values)


def _exception(name):
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    if name.startswith("np."):
        return eval(name, {"np": np})  # noqa: S307 - a name the plan wrote, like np.linalg.LinAlgError
    return RuntimeError
