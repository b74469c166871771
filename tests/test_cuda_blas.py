"""The GPU backend's matrix products (symgraph/compile/numba_cuda/blas.py).

The device tests run on a GPU, or on Numba's simulator when the caller set
NUMBA_ENABLE_CUDASIM=1 (this module sets nothing): on a GPU both cuBLAS and
the tiled kernels are checked, on the simulator the simple and the tiled kernels.  The PTX test
needs numba-cuda's compiler, not a GPU, and not the simulator.  The row-major
to column-major mapping of the cuBLAS calls is checked everywhere, against a
stand-in for cuBLAS that reads host memory the way cuBLAS reads device memory.
"""
import ctypes
import os

import numpy as np
import pytest

from symgraph.compile.numba_cuda import blas, cublas, cudalib

ON_DEVICE = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or cudalib.problem() is None
device = pytest.mark.skipif(not ON_DEVICE, reason=f"no GPU ({cudalib.problem()}) and "
                            "NUMBA_ENABLE_CUDASIM is not 1")
# on the simulator "default" is the simple kernel, "kernels" the tiled ones
IMPLS = ["default", "kernels"]
TOL = {np.float32: 2e-5, np.float64: 1e-12}


@pytest.fixture(params=IMPLS)
def impl(request, monkeypatch):
    if request.param == "kernels":
        monkeypatch.setenv("SYMGRAPH_CUDA_BLAS", "kernels")
    else:
        monkeypatch.delenv("SYMGRAPH_CUDA_BLAS", raising=False)
    blas._reset()
    yield blas.info()
    blas._reset()


def on_device(x, layout):
    """A device array equal to x: C-contiguous ("c"), a transposed view of a
    C-contiguous array ("t"), or every other column of a wider one ("s")."""
    if layout == "c":
        return cudalib.to_device(np.ascontiguousarray(x))
    if layout == "t":
        return blas.transpose_view(cudalib.to_device(np.ascontiguousarray(x.T)))
    if x.ndim == 1:
        wide = np.zeros(2 * x.shape[0], x.dtype)
        wide[::2] = x
        return cudalib.to_device(wide)[::2]
    wide = np.zeros((x.shape[0], 2 * x.shape[1]), x.dtype)
    wide[:, ::2] = x
    return cudalib.to_device(wide)[:, ::2]


def check(got, want, dtype):
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype] * scale)


@device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("m, k, n, la, lb", [
    (5, 7, 3, "c", "c"), (17, 33, 9, "c", "c"), (17, 33, 9, "t", "c"), (5, 7, 3, "c", "t"),
    (5, 7, 3, "t", "t"), (5, 7, 3, "s", "c"), (4, 8, 4, "c", "s"), (1, 1, 1, "c", "c"),
    (6, 1, 5, "t", "c"), (3, 0, 2, "c", "c")])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (2.0, 0.5)])
def test_matmul(impl, dtype, m, k, n, la, lb, alpha, beta):
    rng = np.random.default_rng(m * 100 + k * 10 + n)
    a, b = rng.normal(size=(m, k)).astype(dtype), rng.normal(size=(k, n)).astype(dtype)
    # with beta 0 out's old contents are garbage and must not reach the result
    old = np.full((m, n), np.nan, dtype) if beta == 0 else rng.normal(size=(m, n)).astype(dtype)
    out = cudalib.to_device(old)
    blas.matmul(on_device(a, la), on_device(b, lb), out, alpha, beta)
    want = alpha * (a.astype(np.float64) @ b) + (beta * old if beta else 0)
    got = out.copy_to_host()
    assert got.dtype == dtype
    check(got, want, dtype)


@device
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows, cols, la, lx, transpose", [
    (5, 7, "c", "c", False), (5, 7, "c", "c", True), (17, 33, "t", "c", False),
    (17, 33, "t", "c", True), (6, 9, "s", "s", False), (6, 9, "s", "c", True),
    (1, 1, "c", "c", False), (4, 0, "c", "c", False), (0, 4, "c", "c", True)])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (-1.5, 2.0)])
def test_matvec(impl, dtype, rows, cols, la, lx, transpose, alpha, beta):
    rng = np.random.default_rng(rows * 10 + cols)
    a = rng.normal(size=(rows, cols)).astype(dtype)
    op = a.T if transpose else a
    x = rng.normal(size=op.shape[1]).astype(dtype)
    size = op.shape[0]
    old = np.full(size, np.nan, dtype) if beta == 0 else rng.normal(size=size).astype(dtype)
    out = cudalib.to_device(old)
    blas.matvec(on_device(a, la), on_device(x, lx), out, alpha, beta, transpose)
    want = alpha * (op.astype(np.float64) @ x) + (beta * old if beta else 0)
    check(out.copy_to_host(), want, dtype)


@device
def test_products_check_dtypes_and_shapes():
    a32 = cudalib.to_device(np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="one dtype"):
        blas.matmul(a32, cudalib.to_device(np.ones((3, 2))), cudalib.to_device(np.ones((2, 2))))
    with pytest.raises(ValueError, match="shapes"):
        blas.matmul(a32, a32, cudalib.to_device(np.ones((2, 2), np.float32)))
    with pytest.raises(ValueError, match="shapes"):
        blas.matvec(a32, cudalib.to_device(np.ones(2, np.float32)),
                    cudalib.to_device(np.ones(2, np.float32)))


