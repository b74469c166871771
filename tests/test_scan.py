"""scan: the standard Theano scan programs with only the imports changed, each
checked against NumPy in every mode; gradients against finite differences."""
import os

import numpy as np
import pytest

import symgraph as theano
import symgraph.tensor as T
from backends import compare_backends

MODES = ["python", "numba"] + [m for m in os.environ.get("SYMGRAPH_TEST_MODES", "").split(",") if m == "cuda"]
rng = np.random.default_rng(42)


def tanh_rows():
    X, W, b = T.dmatrix("X"), T.dmatrix("W"), T.dvector("b")
    r, _ = theano.scan(lambda v, W, b: T.tanh(T.dot(v, W) + b), sequences=X,
                       non_sequences=[W, b])
    x, w, bb = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    return [X, W, b], r, [x, w, bb], np.tanh(x @ w + bb)


def two_sequences_one_reversed():
    X, Y, P = T.dmatrix("X"), T.dmatrix("Y"), T.dmatrix("P")
    x0 = T.dvector("x0")
    W, U, V = T.dmatrix("W"), T.dmatrix("U"), T.dmatrix("V")
    r, _ = theano.scan(lambda y, p, x_tm1: T.tanh(T.dot(x_tm1, W) + T.dot(y, U) + T.dot(p, V)),
                       sequences=[Y, P[::-1]], outputs_info=[x0])
    vals = [rng.normal(size=s) * 0.5 for s in [(4,), (4, 4), (5, 3), (3, 4), (6, 2), (2, 4)]]
    x, w, y, u, p, v = vals
    want, prev = [], x
    for t in range(5):
        prev = np.tanh(prev @ w + y[t] @ u + p[::-1][t] @ v)
        want.append(prev)
    return [x0, W, Y, U, P, V], r, vals, np.array(want)


def norms():
    X = T.dmatrix("X")
    rows, _ = theano.scan(lambda x: T.sqrt((x ** 2).sum()), sequences=[X])
    cols, _ = theano.scan(lambda x: T.sqrt((x ** 2).sum()), sequences=[X.T])
    x = rng.normal(size=(4, 3))
    return [X], [rows, cols], [x], [np.sqrt((x ** 2).sum(1)), np.sqrt((x ** 2).sum(0))]


def trace_by_indices():
    X = T.dmatrix("X")
    floats = T.dscalar("zero")
    diag, _ = theano.scan(lambda i, j, t_f, X: T.cast(X[i, j] + t_f, "float64"),
                          sequences=[T.arange(X.shape[0]), T.arange(X.shape[1])],
                          outputs_info=floats, non_sequences=X)
    x = rng.normal(size=(4, 4))
    return [X, floats], diag[-1], [x, np.float64(0)], np.trace(x)


def fibonacci_taps():
    a, n = T.dvector("a"), T.iscalar("n")
    fib, _ = theano.scan(lambda x2, x1: x2 + x1, outputs_info=dict(initial=a, taps=[-2, -1]),
                         n_steps=n)
    want = [0, 1]
    for _ in range(8):
        want.append(want[-1] + want[-2])
    return [a, n], fib, [np.array([0.0, 1.0]), np.int32(8)], np.array(want[2:], float)


def polynomial_shortest():
    coefs, x = T.dvector("coefficients"), T.dscalar("x")
    terms, _ = theano.scan(lambda c, power, x: c * x ** power,
                           sequences=[coefs, T.arange(10000)], non_sequences=x)
    c = np.array([1.0, 0.0, 2.0])
    return [coefs, x], terms.sum(), [c, np.float64(3)], np.float64(1 + 2 * 9)


def power_last_only():
    A, k = T.dvector("A"), T.iscalar("k")
    result, _ = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                            non_sequences=A, n_steps=k)
    a = np.arange(5.0)
    return [A, k], result[-1], [a, np.int32(4)], a ** 4


