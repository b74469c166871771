"""``T.nlinalg``: Theano's module of NumPy-style linear algebra (inverse,
determinant, diagonal, trace), and ``T.eye``.  ``eye``, ``diag`` and ``trace``
are graphs of existing ops; the others are ops of ``ops/linalg.py``."""
from ..config import config
from ..ops import linalg as _ops
from .basic import arange, as_tensor_variable, cast, dimshuffle, eq, minimum, switch

__all__ = ["eye", "diag", "trace", "matrix_inverse", "det"]


def eye(n, m=None, k=0, dtype=None):
    """An n x m matrix (m defaults to n) with ones on diagonal ``k`` (0: the main
    one, k > 0 above it, k < 0 below it) and zeros elsewhere, of ``dtype``
    (default config.floatX); n, m and k may be symbolic integers."""
    rows = dimshuffle(arange(n), 0, "x")
    cols = dimshuffle(arange(n if m is None else m), "x", 0)
    return cast(eq(rows + k, cols), dtype or config.floatX)


def diag(x):
    """A vector's diagonal matrix (the vector on the diagonal, zeros elsewhere), or
    the main diagonal of a matrix as a vector; other ranks raise TypeError."""
    x = as_tensor_variable(x)
    if x.ndim == 1:
        n = x.shape[0]
        on_diagonal = eq(dimshuffle(arange(n), 0, "x"), dimshuffle(arange(n), "x", 0))
        return switch(on_diagonal, dimshuffle(x, "x", 0), cast(0, x.dtype))
    if x.ndim == 2:
        i = arange(minimum(x.shape[0], x.shape[1]))
        return x[i, i]
    raise TypeError(f"diag takes a vector or a matrix, got {x.ndim}-d {x!r}")


def trace(x):
    """The sum of a matrix's main diagonal."""
    x = as_tensor_variable(x)
    if x.ndim != 2:
        raise TypeError(f"trace takes a matrix, got {x.ndim}-d {x!r}")
    return diag(x).sum()


def matrix_inverse(a):
    """The inverse of the square matrix ``a``; a singular ``a`` raises
    numpy.linalg.LinAlgError naming it.  Integer matrices give float64."""
    return _ops.matrix_inverse(a)


def det(a):
    """The determinant of the square matrix ``a`` (a scalar)."""
    return _ops.det(a)
