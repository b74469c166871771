"""The Numba backend against the reference backend.

``compare_numba_and_py`` compiles a graph in mode='python' and mode='numba'
and checks that values, dtypes and shapes agree and that no input was
mutated.  It runs over the rows of op_table.py (every row and dtype), then
over cases the table does not cover: training steps with updates written in
place, failing calls, error messages, the debug mode.
"""
import re
import zlib

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from op_table import ROWS


def _tolerance(dtypes):
    if any(d == "float32" for d in dtypes):
        return 2e-5
    if any(np.dtype(d).kind == "f" for d in dtypes):
        return 1e-9
    return 0


def assert_same(got, ref, tol, where=""):
    assert isinstance(got, np.ndarray), where
    assert got.dtype == ref.dtype, f"{where}: dtype {got.dtype}, reference {ref.dtype}"
    assert got.shape == ref.shape, f"{where}: shape {got.shape}, reference {ref.shape}"
    if tol:
        np.testing.assert_allclose(got, ref, rtol=tol, atol=tol, equal_nan=True, err_msg=where)
    else:
        np.testing.assert_array_equal(got, ref, err_msg=where)


def compare_numba_and_py(inputs, outputs, values, updates=None, tol=None, calls=1):
    """Compile in both modes, call ``calls`` times, compare every output and every
    updated shared value.  Returns the numba function."""
    single = not isinstance(outputs, (list, tuple))
    shared = [s for s, _ in (updates or [])]
    start = [s.get_value() for s in shared]
    funcs, results = {}, {}
    for mode in ("python", "numba"):
        for s, v in zip(shared, start):
            s.set_value(v)
        f = funcs[mode] = sg.function(inputs, outputs, updates=updates, mode=mode)
        args = [np.array(v, copy=True) for v in values]
        for _ in range(calls):
            out = f(*args)
        for a, v in zip(args, values):
            assert a.dtype == v.dtype and np.array_equal(a, v, equal_nan=True), \
                "an input was mutated"
        results[mode] = ([out] if single else list(out)) + [s.get_value() for s in shared]
    dtypes = [str(np.asarray(v).dtype) for v in values] + [s.dtype for s in shared] + \
        [str(r.dtype) for r in results["python"]]
    tol = _tolerance(dtypes) if tol is None else tol
    for k, (got, ref) in enumerate(zip(results["numba"], results["python"])):
        assert_same(got, ref, tol, where=f"result {k}")
    return funcs["numba"]


# ------------------------------------------------------------------ the op table
def _cases():
    # every row and dtype on the row's first shapes; the other shape sets (other
    # broadcast flags) run in the default mode, numba, in test_ops.py against NumPy
    for row in ROWS:
        for dtype in row.dtypes:
            yield pytest.param(row, dtype, row.shapes[0], id=f"{row.name}-{dtype}")


@pytest.mark.parametrize("row,dtype,shapes", list(_cases()))
def test_op_table(row, dtype, shapes):
    rng = np.random.default_rng(zlib.crc32(f"{row.name}/{dtype}/{shapes}".encode()))
    inputs, out = row.graph(dtype, shapes)
    values = row.make_inputs(rng, dtype, shapes)
    with np.errstate(all="ignore"):
        compare_numba_and_py(inputs, out, values)


# ------------------------------------------------------------------ graphs beyond single ops
def _mlp_step(rng, inplace_old_value=False):
    """The LXMLS-style step of DESIGN.md section 1 (columns are examples)."""
    x, y = T.dmatrix("x"), T.ivector("y")
    W1 = sg.shared(rng.standard_normal((6, 9)) * 0.3, name="W1")
    b1 = sg.shared(np.zeros((6, 1)), name="b1", broadcastable=(False, True))
    W2 = sg.shared(rng.standard_normal((3, 6)) * 0.3, name="W2")
    b2 = sg.shared(np.zeros((3, 1)), name="b2", broadcastable=(False, True))
    h = T.nnet.sigmoid(T.dot(W1, x) + b1)
    p = T.nnet.softmax((T.dot(W2, h) + b2).T).T
    cost = -T.mean(T.log(p[y, T.arange(y.shape[0])]))
    params = [W1, b1, W2, b2]
    updates = [(v, v - 0.1 * T.grad(cost, v)) for v in params]
    outputs = [cost, W1] if inplace_old_value else cost
    values = [rng.random((9, 5)), rng.integers(0, 3, 5).astype("int32")]
    return [x, y], outputs, values, updates


