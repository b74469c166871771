"""cuBLAS through ctypes, for the GPU backend's matrix products (blas.py).

No Python binding is needed: the library comes from NVIDIA's ``nvidia-cublas``
wheel (or a CUDA 12 one that PyTorch or JAX brought) and is loaded with
ctypes.  This module knows nothing of numba: callers pass device pointers and
the stream handle as integers.  Every call is asynchronous on that stream.
"""
import ctypes
import glob
import os
import re
import site
import sys

OP_N, OP_T = 0, 1
_POINTER_MODE_HOST = 0
# DEFAULT, not TF32_TENSOR_OP (3): float32 products keep float32 precision.
# PEDANTIC (2) would also forbid split-k reductions, which cost speed, not accuracy.
_DEFAULT_MATH = 0
INT_MAX = 2**31 - 1

_c_int, _c_ptr = ctypes.c_int, ctypes.c_void_p


def candidates():
    """libcublas.so.N files of the installed NVIDIA wheels, newest major version first."""
    roots = list(sys.path)
    try:
        roots += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:         # a virtualenv's old site module lacks them
        pass
    found = {}
    for root in roots:
        for pattern in ("nvidia/cu*/lib/libcublas.so.*", "nvidia/cublas/lib/libcublas.so.*"):
            for path in glob.glob(os.path.join(root or ".", pattern)):
                found.setdefault(os.path.realpath(path), path)

    def major(path):
        match = re.search(r"libcublas\.so\.(\d+)", path)
        return int(match.group(1)) if match else 0
    return sorted(found.values(), key=major, reverse=True)


class CublasError(RuntimeError):
    pass


class Cublas:
    """One handle on ``stream`` (an integer CUstream; 0 is the legacy default
    stream), pointer mode host, no TF32.  Opening it needs a current CUDA
    context: the runtime inside cuBLAS then uses that (primary) context."""

    def __init__(self, path, stream):
        self.path = path
        self.lib = lib = ctypes.CDLL(path)
        lib.cublasGetStatusString.restype = ctypes.c_char_p
        lib.cublasGetStatusString.argtypes = [_c_int]
        lib.cublasCreate_v2.argtypes = [ctypes.POINTER(_c_ptr)]
        lib.cublasSetStream_v2.argtypes = [_c_ptr, _c_ptr]
        lib.cublasSetPointerMode_v2.argtypes = [_c_ptr, _c_int]
        lib.cublasSetMathMode.argtypes = [_c_ptr, _c_int]
        for prefix, scalar in (("S", ctypes.c_float), ("D", ctypes.c_double)):
            ref = ctypes.POINTER(scalar)
            getattr(lib, f"cublas{prefix}gemm_v2").argtypes = [
                _c_ptr, _c_int, _c_int, _c_int, _c_int, _c_int, ref, _c_ptr, _c_int,
                _c_ptr, _c_int, ref, _c_ptr, _c_int]
            getattr(lib, f"cublas{prefix}gemv_v2").argtypes = [
                _c_ptr, _c_int, _c_int, _c_int, ref, _c_ptr, _c_int, _c_ptr, _c_int,
                ref, _c_ptr, _c_int]
        self.handle = _c_ptr()
        self._check(lib.cublasCreate_v2(ctypes.byref(self.handle)), "cublasCreate")
        self._check(lib.cublasSetStream_v2(self.handle, stream or None), "cublasSetStream")
        self._check(lib.cublasSetPointerMode_v2(self.handle, _POINTER_MODE_HOST),
                    "cublasSetPointerMode")
        self._check(lib.cublasSetMathMode(self.handle, _DEFAULT_MATH), "cublasSetMathMode")
        # bound once: the per-call cost is what small products pay
        self._gemm = {"f": (lib.cublasSgemm_v2, ctypes.c_float),
                      "d": (lib.cublasDgemm_v2, ctypes.c_double)}
        self._gemv = {"f": (lib.cublasSgemv_v2, ctypes.c_float),
                      "d": (lib.cublasDgemv_v2, ctypes.c_double)}

    def _check(self, status, what):
        if status != 0:
            text = self.lib.cublasGetStatusString(status)
            raise CublasError(f"{what} failed: {text.decode() if text else status} "
                              f"({self.path})")

    def gemm(self, char, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        """Column-major C (m, n) = alpha op(A) op(B) + beta C; ``char`` 'f' or 'd'."""
        fn, scalar = self._gemm[char]
        self._check(fn(self.handle, opa, opb, m, n, k, ctypes.byref(scalar(alpha)), a, lda,
                       b, ldb, ctypes.byref(scalar(beta)), c, ldc), "gemm")

    def gemv(self, char, op, m, n, alpha, a, lda, x, incx, beta, y, incy):
        """Column-major y = alpha op(A) x + beta y, A (m, n)."""
        fn, scalar = self._gemv[char]
        self._check(fn(self.handle, op, m, n, ctypes.byref(scalar(alpha)), a, lda, x, incx,
                       ctypes.byref(scalar(beta)), y, incy), "gemv")


def open_first(stream):
    """The first candidate that opens, or CublasError listing why none did (a
    CUDA 13 cuBLAS fails to create a handle on an older driver: the next is tried)."""
    reasons = []
    for path in candidates():
        try:
            return Cublas(path, stream)
        except (OSError, AttributeError, CublasError) as exc:
            reasons.append(f"{path}: {exc}")
    raise CublasError("no usable cuBLAS: " + ("; ".join(reasons) or
                      "no libcublas.so.* in an nvidia/*/lib folder of site-packages "
                      "(pip install nvidia-cublas)"))
