"""Matrix products of the GPU backend, called by the host driver on device arrays.

``matmul(a, b, out, alpha, beta)``: out = alpha a @ b + beta out, a (m, k),
b (k, n), out (m, n) C-contiguous; ``matvec(a, x, out, alpha, beta,
transpose)``: out = alpha op(a) @ x + beta out with op(a) = a.T when
``transpose``.  One float dtype (float32 or float64) throughout; a, b and x
may be strided views.  With beta == 0 out's old contents are never read (they
may be NaN garbage).  Everything is launched on numba's default stream and
nothing waits for it.

Two implementations: cuBLAS (found in the ``nvidia-cublas`` wheel, loaded by
cublas.py) on a real GPU, and tiled kernels written here, which the simulator
runs, which serve where cuBLAS cannot be loaded, and which
``SYMGRAPH_CUDA_BLAS=kernels`` forces (``=cublas`` insists on cuBLAS).  The
choice is made once, at the first product; ``info()`` says which.
"""
import os
import threading

import numpy as np

from . import cublas as _cublas
from .cudalib import SIMULATOR, cuda, empty, jit, permuted

# Compile-time constants: in the simulator every CUDA thread is a Python thread,
# so blocks there are tiny and grids capped low (which also exercises the
# grid-stride loops that keep results independent of the grid size).
TILE = 4 if SIMULATOR else 16                 # matmul: TILE x TILE outputs per block
LANES, ROWS = (4, 2) if SIMULATOR else (32, 8)    # matvec: LANES threads share a row
THREADS = 4 if SIMULATOR else 128             # one-thread-per-output kernels
GRID_CAP = 2 if SIMULATOR else 65535

BACKEND_INFO = {}      # "implementation": "cublas" or "kernels"; "description"; "reason"
_lock = threading.Lock()
_lib = None
_kernels = {}


# ---------------------------------------------------------------- kernels
# Each maker closes over a NumPy scalar type so that shared arrays and
# accumulators have the array's dtype: a float32 kernel holds no float64.