def power_iteration_until():
    M, v0 = T.dmatrix("M"), T.dvector("v0")

    def step(v, M):
        w = T.dot(M, v)
        w = w / T.sqrt((w ** 2).sum())
        return w, theano.scan_module.until(T.sqrt(((w - v) ** 2).sum()) < 1e-10)
    vs, _ = theano.scan(step, outputs_info=v0, non_sequences=M, n_steps=1000)
    m = np.array([[2.0, 1.0], [1.0, 3.0]])
    w, v = np.linalg.eigh(m)
    top = v[:, -1] * np.sign(v[0, -1])
    return [M, v0], vs[-1] * T.sgn(vs[-1][0]), [m, np.array([1.0, 0.0])], top


PROGRAMS = [tanh_rows, two_sequences_one_reversed, norms, trace_by_indices, fibonacci_taps,
            polynomial_shortest, power_last_only, power_iteration_until]


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.__name__)
def test_scan_programs_match_numpy(program):
    inputs, outputs, values, want = program()
    got = compare_backends(inputs, outputs, values, modes=MODES, tol=1e-9)
    wants = want if isinstance(outputs, list) else [want]
    for g, w in zip(got, wants):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_markov_chain_updates_a_shared_variable_from_fn(mode):
    # a two-state chain: the shared state advances once per step, the
    # function's updates carry the value after the loop
    state = theano.shared(np.array([1.0, 0.0]), "state")
    P = T.dmatrix("P")
    k = T.iscalar("k")

    def step(P):
        new = T.dot(state, P)
        return new, {state: new}
    probs, updates = theano.scan(step, non_sequences=P, n_steps=k)
    f = theano.function([P, k], probs, updates=updates, mode=mode)
    p = np.array([[0.9, 0.1], [0.5, 0.5]])
    got = f(p, 3)
    want = [np.array([1.0, 0.0]) @ np.linalg.matrix_power(p, t + 1) for t in range(3)]
    np.testing.assert_allclose(got, want)
    np.testing.assert_allclose(state.get_value(), want[-1])
    f(p, 0)   # no step: the state keeps its value
    np.testing.assert_allclose(state.get_value(), want[-1])


@pytest.mark.parametrize("mode", MODES)
def test_zero_steps_give_empty_outputs(mode):
    a, n = T.dvector("a"), T.iscalar("n")
    X = T.dmatrix("X")
    out, _ = theano.scan(lambda x, h: h + x, sequences=X, outputs_info=a, n_steps=n)
    mapped, _ = theano.scan(lambda x: x * 2, sequences=X, n_steps=n)
    f = theano.function([a, X, n], [out, mapped], mode=mode)
    r = f(np.ones(3), np.ones((4, 3)), 0)
    assert r[0].shape == (0, 3) and r[1].shape == (0, 3)
    with pytest.raises(ValueError, match="sequence"):
        f(np.ones(3), np.ones((4, 3)), 6)


def test_map_reduce_fold():
    x = T.dvector("x")
    sq, _ = theano.map(lambda v: v ** 2, x)
    total, _ = theano.reduce(lambda v, acc: acc + v, x, T.constant(0.0))
    left, _ = theano.foldl(lambda v, acc: acc * 2 + v, x, T.constant(0.0))
    right, _ = theano.foldr(lambda v, acc: acc * 2 + v, x, T.constant(0.0))
    xv = np.array([1.0, 2.0, 3.0])
    got = compare_backends([x], [sq, total, left, right], [xv], modes=MODES)
    for g, w in zip(got, [xv ** 2, 6.0, 11.0, 17.0]):
        np.testing.assert_allclose(g, w)


# ------------------------------------------------------------------ gradients
def _numeric(f, args, i, eps=1e-6):
    g = np.zeros_like(args[i])
    for idx in np.ndindex(args[i].shape):
        plus = [a.copy() for a in args]
        plus[i][idx] += eps
        minus = [a.copy() for a in args]
        minus[i][idx] -= eps
        g[idx] = (f(*plus)[0] - f(*minus)[0]) / (2 * eps)
    return g