def test_training_step_with_updates(rng):
    inputs, outputs, values, updates = _mlp_step(rng)
    compare_numba_and_py(inputs, outputs, values, updates=updates, calls=3)


def test_inplace_update_when_the_old_value_is_an_output(rng):
    # W1 is returned and updated: the returned array must hold the value before the update
    inputs, outputs, values, updates = _mlp_step(rng, inplace_old_value=True)
    W1 = updates[0][0]
    before = W1.get_value()
    f = sg.function(inputs, outputs, updates=updates, mode="numba")
    cost, old = f(*values)
    np.testing.assert_array_equal(old, before)
    assert not np.array_equal(W1.get_value(), before)
    compare_numba_and_py(inputs, outputs, values, updates=updates, calls=2)


def test_weight_update_is_written_in_place(rng):
    # the dense W1 update reuses W1's buffer: the LXMLS lever (DESIGN.md section 4)
    inputs, outputs, values, updates = _mlp_step(rng)
    W1 = updates[0][0]
    f = sg.function(inputs, outputs, updates=updates, mode="numba")
    buffer = W1.get_value(borrow=True)
    before = buffer.copy()
    f(*values)
    assert W1.get_value(borrow=True) is buffer
    assert not np.array_equal(buffer, before)


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("form", [
    lambda W, g: W - 0.1 * g,
    lambda W, g: 0.9 * W - g / 4,            # weight decay
    lambda W, g: W + g * (-0.5) * 2.0,
    lambda W, g: W - 0.1 * g * W,            # not linear in g: elementwise
])
def test_inplace_matrix_product_updates(layout, form, rng):
    _check_inplace_product_update(form, rng, layout, (5, 7), lambda a, b: T.dot(a, b.T),
                                  [T.dmatrix("a"), T.dmatrix("b")],
                                  [rng.random((5, 3)), rng.random((7, 3))])


@pytest.mark.parametrize("inner", [3, 0])
@pytest.mark.parametrize("form", [
    lambda w, g: w - 0.1 * g,
    lambda w, g: 0.9 * w - g / 4,            # weight decay: gemv skips beta when inner is 0
])
def test_inplace_matrix_vector_product_updates(form, inner, rng):
    # logistic regression's w <- w - lr * dot(X.T, e): one gemv writing into w
    f = _check_inplace_product_update(form, rng, "C", (7,), lambda X, e: T.dot(X.T, e),
                                      [T.dmatrix("X"), T.dvector("e")],
                                      [rng.random((inner, 7)), rng.random(inner)])
    update = f._thunk.program.source.split("\n    # node")[-1]
    assert "matvec(" in update and "np.empty" not in update and "np.zeros" not in update, update


def _check_inplace_product_update(form, rng, layout, shape, product, variables, inputs):
    start = rng.random(shape)
    results = {}
    for mode in ("python", "numba"):
        value = {"C": lambda: start.copy(), "F": lambda: np.asfortranarray(start),
                 "strided": lambda: np.repeat(start, 2, axis=1)[:, ::2]}[layout]()
        W = sg.shared(value, name="W", borrow=True)
        f = sg.function(variables, T.sum(W), updates=[(W, form(W, product(*variables)))],
                        mode=mode)
        outs = [f(*inputs), f(*inputs)]
        results[mode] = outs + [W.get_value()]
    for got, ref in zip(results["numba"], results["python"]):
        assert_same(np.asarray(got), np.asarray(ref), 1e-12)
    return f


