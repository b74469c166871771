"""Calls whose arguments share memory with a shared variable updated in place,
and calls from several threads (issue 11)."""
import sys
import threading

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

MODES = ["numba", "python"]


# ------------------------------------------------------------------ aliasing
def _square(n):
    return np.arange(n * n, dtype=float).reshape(n, n) / n


@pytest.mark.parametrize("mode", MODES)
def test_update_reading_its_own_buffer_reversed(mode):
    # the reproducer: [4, 4, 4, 7, 8] in numba mode before
    W = sg.shared(np.arange(5.0))
    x = T.dvector("x")
    f = sg.function([x], [], updates=[(W, W + x[::-1])], mode=mode)
    arg = W.get_value(borrow=True)
    f(arg)
    np.testing.assert_array_equal(W.get_value(), [4, 4, 4, 4, 4])
    np.testing.assert_array_equal(arg, np.arange(5.0))   # the caller's array is untouched
    f(W.get_value(borrow=True))
    np.testing.assert_array_equal(W.get_value(), [8, 8, 8, 8, 8])


def _reverse(x):
    return x[::-1]


def _transpose(x):
    return x.T


def _slice_of_a_larger_buffer():
    # W is base[1:] and the argument base[:5]: W[i] and x[i + 1] are one element
    base = np.arange(6.0)
    return sg.shared(base[1:], borrow=True), lambda buf: base[:5]


