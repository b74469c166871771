"""Linear algebra (T.eye, T.diag, T.trace, T.nlinalg, T.slinalg) beyond the op
table's rows (values, gradients, backends): bad matrices raise naming the
variable, integer matrices compute in float64, misuse fails when the graph is
built, and the gradients of a small model with a log-determinant."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from backends import compare_backends


@pytest.fixture(scope="module")
def bad_matrix_functions():
    a, s, m = T.dmatrices("A", "S", "M")
    b = T.dvector("b")
    outputs = [T.nlinalg.matrix_inverse(a), T.slinalg.cholesky(s), T.slinalg.solve(m, b)]
    return {mode: sg.function([a, s, m, b], outputs, mode=mode) for mode in ("python", "numba")}


SINGULAR = np.array([[1.0, 2.0], [2.0, 4.0]])
GOOD = np.array([[2.0, 0.5], [0.5, 3.0]])


@pytest.mark.parametrize("mode", ["python", "numba"])
@pytest.mark.parametrize("args,text", [
    ((SINGULAR, GOOD, GOOD), r"matrix_inverse: the matrix is singular(.|\n)*matrix_inverse\(A\)"),
    ((GOOD, -GOOD, GOOD), r"cholesky: the matrix is not positive definite(.|\n)*cholesky\(S\)"),
    ((GOOD, GOOD, SINGULAR), r"solve: the matrix is singular(.|\n)*solve\(M, b\)"),
], ids=["inverse of a singular matrix", "cholesky of a negative definite", "solve singular"])
def test_bad_matrices_raise_naming_the_variable(bad_matrix_functions, mode, args, text):
    f = bad_matrix_functions[mode]
    with pytest.raises(np.linalg.LinAlgError, match=text) as info:
        f(*args, np.ones(2))
    assert "test_linalg.py" in str(info.value)          # the user's line that built it
    # good matrices still work afterwards
    inv, chol, x = f(GOOD, GOOD, GOOD, np.ones(2))
    np.testing.assert_allclose(inv @ GOOD, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(chol @ chol.T, GOOD)
    np.testing.assert_allclose(GOOD @ x, np.ones(2))


@pytest.mark.parametrize("mode", ["python", "numba"])
def test_non_square_matrix_raises(bad_matrix_functions, mode):
    with pytest.raises(ValueError, match=r"square(.|\n)*matrix_inverse\(A\)"):
        bad_matrix_functions[mode](np.ones((2, 3)), GOOD, GOOD, np.ones(2))


def test_integer_and_float32_matrices():
    a = T.imatrix("a")
    f32 = T.fmatrix("f")
    b = T.dvector("b")
    outs = [T.nlinalg.matrix_inverse(a), T.nlinalg.det(a), T.slinalg.solve(a, b),
            T.nlinalg.matrix_inverse(f32), T.slinalg.solve(f32, b), T.trace(a)]
    assert [o.dtype for o in outs] == ["float64"] * 3 + ["float32", "float64", "int64"]
    values = [np.array([[3, 1], [1, 2]], "int32"), np.array([[2, 1], [0, 1]], "float32"),
              np.array([1.0, -1.0])]
    got = compare_backends([a, f32, b], outs, [values[0], values[1], values[2]], tol=1e-6)
    np.testing.assert_allclose(got[0], np.linalg.inv(values[0]))
    np.testing.assert_allclose(got[1], 5.0)
    assert got[5] == 5


def test_misuse_fails_when_the_graph_is_built():
    v, t3 = T.dvector("v"), T.dtensor3("t")
    with pytest.raises(TypeError, match="matrix_inverse: a must be a matrix.*v"):
        T.nlinalg.matrix_inverse(v)
    with pytest.raises(TypeError, match="diag takes a vector or a matrix, got 3-d t"):
        T.diag(t3)
    with pytest.raises(TypeError, match="trace takes a matrix, got 1-d v"):
        T.trace(v)
    with pytest.raises(TypeError, match="solve: b must be a vector or a matrix"):
        T.slinalg.solve(T.dmatrix("a"), T.dscalar("c"))


def test_eye_with_symbolic_sizes_and_the_theano_paths():
    n, k = T.lscalar("n"), T.lscalar("k")
    f = sg.function([n, k], T.eye(n, n + 1, k), mode="python")
    np.testing.assert_array_equal(f(3, -1), np.eye(3, 4, -1))
    assert T.eye(2).dtype == sg.config.floatX
    assert T.nlinalg.diag is T.diag and T.nlinalg.trace is T.trace


def test_gaussian_log_likelihood_gradient():
    # a model that uses them together: -log N(x; 0, S) with S = L L^T + I,
    # through det, matrix_inverse, cholesky and solve; gradient by finite differences
    def nll(l, x):
        s = T.dot(l, l.T) + T.eye(3)
        chol = T.slinalg.cholesky(s)
        z = T.slinalg.solve(chol, x)
        quad = T.dot(x, T.dot(T.nlinalg.matrix_inverse(s), x))
        # x S^-1 x twice: through the inverse and through the Cholesky factor
        return 0.5 * T.log(T.nlinalg.det(s)) + 0.25 * quad + 0.25 * T.sum(z ** 2) + T.trace(chol)

    rng = np.random.default_rng(3)
    sg.verify_grad(nll, [rng.normal(size=(3, 3)), rng.normal(size=3)], rng=rng)


def test_shapes_are_known_without_computing():
    # a zero matrix: computing the inverse, the factor or the solution would raise
    a, b = T.dmatrices("a", "b")
    outs = [T.nlinalg.matrix_inverse(a).shape, T.slinalg.cholesky(a).shape,
            T.slinalg.solve(a, b).shape, T.nlinalg.det(a).shape]
    f = sg.function([a, b], outs, mode="python")
    ops = {str(n.op) for n in f.graph.toposort()}
    assert not ops & {"matrix_inverse", "cholesky", "solve", "det"}, ops
    got = f(np.zeros((3, 3)), np.zeros((3, 2)))
    assert [list(s) for s in got] == [[3, 3], [3, 3], [3, 2], []]