def test_a_failed_call_leaves_shared_variables_unchanged(rng):
    inputs, outputs, values, updates = _mlp_step(rng)
    f = sg.function(inputs, outputs, updates=updates, mode="numba")
    shared = [s for s, _ in updates]
    before = [s.get_value() for s in shared]
    bad_x = rng.random((8, 5))   # W1 has 9 columns
    with pytest.raises(ValueError):
        f(bad_x, values[1])
    bad_y = np.array([0, 1, 7, 0, 1], dtype="int32")   # class 7 does not exist
    with pytest.raises(IndexError):
        f(values[0], bad_y)
    for s, b in zip(shared, before):
        np.testing.assert_array_equal(s.get_value(), b)


def test_update_of_a_view_of_itself_is_not_in_place(rng):
    # W <- W.T @ W reads W through a view while writing: must not be done in place
    W = sg.shared(rng.random((4, 4)), name="W")
    x = T.dvector("x")
    compare_numba_and_py([x], T.dot(W, x), [rng.random(4)],
                         updates=[(W, W.T * 0.5 + W)], calls=3)


def test_swap_updates(rng):
    a = sg.shared(rng.random(3), name="a")
    b = sg.shared(rng.random(3), name="b")
    x = T.dscalar("x")
    compare_numba_and_py([x], a.sum() * x, [np.array(2.0)], updates=[(a, b * 1.0), (b, a * 1.0)],
                         calls=3)


def test_scalar_shared_and_outputs(rng):
    c = sg.shared(np.array(0.0), name="c")
    x = T.dvector("x")
    compare_numba_and_py([x], [x.sum(), x.max()], [rng.random(5)], updates=[(c, c + x.sum())],
                         calls=2)


@pytest.mark.parametrize("n", [0, 1, 7])
def test_sizes_zero_and_one(n, rng):
    x = T.dmatrix("x")
    compare_numba_and_py([x], [x.sum(axis=0), T.exp(x) * 2, x.T[::-1], T.nnet.softmax(x)],
                         [rng.random((n, 3))])


def test_non_contiguous_inputs(rng):
    x, y = T.dmatrices("x", "y")
    big = rng.random((6, 8))
    f = compare_numba_and_py([x, y], [T.dot(x, y.T) + 1, (x * y).sum(axis=1)],
                             [big[::2, 1:5], big[1::2, ::2]])
    fx = sg.function([x, y], x * y + 1, mode="numba")
    np.testing.assert_allclose(fx(big[::2, ::2], big[:3, :4].T.copy().T),
                               big[::2, ::2] * big[:3, :4] + 1)
    del f


def test_large_constant_is_an_argument(rng):
    x = T.dvector("x")
    table = rng.random(1000)
    f = compare_numba_and_py([x], x + table, [rng.random(1000)])
    assert "cst0" in f._thunk.program.source
    assert repr(float(table[0])) not in f._thunk.program.source


def test_every_node_of_a_gradient_graph_lowers(rng):
    x = T.dmatrix("x")
    w = sg.shared(rng.random((4, 3)), name="w")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2) + T.max(x, axis=1).mean() + T.std(x)
    g = T.grad(cost, [w, x])
    compare_numba_and_py([x], [cost] + g, [rng.random((5, 4))])


# ------------------------------------------------------------------ errors
def test_missing_lowering_is_a_compile_error():
    from dataclasses import dataclass

    from symgraph.ops.base import Op
    from symgraph.types import TensorType

    @dataclass(frozen=True)
    class Mystery(Op):
        def make_node(self, x):
            return self.apply([x], [TensorType(x.dtype, x.broadcastable)])

        def perform(self, x):
            return x * 2

    x = T.dvector("x")
    with pytest.raises(NotImplementedError, match="no lowering for op.*mystery"):
        sg.function([x], Mystery()(x) + 1, mode="numba")


@pytest.mark.parametrize("build,line", [
    (lambda x, b, w: [x + b], "lambda x, b, w: [x + b]"),
    (lambda x, b, w: [T.dot(x, w).sum()], "lambda x, b, w: [T.dot(x, w).sum()]"),
])
def test_runtime_error_names_the_node_and_the_user_line(build, line):
    x, w = T.dmatrices("x", "w")
    b = T.dvector("b")
    f = sg.function([x, b, w], build(x, b, w), mode="numba", on_unused_input="ignore")
    with pytest.raises(ValueError) as info:
        f(np.ones((2, 3)), np.ones(4), np.ones((4, 2)))
    message = str(info.value)
    assert line in message and "test_numba.py" in message, message
    assert getattr(info.value, "node", None) is not None