VIEWS = [
    # name, () -> (W, buffer -> the argument), the input's type, the update W + 2 * g(x)
    ("x[::-1]", lambda: (sg.shared(np.arange(5.0)), lambda buf: buf), T.dvector, _reverse),
    ("x.T", lambda: (sg.shared(_square(4)), lambda buf: buf), T.dmatrix, _transpose),
    ("a slice", _slice_of_a_larger_buffer, T.dvector, lambda x: x),
    # a row of W, broadcast over W's rows: row 1 is written before rows 2 and 3 read it
    ("a row", lambda: (sg.shared(_square(4)), lambda buf: buf[1]), T.dvector, lambda x: x),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name, setup, make, view", VIEWS, ids=[v[0] for v in VIEWS])
def test_aliasing_through_views(mode, name, setup, make, view):
    W, arg = setup()
    x = make("x")
    f = sg.function([x], [], updates=[(W, W + 2 * view(x))], mode=mode)
    for _ in range(2):
        a = arg(W.get_value(borrow=True))
        want = W.get_value() + 2 * np.asarray(view(a.copy()))
        saved = a.copy()
        f(a)
        np.testing.assert_array_equal(W.get_value(), want)
        np.testing.assert_array_equal(a, saved)   # the update went to a copy


@pytest.mark.parametrize("mode", MODES)
def test_two_shared_variables_borrowed_from_one_array(mode):
    data = np.arange(6.0)
    A = sg.shared(data, borrow=True)
    B = sg.shared(data, borrow=True)
    f = sg.function([], [], updates=[(A, A + B[::-1])], mode=mode)
    f()
    np.testing.assert_array_equal(A.get_value(), np.arange(6.0) + np.arange(6.0)[::-1])
    np.testing.assert_array_equal(B.get_value(), np.arange(6.0))

    data = np.arange(6.0)
    A = sg.shared(data, borrow=True)
    B = sg.shared(data, borrow=True)
    g = sg.function([], [], updates=[(A, A + 1), (B, B * 2)], mode=mode)
    g()
    np.testing.assert_array_equal(A.get_value(), np.arange(6.0) + 1)
    np.testing.assert_array_equal(B.get_value(), np.arange(6.0) * 2)


def test_gemm_update_reading_the_target():
    # BLAS writes W in blocks while it still reads A = W: wrong from about 300 x 300
    n = 300
    start = np.random.default_rng(0).random((n, n))
    M = T.dmatrix("M")
    for expr, want in [(lambda W: W - 0.1 * T.dot(M, M), start - 0.1 * start @ start),
                       (lambda W: W - 0.1 * T.dot(M, M.T), start - 0.1 * start @ start.T)]:
        W = sg.shared(start.copy())
        f = sg.function([M], [], updates=[(W, expr(W))], mode="numba")
        f(W.get_value(borrow=True))
        np.testing.assert_allclose(W.get_value(), want, rtol=1e-12, atol=1e-12)


def test_gemm_update_with_the_target_as_first_factor():
    n = 300
    rng = np.random.default_rng(1)
    start, B = rng.random((n, n)), rng.random((n, n))
    W = sg.shared(start.copy())
    A, Bv = T.dmatrices("A", "B")
    f = sg.function([A, Bv], [], updates=[(W, W - 0.01 * T.dot(A, Bv))], mode="numba")
    f(W.get_value(borrow=True), B)
    np.testing.assert_allclose(W.get_value(), start - 0.01 * start @ B, rtol=1e-12, atol=1e-12)


def test_gemv_update_reading_the_target():
    n = 1000
    rng = np.random.default_rng(2)
    A, start = rng.random((n, n)), rng.random(n)
    w = sg.shared(start.copy())
    M, v = T.dmatrix("M"), T.dvector("v")
    f = sg.function([M, v], [], updates=[(w, w - 0.1 * T.dot(M, v))], mode="numba")
    f(A, w.get_value(borrow=True))
    np.testing.assert_allclose(w.get_value(), start - 0.1 * A @ start, rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------------ threads
@pytest.fixture
def busy_switching():
    # switch between threads as often as possible, so that races show
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(old)


def _in_threads(work, n=4):
    """Run ``work(k)`` in n threads started together; the exceptions they raised."""
    barrier = threading.Barrier(n)
    errors = []

    def body(k):
        try:
            barrier.wait()
            work(k)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


@pytest.mark.parametrize("mode", ["numba", "python", "debug"])
@pytest.mark.parametrize("shape", [(), (3,)], ids=["scalar", "vector"])
def test_no_update_is_lost_across_threads(mode, shape, busy_switching):
    c = sg.shared(np.zeros(shape), name="c")
    f = sg.function([], [], updates=[(c, c + 1)], mode=mode)

    def work(k):
        for _ in range(1000):
            f()

    assert _in_threads(work) == []
    np.testing.assert_array_equal(c.get_value(), np.full(shape, 4000.0))


def test_two_functions_updating_one_variable(busy_switching):
    c = sg.shared(np.zeros(3), name="c")
    d = sg.shared(np.zeros(()), name="d")
    up = sg.function([], [], updates=[(c, c + 1), (d, d + 1)])
    down = sg.function([], [], updates=[(d, d - 1), (c, c - 1)])   # the other order

    def work(k):
        for _ in range(1000):
            (up if k % 2 else down)()

    assert _in_threads(work) == []
    np.testing.assert_array_equal(c.get_value(), np.zeros(3))
    assert d.get_value() == 0


def test_concurrent_compilation_of_one_graph():
    # a constant unique to this run: the graph is compiled, not found on disk
    k = float(np.random.default_rng().integers(1, 2**40))
    results = [None] * 4

    def work(i):
        x = T.dvector("x")
        f = sg.function([x], T.exp(x) * 2 + k, mode="numba")
        results[i] = f(np.zeros(3))

    assert _in_threads(work) == []
    for r in results:
        np.testing.assert_array_equal(r, np.full(3, 2 + k))


def test_updates_of_one_call_appear_together(busy_switching):
    # a call writes a and b in place; other threads read them through get_value
    # and through another updating function: never one updated and not the other,
    # never a half-written array
    n = 200_000
    a = sg.shared(np.zeros(n), name="a")
    b = sg.shared(np.zeros(n), name="b")
    seen = sg.shared(np.zeros(()), name="seen")
    step = sg.function([], [], updates=[(a, a + 1), (b, b + 1)])
    gap = sg.function([], T.max(abs(a - b)), updates=[(seen, seen + 1)])
    problems = []

    def work(k):
        for _ in range(60):
            if k == 0:
                step()
            elif k == 1:
                if gap() != 0:
                    problems.append("a and b differ")
            else:
                v = a.get_value()
                if v.min() != v.max():
                    problems.append("half-written copy")

    assert _in_threads(work) == []
    assert problems == []
    assert a.get_value()[0] == b.get_value()[0] == 60


@pytest.mark.parametrize("mode", MODES)
def test_aliasing_among_many_arguments(mode):
    # enough arrays that the fast path checks them in one call, not pair by pair
    W = sg.shared(np.arange(5.0))
    xs = T.dvectors("a", "b", "c", "d")
    f = sg.function(list(xs), [], updates=[(W, W + xs[0] * xs[1] + xs[2] + xs[3][::-1])],
                    mode=mode)
    ones = [np.ones(5), np.ones(5), np.zeros(5)]
    f(*ones, W.get_value(borrow=True))
    np.testing.assert_array_equal(W.get_value(), np.arange(5.0) + 1 + np.arange(5.0)[::-1])


def test_shared_variables_still_pickle_and_copy():
    # the lock a shared variable now carries is not pickled: a copy gets its own
    import copy
    import pickle
    s = sg.shared(np.arange(3.0), name="s")
    for t in (pickle.loads(pickle.dumps(s)), copy.deepcopy(s)):
        np.testing.assert_array_equal(t.get_value(), [0, 1, 2])
        assert t.container.lock is not s.container.lock
        t.set_value(np.zeros(3))
        np.testing.assert_array_equal(s.get_value(), [0, 1, 2])