@pytest.mark.skipif(cudalib.SIMULATOR, reason="compile_ptx does not run under the simulator")
def test_kernels_compile_and_float32_kernels_hold_no_float64():
    pytest.importorskip("numba_cuda")
    if cudalib.cuda is None:
        pytest.skip("numba's CUDA target cannot be imported")
    compiled = 0
    for fn, sig in blas.kernels_for_ptx():
        ptx, _ = cudalib.compile_ptx(fn, sig, cc=(9, 0))
        if "float32" in sig:
            assert ".f64" not in ptx, f"{fn.__name__} {sig}"
        compiled += 1
    assert compiled == 2 * len(blas._SIGNATURES)


# ---------------------------------------------------------------- the cuBLAS mapping

class HostCublas:
    """cuBLAS's column-major gemm/gemv on host pointers, checking the leading
    dimensions the way cuBLAS does (it would answer CUBLAS_STATUS_INVALID_VALUE)."""

    calls = 0

    @staticmethod
    def matrix(ptr, char, rows, cols, ld):
        assert ld >= max(1, rows), f"leading dimension {ld} < {rows} rows"
        dtype = np.dtype(char)
        buf = (ctypes.c_char * (((cols - 1) * ld + rows) * dtype.itemsize)).from_address(ptr)
        return np.ndarray((rows, cols), dtype, buffer=buf,
                          strides=(dtype.itemsize, ld * dtype.itemsize))

    def op(self, op, ptr, char, rows, cols, ld):
        if op == cublas.OP_N:
            return self.matrix(ptr, char, rows, cols, ld)
        return self.matrix(ptr, char, cols, rows, ld).T

    def gemm(self, char, opa, opb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        self.calls += 1
        C = self.matrix(c, char, m, n, ldc)
        C[...] = alpha * (self.op(opa, a, char, m, k, lda) @ self.op(opb, b, char, k, n, ldb)) \
            + (beta * C if beta else 0)

    def gemv(self, char, op, m, n, alpha, a, lda, x, incx, beta, y, incy):
        self.calls += 1
        A = self.matrix(a, char, m, n, lda)
        A = A.T if op == cublas.OP_T else A
        item = np.dtype(char).itemsize
        xs = np.ndarray((A.shape[1],), char, buffer=(ctypes.c_char * (
            ((A.shape[1] - 1) * incx + 1) * item)).from_address(x), strides=(incx * item,))
        ys = np.ndarray((A.shape[0],), char, buffer=(ctypes.c_char * (
            ((A.shape[0] - 1) * incy + 1) * item)).from_address(y), strides=(incy * item,))
        ys[...] = alpha * (A @ xs) + (beta * ys if beta else 0)


@pytest.fixture
def host_cublas(monkeypatch):
    fake = HostCublas()
    monkeypatch.setattr(blas, "_pointer", lambda x: x.ctypes.data)
    return fake


def host(x, layout):
    if layout == "c":
        return np.ascontiguousarray(x)
    if layout == "t":
        return np.ascontiguousarray(x.T).T
    wide = np.zeros((x.shape[0] + 3, x.shape[1] + 2), x.dtype)    # padded rows
    wide[:x.shape[0], :x.shape[1]] = x
    return wide[:x.shape[0], :x.shape[1]]


@pytest.mark.parametrize("m, k, n", [(5, 7, 3), (1, 4, 6), (6, 4, 1), (3, 1, 2), (1, 1, 1)])
@pytest.mark.parametrize("la", ["c", "t", "p"])
@pytest.mark.parametrize("lb", ["c", "t", "p"])
def test_cublas_call_maps_row_major_product(host_cublas, m, k, n, la, lb):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(m, k)), rng.normal(size=(k, n))
    old = rng.normal(size=(m, n))
    out = host(old, "p")                     # rows apart by more than their length
    blas._gemm(host_cublas, np.dtype(np.float64), host(a, la), host(b, lb), out, 2.0, 0.5,
               blas._layout(out)[1])
    assert host_cublas.calls == 1
    np.testing.assert_allclose(out, 2.0 * a @ b + 0.5 * old, rtol=1e-12)


@pytest.mark.parametrize("rows, cols", [(5, 7), (1, 4), (4, 1)])
@pytest.mark.parametrize("la", ["c", "t", "p"])
@pytest.mark.parametrize("transpose", [False, True])
def test_cublas_call_maps_row_major_matvec(host_cublas, rows, cols, la, transpose):
    rng = np.random.default_rng(1)
    a = host(rng.normal(size=(rows, cols)), la)
    A = a.T if transpose else a
    x = np.zeros(2 * A.shape[1])[::2]        # a strided vector
    x[:] = rng.normal(size=A.shape[1])
    out = np.zeros(A.shape[0])
    blas._gemv(host_cublas, np.dtype(np.float64), A, x, out, 1.5, 0.0)
    np.testing.assert_allclose(out, 1.5 * A @ x, rtol=1e-12)


def test_layouts_cublas_cannot_read_are_copied():
    x = np.zeros((4, 6))
    assert blas._layout(x) == (cublas.OP_N, 6)
    assert blas._layout(x.T) == (cublas.OP_T, 6)
    assert blas._layout(x[:, ::2]) is None
    assert blas._layout(x[::-1]) is None
    assert blas._layout(np.broadcast_to(np.zeros(3), (4, 3))) is None


def test_cublas_binding_resolves_every_function():
    """Each cuBLAS wheel found loads and binds its functions; without a GPU,
    creating the handle fails with cuBLAS's own message."""
    paths = cublas.candidates()
    if not paths:
        pytest.skip("no nvidia-cublas wheel installed")
    for path in paths:
        try:
            cublas.Cublas(path, 0)
        except cublas.CublasError as exc:
            assert not ON_DEVICE or cudalib.SIMULATOR, exc
            assert "cublasCreate" in str(exc)
