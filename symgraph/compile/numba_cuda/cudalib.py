"""The one module of the GPU backend that imports ``numba.cuda``.

numba-cuda is in maintenance mode and its successor may replace it; keeping
every import here means a switch touches one file.  Importing this module
never fails: ``problem()`` says what is missing (the ``[cuda]`` extra, a
driver, a device) and the backend turns that into a clear error.

``SIMULATOR``: Numba's CUDA simulator is on (``NUMBA_ENABLE_CUDASIM=1``):
kernels run as Python threads on the CPU, for tests without a GPU.
"""
import os

import numpy as np

SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0")

try:
    from numba import cuda
except ImportError as exc:     # numba without its CUDA target: the extra is missing
    cuda, _IMPORT_ERROR = None, exc
else:
    _IMPORT_ERROR = None

_problem = None
_checked = False


def problem():
    """None when kernels can run here, else a sentence saying what is missing."""
    global _problem, _checked
    if _checked:
        return _problem
    _checked = True
    if cuda is None:
        _problem = (f"numba's CUDA target cannot be imported ({_IMPORT_ERROR}); install "
                    f"it with: pip install \"symgraph[cuda]\"")
    elif not SIMULATOR:
        try:
            import numba_cuda  # noqa: F401  (late: only to tell whether the extra is installed)
        except ImportError:
            _problem = ("the numba-cuda package is not installed; install it with: "
                        "pip install \"symgraph[cuda]\"")
            return _problem
        try:
            available = cuda.is_available()
        except Exception as exc:   # a broken driver or toolkit: say what it said
            _problem = f"the CUDA driver could not be used ({exc})"
            return _problem
        if not available:
            _problem = ("no usable NVIDIA GPU: the CUDA driver or a device is missing "
                        "(set NUMBA_ENABLE_CUDASIM=1 to run on Numba's CPU simulator)")
    return _problem


def jit(fn=None, **options):
    """``numba.cuda.jit``."""
    return cuda.jit(fn, **options) if fn is not None else cuda.jit(**options)


def device_function(fn):
    """A function callable from kernels."""
    return cuda.jit(device=True)(fn)


def to_device(array, stream=0):
    return cuda.to_device(array, stream=stream)


def empty(shape, dtype, stream=0):
    return cuda.device_array(shape, dtype=dtype, stream=stream)


def is_device_array(value):
    # the simulator's arrays are not CUDA arrays to numba: ask for the copy method
    return hasattr(value, "copy_to_host")


def synchronize():
    cuda.synchronize()


def compile_ptx(pyfunc, signature, cc=(9, 0)):
    """PTX for a real GPU of compute capability ``cc`` (needs the toolkit wheels,
    no GPU); the simulator does not type-check, this does."""
    return cuda.compile_ptx(pyfunc, signature, cc=cc)


def permuted(array, axes):
    """A view of a device array with its axes in the order ``axes`` (numba's own
    ``.T`` and ``.transpose`` launch a copy)."""
    if SIMULATOR:
        return type(array)(np.transpose(array._ary, axes))
    return type(array)(shape=tuple(array.shape[a] for a in axes),
                       strides=tuple(array.strides[a] for a in axes),
                       dtype=array.dtype, stream=array.stream, gpu_data=array.gpu_data)
