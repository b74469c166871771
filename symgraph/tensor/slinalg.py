"""``T.slinalg``: Theano's module of SciPy-style linear algebra: the Cholesky
factor and the solution of a linear system (ops of ``ops/linalg.py``)."""
from ..ops import linalg as _ops

__all__ = ["cholesky", "solve"]


def cholesky(a):
    """The lower-triangular L with L L^T = a, for a symmetric positive-definite
    matrix ``a`` (only its lower triangle is read); an ``a`` that is not positive
    definite raises numpy.linalg.LinAlgError naming it.  The gradient treats
    ``a`` as symmetric, as Theano's does."""
    return _ops.cholesky(a)


def solve(a, b):
    """x such that dot(a, x) == b, for a square matrix ``a`` and a vector or matrix
    ``b``; a singular ``a`` raises numpy.linalg.LinAlgError naming it."""
    return _ops.solve(a, b)