def _make_matmul(dtype):
    T, zero = TILE, dtype(0)

    def matmul_tiled(a, b, out, alpha, beta):
        sa = cuda.shared.array((T, T), dtype)
        sb = cuda.shared.array((T, T), dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        m, n, k = out.shape[0], out.shape[1], a.shape[1]
        # the tile loops depend on the block only: every thread reaches each syncthreads
        for ti in range(cuda.blockIdx.y, (m + T - 1) // T, cuda.gridDim.y):
            i = ti * T + ty
            for tj in range(cuda.blockIdx.x, (n + T - 1) // T, cuda.gridDim.x):
                j = tj * T + tx
                acc = zero
                for k0 in range(0, k, T):
                    sa[ty, tx] = a[i, k0 + tx] if i < m and k0 + tx < k else zero
                    sb[ty, tx] = b[k0 + ty, j] if k0 + ty < k and j < n else zero
                    cuda.syncthreads()
                    for kk in range(T):
                        acc += sa[ty, kk] * sb[kk, tx]
                    cuda.syncthreads()
                if i < m and j < n:
                    value = alpha * acc
                    if beta != zero:
                        value += beta * out[i, j]
                    out[i, j] = value
    return matmul_tiled


def _make_matmul_simple(dtype):
    """One thread per output, no shared memory: what the simulator runs by
    default, where each barrier of the tiled kernel costs milliseconds."""
    zero = dtype(0)

    def matmul_simple(a, b, out, alpha, beta):
        m, n, k = out.shape[0], out.shape[1], a.shape[1]
        for t in range(cuda.grid(1), m * n, cuda.gridsize(1)):
            i, j = t // n, t % n
            acc = zero
            for kk in range(k):
                acc += a[i, kk] * b[kk, j]
            value = alpha * acc
            if beta != zero:
                value += beta * out[i, j]
            out[i, j] = value
    return matmul_simple


def _make_matvec_rows(dtype):
    """out[r] = alpha sum_c A[r, c] x[c] + beta out[r], LANES threads per row:
    for an A whose rows are contiguous, so neighbouring lanes read neighbours."""
    W, R, zero = LANES, ROWS, dtype(0)

    def matvec_rows(A, x, out, alpha, beta):
        part = cuda.shared.array((R, W), dtype)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        rows, cols = A.shape[0], A.shape[1]
        for r0 in range(cuda.blockIdx.x * R, rows, cuda.gridDim.x * R):
            r = r0 + ty
            acc = zero
            if r < rows:
                for c in range(tx, cols, W):
                    acc += A[r, c] * x[c]
            part[ty, tx] = acc
            cuda.syncthreads()
            step = W // 2
            while step > 0:
                if tx < step:
                    part[ty, tx] += part[ty, tx + step]
                cuda.syncthreads()
                step //= 2
            if tx == 0 and r < rows:
                value = alpha * part[ty, 0]
                if beta != zero:
                    value += beta * out[r]
                out[r] = value
            cuda.syncthreads()      # the next row group overwrites part
    return matvec_rows


def _make_matvec_cols(dtype):
    """The same product, one thread per output: for an A whose columns are
    contiguous (a transposed C array), where neighbouring outputs are neighbours."""
    zero = dtype(0)

    def matvec_cols(A, x, out, alpha, beta):
        rows, cols = A.shape[0], A.shape[1]
        for r in range(cuda.grid(1), rows, cuda.gridsize(1)):
            acc = zero
            for c in range(cols):
                acc += A[r, c] * x[c]
            value = alpha * acc
            if beta != zero:
                value += beta * out[r]
            out[r] = value
    return matvec_cols


def _make_copy2d(dtype):
    def copy2d(src, dst):
        j0, i0 = cuda.grid(2)          # x runs along dst's contiguous rows
        sj, si = cuda.gridsize(2)
        for i in range(i0, dst.shape[0], si):
            for j in range(j0, dst.shape[1], sj):
                dst[i, j] = src[i, j]
    return copy2d


def _make_copy1d(dtype):
    def copy1d(src, dst):
        for i in range(cuda.grid(1), dst.shape[0], cuda.gridsize(1)):
            dst[i] = src[i]
    return copy1d


_MAKERS = {"matmul": _make_matmul, "matmul_simple": _make_matmul_simple,
           "matvec_rows": _make_matvec_rows,
           "matvec_cols": _make_matvec_cols, "copy2d": _make_copy2d, "copy1d": _make_copy1d}
_SIGNATURES = {"matmul": "void({t}[:, :], {t}[:, :], {t}[:, ::1], {t}, {t})",
               "matmul_simple": "void({t}[:, :], {t}[:, :], {t}[:, ::1], {t}, {t})",
               "matvec_rows": "void({t}[:, :], {t}[:], {t}[:], {t}, {t})",
               "matvec_cols": "void({t}[:, :], {t}[:], {t}[:], {t}, {t})",
               "copy2d": "void({t}[:, :], {t}[:, ::1])",
               "copy1d": "void({t}[:], {t}[::1])"}


def kernels_for_ptx():
    """[(python function, signature string)] for every kernel here, float32 and
    float64, for a test that compiles them with compile_ptx."""
    return [(_MAKERS[name](dtype), sig.format(t=dtype.__name__))
            for name, sig in _SIGNATURES.items() for dtype in (np.float32, np.float64)]


def _kernel(name, dtype):
    key = (name, dtype)
    kernel = _kernels.get(key)
    if kernel is None:
        # lazily typed: each layout of the views gets its own specialisation
        kernel = _kernels[key] = jit(_MAKERS[name](dtype.type))
    return kernel


def _blocks(count, per_block):
    return max(1, min(GRID_CAP, -(-count // per_block)))


# ---------------------------------------------------------------- the choice

def _choose():
    global _lib
    forced = os.environ.get("SYMGRAPH_CUDA_BLAS", "").strip().lower()
    if SIMULATOR and forced != "kernels":
        BACKEND_INFO.update(implementation="simple", description="simple kernels (simulator)")
    elif forced == "kernels":
        BACKEND_INFO.update(implementation="kernels", description="tiled kernels",
                            reason="SYMGRAPH_CUDA_BLAS=kernels")
    else:
        try:
            cuda.current_context()     # cuBLAS's runtime adopts numba's primary context
            _lib = _cublas.open_first(int(cuda.default_stream().handle))
            BACKEND_INFO.update(implementation="cublas", description=f"cublas {_lib.path}")
        except _cublas.CublasError as exc:
            if forced == "cublas":
                raise
            BACKEND_INFO.update(implementation="kernels", description="tiled kernels",
                                reason=str(exc))


def _backend():
    if not BACKEND_INFO:
        with _lock:
            if not BACKEND_INFO:
                _choose()
    return _lib


def info():
    """Which implementation the products use: "cublas <path>", "tiled kernels
    (simulator)" or "tiled kernels" (``BACKEND_INFO["reason"]`` says why)."""
    _backend()
    return BACKEND_INFO["description"]


def _reset():
    """Forget the choice (tests switch SYMGRAPH_CUDA_BLAS between products)."""
    global _lib
    with _lock:
        BACKEND_INFO.clear()
        _lib = None


# ---------------------------------------------------------------- host functions

def transpose_view(x):
    """x.T without a copy (numba's DeviceNDArray.T launches a transposing copy)."""
    return permuted(x, tuple(reversed(range(x.ndim))))


def _dtype(*arrays):
    dtype = arrays[0].dtype
    if dtype not in (np.float32, np.float64) or any(x.dtype != dtype for x in arrays):
        raise TypeError("matrix products take float32 or float64 arrays of one dtype, got "
                        + ", ".join(str(x.dtype) for x in arrays))
    return dtype


def matmul(a, b, out, alpha=1.0, beta=0.0):
    """out = alpha * a @ b + beta * out (see the module docstring); returns out."""
    dtype = _dtype(a, b, out)
    (m, k), (k2, n) = a.shape, b.shape
    if k2 != k or tuple(out.shape) != (m, n):
        raise ValueError(f"matmul: shapes {a.shape} @ {b.shape} -> {out.shape}")
    if m == 0 or n == 0:
        return out
    alpha, beta = dtype.type(alpha), dtype.type(beta)
    lib = _backend()
    if lib is not None and k > 0 and max(m, n, k) <= _cublas.INT_MAX:
        out_layout = _layout(out)
        if out_layout is not None and out_layout[0] == _cublas.OP_N:
            _gemm(lib, dtype, a, b, out, alpha, beta, out_layout[1])
            return out
    if BACKEND_INFO["implementation"] == "simple":
        _kernel("matmul_simple", dtype)[_blocks(m * n, THREADS), THREADS](a, b, out, alpha, beta)
        return out
    _kernel("matmul", dtype)[(_blocks(n, TILE), _blocks(m, TILE)), (TILE, TILE)](
        a, b, out, alpha, beta)
    return out


def matvec(a, x, out, alpha=1.0, beta=0.0, transpose=False):
    """out = alpha * op(a) @ x + beta * out, op(a) = a.T when ``transpose``; returns out."""
    dtype = _dtype(a, x, out)
    A = transpose_view(a) if transpose else a
    rows, cols = A.shape
    if x.shape != (cols,) or out.shape != (rows,):
        raise ValueError(f"matvec: shapes {A.shape} @ {x.shape} -> {out.shape}")
    if rows == 0:
        return out
    alpha, beta = dtype.type(alpha), dtype.type(beta)
    lib = _backend()
    if (lib is not None and cols > 0 and max(rows, cols) <= _cublas.INT_MAX
            and out.strides[0] > 0):
        _gemv(lib, dtype, A, x, out, alpha, beta)
    elif BACKEND_INFO["implementation"] != "simple" and (
            A.strides[1] == dtype.itemsize or A.strides[0] != dtype.itemsize):
        _kernel("matvec_rows", dtype)[_blocks(rows, ROWS), (LANES, ROWS)](A, x, out, alpha, beta)
    else:
        _kernel("matvec_cols", dtype)[_blocks(rows, THREADS), THREADS](A, x, out, alpha, beta)
    return out


# ---------------------------------------------------------------- cuBLAS calls
# cuBLAS is column-major: the memory of a row-major (r, c) array with unit
# column stride is the column-major (c, r) matrix x.T, leading dimension the
# row stride; with unit row stride it is x itself, leading dimension the
# column stride.  A row-major product C = A B is the column-major C.T = B.T A.T.

def _layout(x):
    """(op, leading dimension) giving x.T to cuBLAS, or None (another layout)."""
    (r, c), item = x.shape, x.dtype.itemsize
    sr, sc = x.strides[0] // item, x.strides[1] // item
    if (sc == 1 or c == 1) and (r == 1 or sr >= max(1, c)):
        return _cublas.OP_N, (sr if r > 1 else max(1, c))
    if (sr == 1 or r == 1) and (c == 1 or sc >= max(1, r)):
        return _cublas.OP_T, (sc if c > 1 else max(1, r))
    return None


def _usable(x):
    """x itself, or a C-contiguous copy when cuBLAS cannot read its layout."""
    layout = _layout(x)
    if layout is not None and layout[1] <= _cublas.INT_MAX:
        return x, layout
    copy = empty(x.shape, x.dtype)
    _kernel("copy2d", x.dtype)[(_blocks(x.shape[1], 16), _blocks(x.shape[0], 16)), (16, 16)](
        x, copy)
    return copy, _layout(copy)


def _pointer(x):
    return x.device_ctypes_pointer.value or 0


def _gemm(lib, dtype, a, b, out, alpha, beta, ldc):
    """out's rows must be contiguous (an OP_N layout), ``ldc`` its row stride."""
    (m, k), n = a.shape, b.shape[1]
    a, (opa, lda) = _usable(a)
    b, (opb, ldb) = _usable(b)
    # column-major out.T (n, m) = op(b.T) (n, k) @ op(a.T) (k, m)
    lib.gemm(dtype.char, opb, opa, n, m, k, alpha, _pointer(b), ldb, _pointer(a), lda,
             beta, _pointer(out), ldc)


def _gemv(lib, dtype, A, x, out, alpha, beta):
    rows, cols = A.shape
    A, (op, ld) = _usable(A)
    if x.strides[0] <= 0:          # BLAS reads a negative increment from the far end
        copy = empty(x.shape, dtype)
        _kernel("copy1d", dtype)[_blocks(cols, THREADS), THREADS](x, copy)
        x = copy
    inc_x, inc_out = x.strides[0] // dtype.itemsize, out.strides[0] // dtype.itemsize
    # the memory holds A.T (cols, rows) for OP_N, A (rows, cols) for OP_T
    if op == _cublas.OP_N:
        lib.gemv(dtype.char, _cublas.OP_T, cols, rows, alpha, _pointer(A), ld,
                 _pointer(x), inc_x, beta, _pointer(out), inc_out)
    else:
        lib.gemv(dtype.char, _cublas.OP_N, rows, cols, alpha, _pointer(A), ld,
                 _pointer(x), inc_x, beta, _pointer(out), inc_out)