def rnn_cost():
    X, W, h0, U = T.dmatrix("X"), T.dmatrix("W"), T.dvector("h0"), T.dmatrix("U")
    hs, _ = theano.scan(lambda x, h, W, U: T.tanh(T.dot(x, W) + T.dot(h, U)),
                        sequences=X, outputs_info=h0, non_sequences=[W, U])
    vals = [rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4),
            rng.normal(size=(4, 4)) * 0.5]
    return [X, W, h0, U], (hs ** 2).sum() + hs[-1].sum(), vals


def taps_cost():
    a, c = T.dvector("a"), T.dvector("c")
    fib, _ = theano.scan(lambda x2, x1, c: x2 * c[0] + T.tanh(x1) * c[1],
                         outputs_info=dict(initial=a, taps=[-2, -1]), non_sequences=c,
                         n_steps=6)
    return [a, c], (fib ** 2).sum(), [np.array([0.3, 0.7]), np.array([0.9, 0.4])]


def implicit_and_sequence_taps_cost():
    x, w = T.dvector("x"), T.dscalar("w")
    out, _ = theano.scan(lambda prev, now, acc: acc * w + prev * now,
                         sequences=dict(input=x, taps=[-1, 0]), outputs_info=T.constant(0.0))
    return [x, w], out.sum(), [rng.normal(size=6), np.array(0.7)]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build", [rnn_cost, taps_cost, implicit_and_sequence_taps_cost],
                         ids=lambda b: b.__name__)
def test_gradient_through_scan_matches_finite_differences(build, mode):
    inputs, cost, vals = build()
    f = theano.function(inputs, [cost] + theano.grad(cost, inputs), mode=mode)
    got = f(*vals)
    for i in range(len(inputs)):
        np.testing.assert_allclose(got[1 + i], _numeric(f, vals, i), rtol=1e-5, atol=1e-7,
                                   err_msg=f"gradient of {inputs[i]}")


def test_truncated_gradient_is_backpropagation_through_the_last_steps():
    x, w = T.dvector("x"), T.dscalar("w")
    h0 = T.dscalar("h0")
    hs, _ = theano.scan(lambda xt, h, w: T.tanh(w * h + xt), sequences=x, outputs_info=h0,
                        non_sequences=w, truncate_gradient=2)
    cost = hs[-1]
    gx, gw, gh = theano.grad(cost, [x, w, h0])
    f = theano.function([x, w, h0], [gx, gw, gh], mode="python")
    xv, wv, hv = rng.normal(size=5), 0.8, 0.3
    h = [hv]
    for t in range(5):
        h.append(np.tanh(wv * h[-1] + xv[t]))
    # by hand: only the last two steps carry the gradient back
    want_x, want_w, g = np.zeros(5), 0.0, 1.0
    for t in (4, 3):
        d = g * (1 - h[t + 1] ** 2)
        want_x[t] = d
        want_w += d * h[t]
        g = d * wv
    got = f(xv, wv, hv)
    np.testing.assert_allclose(got[0], want_x)
    np.testing.assert_allclose(got[1], want_w)
    assert got[2] == 0.0
    # with at least as many steps as the loop has, it is the whole gradient
    grads = {}
    for truncate in (-1, 10):
        hs2, _ = theano.scan(lambda xt, h, w: T.tanh(w * h + xt), sequences=x, outputs_info=h0,
                             non_sequences=w, truncate_gradient=truncate)
        grads[truncate] = theano.function([x, w, h0], theano.grad(hs2[-1], [x, w, h0]),
                                          mode="python")(xv, wv, hv)
    for a, b in zip(grads[-1], grads[10]):
        np.testing.assert_allclose(a, b)