def test_index_error_names_the_node():
    x = T.dvector("x")
    i = T.lvector("i")
    picked = x[i]   # index out of range at run time
    f = sg.function([x, i], picked * 2, mode="numba")
    with pytest.raises(IndexError) as info:
        f(np.ones(3), np.array([0, 5]))
    assert "picked = x[i]" in str(info.value)


def test_compiled_check_names_the_node_when_the_reference_passes(monkeypatch):
    # the fallback when the reference backend does not fail: the [node K] of the program
    from symgraph.compile import numba_cpu
    x = T.dvector("x")
    y = x[3]
    f = sg.function([x], y + 1, mode="numba")
    run = f._thunk

    def boom(*args):
        k = next(k for k, n in enumerate(run.program.nodes) if str(n.op) == "subtensor")
        raise IndexError(f"[node {k}] subtensor: index out of bounds")
    thunk = numba_cpu.make_thunk(f.graph, run.program, dispatcher=boom)
    with pytest.raises(IndexError, match=re.escape("y = x[3]")):
        thunk([np.ones(5)])


# ------------------------------------------------------------------ debug mode and call paths
def test_debug_mode_agrees_and_reports_nan():
    x = T.dvector("x")
    y = T.log(x) * 2
    f = sg.function([x], [y, y.sum()], mode="debug")
    got = f(np.array([1.0, 2.0]))
    np.testing.assert_allclose(got[0], np.log([1.0, 2.0]) * 2)
    with pytest.raises(FloatingPointError, match=re.escape("y = T.log(x) * 2")):
        f(np.array([-1.0, 2.0]))


def test_debug_mode_names_the_first_node_that_differs(monkeypatch):
    from symgraph.compile import debug
    from symgraph.ops import elemwise as ew
    x = T.dvector("x")
    y = T.exp(x)
    z = y.sum() * 2
    # a wrong lowering: exp computed as x + 1
    monkeypatch.setitem(debug.lowering._SCALAR_RULES, ew.Exp, lambda a, dt: f"({a} + 1.0)")
    f = sg.function([x], z, mode="debug")
    with pytest.raises(debug.DebugModeError, match=re.escape("y = T.exp(x)")):
        f(np.array([0.5, 2.0]))


def test_trust_input_path(rng):
    x = T.dvector("x")
    w = sg.shared(rng.random(20), name="w")
    cost = T.sum(w * x)
    f = sg.function([x], cost, updates=[(w, w - 0.01 * T.grad(cost, w))], trust_input=True,
                    mode="numba")
    xv = rng.random(20)
    w0 = w.get_value()
    for _ in range(3):
        c = f(xv)
    np.testing.assert_allclose(c, np.sum((w0 - 0.02 * xv) * xv))
    np.testing.assert_allclose(w.get_value(), w0 - 0.03 * xv)


