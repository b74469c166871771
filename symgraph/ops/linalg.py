"""Dense linear algebra on matrices: inverse, determinant, Cholesky factor and
linear solve (NumPy's LAPACK calls in the reference, Numba's in the compiled
program).  ``T.eye``, ``T.diag`` and ``T.trace`` are graphs of existing ops
(tensor/nlinalg.py) and need no op of their own."""
from dataclasses import dataclass

import numpy as np

from ..types import TensorType, is_float, upcast
from .base import Op
from ..late import tensor as T


def _float_dtype(*dtypes):
    """The result dtype of a LAPACK call on ``dtypes``: float32 stays float32,
    everything else computes in float64 (as NumPy's linalg does)."""
    dtype = upcast(*dtypes)
    return dtype if is_float(dtype) else "float64"


def _if_float(x, g):
    """``g``, the gradient of ``x``; none flows to an integer input."""
    return g if is_float(x.dtype) else None


def _matrix(x, what, role="a"):
    if x.ndim != 2:
        raise TypeError(f"{what}: {role} must be a matrix (2-d), got {x.ndim}-d {x!r}")


def _square(a, what):
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"{what}: the matrix must be square, got shape {a.shape}")


class _LinalgOp(Op):
    """Shared by the ops below: ``str`` is the Theano name, LAPACK's failure
    becomes a LinAlgError saying what is wrong with the matrix."""
    name = ""
    failure = "the matrix is singular"

    def __str__(self):
        return self.name

    def lapack(self, fn, *args):
        try:
            return fn(*args)
        except np.linalg.LinAlgError:
            raise np.linalg.LinAlgError(f"{self.name}: {self.failure}") from None


class _SquareToSquare(_LinalgOp):
    """A square matrix in, a matrix of its shape out, through ``numpy_fn``."""
    numpy_fn = None
    shape_of = 0

    def make_node(self, a):
        _matrix(a, self.name)
        return self.apply([a], [TensorType(_float_dtype(a.dtype), a.broadcastable)])

    def perform(self, a):
        _square(a, self.name)
        return self.lapack(type(self).numpy_fn, a)


@dataclass(frozen=True)
class MatrixInverse(_SquareToSquare):
    """The inverse of a square matrix."""
    name = "matrix_inverse"
    numpy_fn = np.linalg.inv

    def grad(self, inputs, outputs, grads):
        # d(A^-1) = -A^-1 dA A^-1, so dA's gradient is -A^-T g A^-T
        inv_t = outputs[0].T
        return [_if_float(inputs[0], -T.dot(T.dot(inv_t, grads[0]), inv_t))]


@dataclass(frozen=True)
class Det(_LinalgOp):
    """The determinant of a square matrix (0 for a singular one)."""
    name = "det"

    def make_node(self, a):
        _matrix(a, self.name)
        return self.apply([a], [TensorType(_float_dtype(a.dtype), ())])

    def perform(self, a):
        _square(a, self.name)
        return np.asarray(np.linalg.det(a))

    def infer_shape(self, node, input_shapes):
        return [()]

    def grad(self, inputs, outputs, grads):
        # d det(A) = det(A) tr(A^-1 dA)
        return [_if_float(inputs[0], grads[0] * outputs[0] * matrix_inverse(inputs[0]).T)]


@dataclass(frozen=True)
class Cholesky(_SquareToSquare):
    """The lower Cholesky factor L of a symmetric positive-definite matrix (A = L L^T);
    only the lower triangle of A is read."""
    name = "cholesky"
    failure = "the matrix is not positive definite"
    numpy_fn = np.linalg.cholesky

    def grad(self, inputs, outputs, grads):
        # A symmetric perturbation dA moves L by dL = L Phi(L^-1 dA L^-T), Phi keeping
        # the lower triangle with its diagonal halved; so the gradient, symmetrized,
        # is sym(L^-T Phi(L^T g) L^-1).  Like Theano's, it treats A as symmetric.
        (l,), g = outputs, grads[0]
        n = l.shape[0]
        rows = T.arange(n).dimshuffle(0, "x")
        cols = T.arange(n).dimshuffle("x", 0)
        phi = T.switch(T.gt(rows, cols), 1.0, T.switch(T.eq(rows, cols), 0.5, 0.0))
        p = T.dot(l.T, g) * T.cast(phi, l.dtype)
        left = solve(l.T, p)               # L^-T P
        s = solve(l.T, left.T).T            # L^-T P L^-1
        return [_if_float(inputs[0], T.cast(0.5, l.dtype) * (s + s.T))]


@dataclass(frozen=True)
class Solve(_LinalgOp):
    """x with a x = b, for a square matrix a and a vector or matrix b."""
    name = "solve"

    def make_node(self, a, b):
        _matrix(a, self.name)
        if b.ndim not in (1, 2):
            raise TypeError(f"solve: b must be a vector or a matrix, got {b.ndim}-d {b!r}")
        flags = (a.broadcastable[1],) + b.broadcastable[1:]
        return self.apply([a, b], [TensorType(_float_dtype(a.dtype, b.dtype), flags)])

    def perform(self, a, b):
        _square(a, self.name)
        if b.shape[0] != a.shape[0]:
            raise ValueError(f"solve: a has {a.shape[0]} rows but b has {b.shape[0]}")
        return self.lapack(np.linalg.solve, a, b)

    def infer_shape(self, node, input_shapes):
        a_shape, b_shape = input_shapes
        return [(a_shape[1],) + tuple(b_shape[1:])]

    def grad(self, inputs, outputs, grads):
        (a, b), x, g = inputs, outputs[0], grads[0]
        gb = solve(a.T, g)
        ga = -(T.outer(gb, x) if x.ndim == 1 else T.dot(gb, x.T))
        return [_if_float(a, ga), _if_float(b, gb)]


matrix_inverse = MatrixInverse()
det = Det()
cholesky = Cholesky()
solve = Solve()