@pytest.mark.parametrize("mode", MODES)
def test_scan_jacobian_and_hessian_equal_T_jacobian_and_hessian(mode):
    x = T.dvector("x")
    y = x ** 2 * T.sin(x).sum()
    J, _ = theano.scan(lambda i, y, x: T.grad(y[i], x), sequences=T.arange(y.shape[0]),
                       non_sequences=[y, x])
    cost = (x ** 3).sum() * T.cos(x).sum()
    gy = T.grad(cost, x)
    H, _ = theano.scan(lambda i, gy, x: T.grad(gy[i], x), sequences=T.arange(gy.shape[0]),
                       non_sequences=[gy, x])
    f = theano.function([x], [J, T.jacobian(y, x), H, T.hessian(cost, x)], mode=mode)
    j1, j2, h1, h2 = f(rng.normal(size=4))
    np.testing.assert_allclose(j1, j2)
    np.testing.assert_allclose(h1, h2)


def _scan_buffers(f):
    """The lengths of the state buffers the compiled program allocates."""
    from symgraph.compile.plan import Alloc, walk
    return [step.dims for step in walk(f._thunk.program.plan.steps)
            if isinstance(step, Alloc) and step.name.startswith("sb")]


@pytest.mark.parametrize("mode", MODES)
def test_a_scan_read_only_at_its_last_step_keeps_only_that_step(mode):
    A, k = T.dvector("A"), T.iscalar("k")
    result, _ = theano.scan(lambda prior, A: prior * A, outputs_info=T.ones_like(A),
                            non_sequences=A, n_steps=k)
    f = theano.function([A, k], result[-1], mode=mode)
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, theano.scan_module.Scan)]
    assert node.op.state_modes == ("last",)
    a = np.full(3, 1.0001)
    for steps in (10, 10_000):
        np.testing.assert_allclose(f(a, steps), a ** steps)
    if mode == "numba":
        # one row (the look-back), not 1 + n_steps: the same for 10 and 10,000 steps
        assert _scan_buffers(f) == [["1", "A.shape[0]".replace("A", "arg0")]]
    with pytest.raises(IndexError):
        f(a, 0)    # as on the full, empty trace
    # the full trace, also read elsewhere, is kept whole
    g = theano.function([A, k], [result[-1], result.sum()], mode=mode)
    assert [n.op.state_modes for n in g.maker.fgraph.toposort()
            if isinstance(n.op, theano.scan_module.Scan)] == [("trace",)]


def test_a_row_times_a_fixed_matrix_is_one_product_outside_the_loop():
    X, W, b = T.dmatrix("X"), T.dmatrix("W"), T.dvector("b")
    E, words = T.dmatrix("E"), T.ivector("words")
    r, _ = theano.scan(lambda v, w, h, W, b: T.tanh(T.dot(v, W) + b + E[w] + h),
                       sequences=[X, words], outputs_info=T.zeros_like(b), non_sequences=[W, b])
    f = theano.function([X, W, b, E, words], r, mode="python")
    (node,) = [n for n in f.maker.fgraph.toposort() if isinstance(n.op, theano.scan_module.Scan)]
    inner_ops = {type(n.op).__name__ for n in theano.graph.toposort(list(node.op.inner_outputs))}
    assert "Dot" not in inner_ops and "Subtensor" not in inner_ops, inner_ops
    x, w, bb = rng.normal(size=(5, 3)), rng.normal(size=(3, 2)), rng.normal(size=2)
    e, ws = rng.normal(size=(7, 2)), np.array([1, 6, 0, 2, 2], np.int32)
    h, want = np.zeros(2), []
    for t in range(5):
        h = np.tanh(x[t] @ w + bb + e[ws[t]] + h)
        want.append(h)
    got = compare_backends([X, W, b, E, words], r, [x, w, bb, e, ws], modes=MODES)
    np.testing.assert_allclose(got[0], want)