@pytest.mark.parametrize("nonzero_rows", [0, 7, 300, 2048])
def test_skinny_products_of_mostly_zero_rows(nonzero_rows, rng):
    # W (small) @ x (long inner axis) with bag-of-words x: the loop that skips zero
    # rows (runtime.skinny_matmul) below a quarter nonzero, BLAS above
    from numba import njit

    from symgraph.compile.numba_cpu import runtime
    x = np.zeros((2048, 5))
    rows = np.sort(rng.choice(2048, nonzero_rows, replace=False))
    x[rows] = rng.integers(1, 4, size=(nonzero_rows, 5))
    W = rng.standard_normal((20, 2048))
    a, b = T.dmatrix("a"), T.dmatrix("b")
    compare_numba_and_py([a, b], [T.dot(a, b), T.dot(b.T, a.T)], [W, x])
    skinny = njit(lambda a, b, out: runtime.skinny_matmul(a, b, out, 2.0, 0.0))
    out = np.full((20, 5), np.nan)                 # beta = 0: what out held is ignored
    assert skinny(W, x, out) == (nonzero_rows <= 2048 // 4)
    if nonzero_rows <= 2048 // 4:
        np.testing.assert_allclose(out, 2.0 * W[:, rows] @ x[rows], rtol=1e-12)
        # as in reference BLAS, a nan or inf of W that meets only zeros of x is skipped
        # (NumPy's OpenBLAS gives nan there): implementation-defined in BLAS
        W[:, np.setdiff1d(np.arange(2048), rows)[0]] = np.nan
        skinny(W, x, out)
        assert np.isfinite(out).all()


def test_exactly_typed_calls_take_the_generated_fast_path(monkeypatch, rng):
    from symgraph.compile.function import Function
    checked = []
    original = Function._checked_call
    monkeypatch.setattr(Function, "_checked_call",
                        lambda self, *a, **k: checked.append(len(a)) or original(self, *a, **k))
    x = T.dvector("x")
    b = sg.shared(np.zeros((1, 3)), name="b", broadcastable=(True, False))
    w = sg.shared(rng.random(6), name="w")
    cost = T.sum(w * x)
    f = sg.function([x], [cost, b + 1.0], updates=[(w, w - 0.5 * T.grad(cost, w))], mode="numba")
    xv = rng.random(6)
    w0 = w.get_value()
    c, out = f(xv)
    assert checked == [], "an exactly typed call went through the checked path"
    np.testing.assert_allclose(c, np.sum(w0 * xv))
    np.testing.assert_allclose(w.get_value(), w0 - 0.5 * xv)
    np.testing.assert_array_equal(out, np.ones((1, 3)))
    # anything else takes the checked path, with the same results and errors
    for args, kwargs in [((list(xv),), {}), ((), {"x": xv}), ((np.repeat(xv, 2)[::2],), {})]:
        before = w.get_value()
        c, _ = f(*args, **kwargs)
        np.testing.assert_allclose(c, np.sum(before * xv))
    assert len(checked) == 3
    before = w.get_value()
    with pytest.raises(ValueError, match="test_numba.py"):
        f(rng.random(5))                  # w has 6 elements: names the line that built w * x
    np.testing.assert_array_equal(w.get_value(), before)


def test_large_costly_loops_use_the_parallel_variant(monkeypatch, rng):
    import inspect

    import symgraph.compile.numba_cpu as numba_cpu
    from symgraph.compile.numba_cpu import emit
    monkeypatch.setattr(numba_cpu, "PARALLEL_IN_BACKGROUND", False)
    monkeypatch.setattr(emit, "PARALLEL_MIN_SIZE", 100)
    x = T.dmatrix("x")
    f = sg.function([x], [T.tanh(x) * 2, (x * 2).sum(axis=1)], mode="numba")
    # tanh is compute-bound; x * 2 inside the sum is no loop of its own
    assert f._thunk.program.parallel_sizes == {"compute": "arg0.shape[0] * arg0.shape[1]"}
    f(rng.random((5, 4)))                     # 20 iterations: serial
    assert f._thunk.threaded == []
    compare_numba_and_py([x], [T.tanh(x) * 2, (x * 2).sum(axis=1)], [rng.random((30, 20))])
    big = rng.random((30, 20))
    got = f(big)
    assert len(f._thunk.threaded) == 1, "the parallel variant did not run"
    assert "prange(" in inspect.getsource(f._thunk.threaded[0].py_func)
    np.testing.assert_allclose(got[0], np.tanh(big) * 2)


def test_sigmoid_and_softplus_of_both_signs_share_one_exp():
    # the logistic-regression cost and its gradient use softplus/sigmoid of z and -z
    z = T.dvector("z")
    outs = [T.nnet.softplus(z) - 2 * T.nnet.softplus(-z),
            T.nnet.sigmoid(z) * 3 + T.nnet.sigmoid(-z)]
    extremes = np.array([-800.0, -40.0, -1.5, -0.0, 0.0, 1e-300, 2.0, 40.0, 800.0,
                         np.inf, -np.inf, np.nan])
    f = compare_numba_and_py([z], outs, [extremes])
    source = f._thunk.program.source
    assert source.count("fexp(") == 2, source      # one per output loop, not one per use
    assert source.count("log1p(") == 1, source


def test_floating_reductions_of_exp_and_tanh_call_libm_and_stores_keep_the_fast_forms():
    # a float sum is never vectorized, and one at a time libm's exp/tanh beat the
    # polynomial forms; a loop that stores (vectorized) keeps the fast forms
    x = T.dmatrix("x")
    summed = [T.exp(x).sum(), T.tanh(x).mean(axis=1), T.expm1(x).max(axis=1),
              T.nnet.softplus(x).sum(axis=1)]
    values = [np.array([[-800.0, -3.0, 0.5, 2.0], [1e-300, 40.0, -0.0, np.nan],
                        [700.0, -40.0, 3.0, -1.5]])]
    source = compare_numba_and_py([x], summed, values)._thunk.program.source
    assert "math.exp(" in source and "math.tanh(" in source and "math.expm1(" in source
    assert not re.search(r"\bf(exp|tanh|expm1)\(", source), source
    # softmax and log_softmax store the row's exponentials, then sum them
    stored = [T.exp(x) + T.tanh(x), T.expm1(x) * 2, T.nnet.log_softmax(x)]
    source = compare_numba_and_py([x], stored, values)._thunk.program.source
    assert "fexp(" in source and "ftanh(" in source and "fexpm1(" in source
    assert "math.exp(" not in source and "math.tanh(" not in source, source


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_large_programs_run_in_chunks(monkeypatch, dtype, rng):
    # chunks.py splits long programs; scalars and arrays flow between the chunks
    from symgraph.compile.numba_cpu import chunks
    monkeypatch.setattr(chunks, "CHUNK_LINES", 8)
    x = T.vector("x", dtype=dtype)
    k = T.lscalar("k")
    w = sg.shared(rng.random(6).astype(dtype), name="w")
    s = (x * w).sum()                 # a scalar that later chunks use
    y = T.exp(x * s) / (1 + k)
    z = T.tanh(y).max() * s + T.cast(k, dtype)
    f = compare_numba_and_py([x, k], [z, y[::-1]], [rng.random(6).astype(dtype), np.array(3)],
                             updates=[(w, T.cast(w - 0.1 * T.grad(z, w) + w * y, dtype))], calls=2)
    assert f._thunk.program.source.count("def chunk") > 2


def test_error_in_a_fused_loop_names_the_users_line():
    x, y = T.dmatrices("x", "y")
    z = T.exp(x) * 2 + y  # the line the error must name
    f = sg.function([x, y], z, mode="numba")
    assert any("fused" in str(n.op) for n in f.graph.toposort())
    with pytest.raises(ValueError, match=r"z = T.exp\(x\) \* 2 \+ y"):
        f(np.ones((2, 3)), np.ones((3, 2)))


def test_a_failing_check_is_one_compiled_branch_naming_its_node():
    x = T.dmatrix("x")
    y = T.check_and_raise(x, x.shape[0] > 1, message="x needs two rows")
    f = compare_numba_and_py([x], y * 2, [np.ones((2, 3))])
    source = f._thunk.program.source
    k = next(k for k, n in enumerate(f._thunk.program.nodes) if str(n.op) == "check_and_raise")
    assert f"[node {k}] check_and_raise: x needs two rows" in source, source
    with pytest.raises(ValueError, match=r"x needs two rows(.|\n)*y = T.check_and_raise"):
        f(np.ones((1, 3)))


def test_a_checked_shared_value_is_not_updated_in_place_before_it_is_returned(rng):
    # the check returns its input itself: the returned value is W before the update
    W = sg.shared(rng.random((3, 3)), name="W")
    x = T.dvector("x")
    before = W.get_value()
    f = sg.function([x], T.check_and_raise(W, x.shape[0] > 0), updates=[(W, W + 1)],
                    mode="numba")
    np.testing.assert_array_equal(f(np.ones(2)), before)
    np.testing.assert_array_equal(W.get_value(), before + 1)
    with pytest.raises(ValueError, match="a runtime check failed"):
        f(np.ones(0))
    np.testing.assert_array_equal(W.get_value(), before + 1)   # a failing call updates nothing


def test_large_memory_bound_loops_use_the_parallel_variant(monkeypatch, rng):
    import inspect

    import symgraph.compile.numba_cpu as numba_cpu
    from symgraph.compile.numba_cpu import emit
    monkeypatch.setattr(numba_cpu, "PARALLEL_IN_BACKGROUND", False)
    monkeypatch.setattr(emit, "MEMORY_PARALLEL_MIN_SIZE", 100)
    a, b = T.dvectors("a", "b")
    f = sg.function([a, b], a ** 2 + 2 * a * b + b ** 2, mode="numba")
    assert f._thunk.program.parallel_sizes == {"memory": "arg0.shape[0]"}
    np.testing.assert_allclose(f(np.ones(50), np.ones(50)), np.full(50, 4.0))
    assert f._thunk.threaded == []            # 50 iterations: serial, on the fast path
    av, bv = rng.random(300), rng.random(300)
    np.testing.assert_allclose(f(av, bv), (av + bv) ** 2)
    assert len(f._thunk.threaded) == 1, "the parallel variant did not run"
    assert "prange(" in inspect.getsource(f._thunk.threaded[0].py_func)


def test_results_reuse_the_buffers_of_dropped_results_only(monkeypatch, rng):
    from symgraph.compile.numba_cpu import recycle
    monkeypatch.setattr(recycle, "MIN_BYTES", 0)
    a, b = T.dvectors("a", "b")
    f = sg.function([a, b], [a * b + 1, T.sum(a)], mode="numba")
    av, bv = rng.random(1000), rng.random(1000)
    want = av * bv + 1
    addresses = []
    for _ in range(6):                        # the previous result is alive during the call
        out, _ = f(av, bv)
        addresses.append(out.ctypes.data)
        np.testing.assert_allclose(out, want)
    assert len(set(addresses[2:])) == 2, "c = f(a, b) in a loop should alternate two buffers"
    # results the caller holds, or holds a view of, are never written again
    held, _ = f(av, bv)
    view = f(av, bv)[0][10:20]
    before = held.copy(), view.copy()
    others = [f(av * k, bv)[0] for k in range(2, 6)]
    np.testing.assert_array_equal(held, before[0])
    np.testing.assert_array_equal(view, before[1])
    for k, o in zip(range(2, 6), others):
        np.testing.assert_allclose(o, av * k * bv + 1)
    assert len({o.ctypes.data for o in others} | {held.ctypes.data}) == 5
    # another size: a new array, and the kept ones are not written
    small, _ = f(av[:10], bv[:10])
    np.testing.assert_allclose(small, want[:10])
    np.testing.assert_array_equal(held, before[0])


def test_a_recycled_result_may_become_a_shared_value(monkeypatch, rng):
    from symgraph.compile.numba_cpu import recycle
    monkeypatch.setattr(recycle, "MIN_BYTES", 0)
    x = T.dvector("x")
    s = sg.shared(np.zeros(100), name="s")
    f = sg.function([x], s * 2 + x, updates=[(s, s + x)], mode="numba")
    ref = np.zeros(100)
    for k in range(6):
        xv = rng.random(100)
        out = f(xv)
        np.testing.assert_allclose(out, ref * 2 + xv)
        ref = ref + xv
        np.testing.assert_allclose(s.get_value(), ref)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_matvec_split_among_threads_equals_blas(order, transpose, beta, rng):
    from symgraph.compile.numba_cpu.runtime_threads import matvec_threads
    a = np.asarray(rng.random((37, 23)), order=order)
    op = a.T if transpose else a
    x = rng.random(op.shape[1])
    start = rng.random(op.shape[0])
    if beta == 0.0:
        start[3] = np.nan                 # beta = 0 ignores what out held, as BLAS does
    out = start.copy()
    matvec_threads(a, x, out, 2.0, beta, transpose, 1)
    want = 2.0 * op @ x + (beta * start if beta else 0)
    np.testing.assert_allclose(out, want, rtol=1e-13)


def test_large_matrix_vector_products_run_split_in_the_parallel_variant(monkeypatch, rng):
    import symgraph.compile.numba_cpu as numba_cpu
    from symgraph.compile.numba_cpu import emit
    monkeypatch.setattr(numba_cpu, "PARALLEL_IN_BACKGROUND", False)
    monkeypatch.setattr(emit, "BLAS_PARALLEL_MIN_SIZE", 100)
    X, z = T.dmatrix("X"), T.dvector("z")
    w = sg.shared(rng.random(30), name="w")
    outs = [T.dot(X, w), T.dot(z, X), T.dot(X.T, z)]
    f = sg.function([X, z], outs, updates=[(w, w - 0.1 * T.dot(X.T, z))], mode="numba")
    assert "blas" in f._thunk.program.parallel_sizes
    for rows in (3, 41):                      # 90 elements: serial; 1230: split
        Xv, zv = rng.random((rows, 30)), rng.random(rows)
        before = w.get_value()
        got = f(Xv, zv)
        for g, want in zip(got, [Xv @ before, zv @ Xv, Xv.T @ zv]):
            np.testing.assert_allclose(g, want, rtol=1e-13)
        np.testing.assert_allclose(w.get_value(), before - 0.1 * Xv.T @ zv, rtol=1e-13)
    assert len(f._thunk.threaded) == 1, "the parallel variant did not run"
    assert "matvec_threads(" in emit.rendered(f._thunk.program, parallel=True).source


def test_parallel_sizes_accept_arithmetic_on_argument_lengths():
    from symgraph.compile.generate import _of_arguments, _parallel_sizes
    assert _of_arguments("(arg0.shape[0] - 1)", 2)
    assert _of_arguments("max(arg1.shape[0] - 1, 0)", 2)
    assert not _of_arguments("v3.shape[0]", 2)         # a temporary's length
    assert not _of_arguments("arg2.shape[0]", 2)       # a constant, not an input
    assert not _of_arguments("len(arg0)", 2)
    loops = [("memory", ["(arg0.shape[0] - 1)", "arg1.shape[1]"]), ("memory", ["v3.shape[0]"])]
    assert _parallel_sizes(loops, 2) == {"memory": "((arg0.shape[0] - 1)) * arg1.shape[1]"}


@pytest.mark.parametrize("preset", [None, "OMP_WAIT_POLICY=active", "GOMP_SPINCOUNT=7"])
def test_openmp_threads_spin_briefly_unless_the_process_chose(preset):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    if preset:
        key, value = preset.split("=")
        env[key] = value
    code = ("import os, numpy as np, symgraph as sg, symgraph.tensor as T\n"
            "x = T.dvector('x'); sg.function([x], T.exp(x))(np.ones(3))\n"
            "print(os.environ.get('GOMP_SPINCOUNT'))\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    want = {None: "10000", "OMP_WAIT_POLICY=active": "None", "GOMP_SPINCOUNT=7": "7"}[preset]
    assert out.stdout.strip() == want


def test_the_parallel_variant_compiles_while_large_calls_run_the_serial_program(monkeypatch, rng):
    from symgraph.compile.numba_cpu import emit
    monkeypatch.setattr(emit, "MEMORY_PARALLEL_MIN_SIZE", 100)
    a = T.dvector("a")
    f = sg.function([a], a * 3 + 1, mode="numba")
    av = rng.random(500)
    np.testing.assert_allclose(f(av), av * 3 + 1)      # at once, serial
    assert len(f._thunk.compiling) == 1      # a helper compiles the variant meanwhile
    f._thunk.compiling[0].join(120)
    assert len(f._thunk.threaded) == 1
    np.testing.assert_allclose(f(av), av * 3 + 1)
