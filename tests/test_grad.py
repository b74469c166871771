"""Gradients: every differentiable op against finite differences, SymPy as the
algebra oracle, Jacobians/Hessians/Rop/Lop against dense matrices, two MLPs
against hand-written backpropagation, and grad's own rules (disconnected
inputs, integers, consider_constant, known_grads, ...)."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import sympy

import symgraph as sg
import symgraph.tensor as T
from backends import compare_backends
from symgraph.grad import DisconnectedInputError
from symgraph.gradcheck import GradientError
from symgraph.ops.base import Op
from symgraph.types import TensorType


def compile_(inputs, outputs, **kw):
    return sg.function(inputs, outputs, on_unused_input="ignore", **kw)


# ----------------------------------------------------------------- input domains
def uniform(lo, hi):
    return lambda rng, shape: rng.uniform(lo, hi, size=shape)


def signed(lo, hi):
    """|value| in [lo, hi] with a random sign (keeps away from a kink at 0)."""
    return lambda rng, shape: rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


ANY = uniform(-2, 2)
POS = uniform(0.5, 2)
UNIT = uniform(-0.9, 0.9)

# shapes to try: unary ops, and pairs for binary ops (broadcasting included:
# a length-1 axis becomes a broadcastable input in verify_grad)
UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 2)]
BINARY_SHAPES = [((3, 4), (3, 4)), ((1, 4), (3, 4)), ((3, 1), (3, 4)), ((), (3, 4)), ((4,), (3, 4)),
                 ((3, 4), (1, 1))]

# name, function of symbolic inputs, domain per input
UNARY = [
    ("neg", lambda x: -x, ANY),
    ("abs", abs, signed(0.2, 2)),
    ("exp", T.exp, ANY),
    ("log", T.log, POS),
    ("log1p", T.log1p, uniform(-0.5, 2)),
    ("expm1", T.expm1, ANY),
    ("sqrt", T.sqrt, POS),
    ("sqr", T.sqr, ANY),
    ("sin", T.sin, ANY),
    ("cos", T.cos, ANY),
    ("tan", T.tan, uniform(-1.2, 1.2)),
    ("tanh", T.tanh, ANY),
    ("sinh", T.sinh, ANY),
    ("cosh", T.cosh, ANY),
    ("arcsin", T.arcsin, UNIT),
    ("arccos", T.arccos, UNIT),
    ("arctan", T.arctan, ANY),
    ("erf", T.erf, ANY),
    ("sigmoid", T.nnet.sigmoid, ANY),
    ("softplus", T.nnet.softplus, uniform(-5, 5)),
    ("relu", T.nnet.relu, signed(0.1, 2)),
    ("leaky_relu", lambda x: T.nnet.relu(x, alpha=0.1), signed(0.1, 2)),
    ("pow_const", lambda x: x ** 3, ANY),
    ("pow_half", lambda x: x ** 0.5, POS),
    ("rdiv", lambda x: 1.0 / x, POS),
    ("clip_const", lambda x: T.clip(x, -0.5, 0.5), signed(0.1, 1.5)),
    ("cast32", lambda x: T.cast(x, "float32") * 1.5, ANY),
    ("astype_same", lambda x: x.astype("float64") * x, ANY),
    ("floor_plus", lambda x: T.floor(x) + x, uniform(0.1, 0.9)),
    ("sign_times", lambda x: T.sgn(x) * x, signed(0.2, 2)),
    ("binary_xent", lambda x: T.nnet.binary_crossentropy(T.nnet.sigmoid(x), 0.3), ANY),
]

BINARY = [
    ("add", lambda x, y: x + y, ANY, ANY),
    ("sub", lambda x, y: x - y, ANY, ANY),
    ("mul", lambda x, y: x * y, ANY, ANY),
    ("truediv", lambda x, y: x / y, ANY, POS),
    ("pow", lambda x, y: x ** y, uniform(0.5, 2), uniform(-1.5, 1.5)),
    ("mod", lambda x, y: x % y, uniform(2.2, 2.8), uniform(1.0, 1.05)),
    ("maximum", T.maximum, ANY, ANY),
    ("minimum", T.minimum, ANY, ANY),
    ("add3", lambda x, y: x + y + x * y, ANY, ANY),
    ("switch", lambda x, y: T.switch(x > 0, x * y, y), signed(0.1, 2), ANY),
    ("fill", lambda x, y: T.fill(x, y) * x, ANY, ANY),
]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,domain", UNARY, ids=[r[0] for r in UNARY])
def test_unary_grad(name, fn, domain, shape, rng):
    sg.verify_grad(fn, [domain(rng, shape)], rng=rng)


@pytest.mark.parametrize("shapes", BINARY_SHAPES, ids=str)
@pytest.mark.parametrize("name,fn,dx,dy", BINARY, ids=[r[0] for r in BINARY])
def test_binary_grad(name, fn, dx, dy, shapes, rng):
    sg.verify_grad(fn, [dx(rng, shapes[0]), dy(rng, shapes[1])], rng=rng)


def test_flagged_row_added_to_matrix(rng):
    # a declared row (broadcastable=(True, False)) gets its gradient summed over axis 0
    b = T.drow("b")
    m = T.dmatrix("m")
    cost = (T.tanh(m + b) * m).sum()
    gb = T.grad(cost, b)
    assert gb.type == b.type
    bv, mv = rng.normal(size=(1, 4)), rng.normal(size=(3, 4))
    expected = ((1 - np.tanh(mv + bv) ** 2) * mv).sum(axis=0, keepdims=True)
    np.testing.assert_allclose(compile_([b, m], gb)(bv, mv), expected, rtol=1e-12)


def _clip3(x, lo, hi):
    return T.clip(x, lo, hi)


# functions of several inputs with explicit shapes: reductions, products, shapes, indexing, nnet
MULTI = [
    ("clip_bounds", _clip3, [(signed(0.1, 1.5), (3, 4)), (uniform(-0.6, -0.4), ()),
                              (uniform(0.4, 0.6), ())]),
    ("sum", lambda x: x.sum(), [(ANY, (3, 4))]),
    ("sum_axis0", lambda x: x.sum(axis=0), [(ANY, (3, 4))]),
    ("sum_axis12", lambda x: x.sum(axis=(1, 2)), [(ANY, (2, 3, 4))]),
    ("sum_keepdims", lambda x: x.sum(axis=1, keepdims=True) * x, [(ANY, (3, 4))]),
    ("mean", lambda x: x.mean(), [(ANY, (3, 4))]),
    ("mean_axis1", lambda x: x.mean(axis=1), [(ANY, (2, 3, 4))]),
    ("prod", lambda x: x.prod(), [(signed(0.5, 1.5), (3, 4))]),
    ("prod_axis0", lambda x: x.prod(axis=0), [(signed(0.5, 1.5), (3, 4))]),
    ("max", lambda x: x.max(), [(ANY, (3, 4))]),
    ("max_axis1", lambda x: x.max(axis=1), [(ANY, (3, 4))]),
    ("min_axis0", lambda x: x.min(axis=0), [(ANY, (2, 3, 4))]),
    ("var", lambda x: x.var(axis=0), [(ANY, (5, 3))]),
    ("std", lambda x: x.std(), [(ANY, (5, 3))]),
    ("dot_mm", T.dot, [(ANY, (3, 4)), (ANY, (4, 2))]),
    ("dot_mv", T.dot, [(ANY, (3, 4)), (ANY, (4,))]),
    ("dot_vm", T.dot, [(ANY, (4,)), (ANY, (4, 2))]),
    ("dot_vv", T.dot, [(ANY, (4,)), (ANY, (4,))]),
    ("dot_row", T.dot, [(ANY, (1, 4)), (ANY, (4, 3))]),
    ("outer", T.outer, [(ANY, (3,)), (ANY, (4,))]),
    ("tensordot", lambda a, b: T.tensordot(a, b, axes=[[1, 2], [0, 1]]),
     [(ANY, (2, 3, 4)), (ANY, (3, 4, 2))]),
    ("tensordot_swapped_pairs", lambda a, b: T.tensordot(a, b, axes=[[1, 2], [1, 0]]),
     [(ANY, (2, 3, 4)), (ANY, (4, 3, 2))]),
    ("check_and_raise", lambda x: T.check_and_raise(x * x, x.shape[0] > 1, x.shape[1]),
     [(ANY, (3, 4))]),
    ("transpose", lambda x: x.T * x.T, [(ANY, (3, 4))]),
    ("dimshuffle", lambda x: x.dimshuffle(2, "x", 0, 1), [(ANY, (2, 3, 4))]),
    ("dimshuffle_drop", lambda x: x.dimshuffle(1), [(ANY, (1, 4))]),
    ("reshape", lambda x: x.reshape((4, 3)), [(ANY, (3, 4))]),
    ("flatten", lambda x: x.flatten() * 2, [(ANY, (2, 3, 2))]),
    ("concatenate0", lambda a, b: T.concatenate([a, b], axis=0), [(ANY, (2, 3)), (ANY, (4, 3))]),
    ("concatenate1", lambda a, b: T.concatenate([a, b, a], axis=1), [(ANY, (2, 3)), (ANY, (2, 1))]),
    ("stack", lambda a, b: T.stack([a, b], axis=1), [(ANY, (3,)), (ANY, (3,))]),
    ("stack_scalars", lambda a, b: T.stack([a, b * a]), [(ANY, ()), (ANY, ())]),
    ("alloc", lambda x: T.alloc(x, 3, 4) * 2, [(ANY, (4,))]),
    ("zeros_like_plus", lambda x: T.zeros_like(x) + x ** 2, [(ANY, (3,))]),
    ("addbroadcast", lambda x, y: T.addbroadcast(x, 0) + y, [(ANY, (1, 3)), (ANY, (2, 3))]),
    ("subtensor_int", lambda x: x[1], [(ANY, (3, 4))]),
    ("subtensor_slice", lambda x: x[1:, ::2], [(ANY, (3, 4))]),
    ("subtensor_neg", lambda x: x[-1, :2], [(ANY, (3, 4))]),
    ("subtensor_newaxis", lambda x: x[None, 1:3], [(ANY, (4,))]),
    ("adv_subtensor", lambda x: x[[0, 2, 0, 1]], [(ANY, (3, 4))]),
    ("adv_subtensor_pairs", lambda x: x[[0, 2, 2], [1, 0, 1]], [(ANY, (3, 4))]),
    ("adv_subtensor_mixed", lambda x: x[1:, [3, 0, 3]], [(ANY, (3, 4))]),
    ("bool_mask", lambda x: x[np.array([True, False, True])], [(ANY, (3, 4))]),
    ("set_subtensor", lambda x, y: T.set_subtensor(x[1:3], y) * x, [(ANY, (4, 3)), (ANY, (2, 3))]),
    ("inc_subtensor", lambda x, y: T.inc_subtensor(x[:, 1], y) ** 2, [(ANY, (4, 3)), (ANY, (4,))]),
    ("inc_subtensor_bcast", lambda x, y: T.inc_subtensor(x[1:3], y) ** 2, [(ANY, (4, 3)), (ANY, ())]),
    ("adv_inc_subtensor", lambda x, y: T.inc_subtensor(x[[0, 2, 0]], y) ** 2,
     [(ANY, (4, 3)), (ANY, (3, 3))]),
    ("adv_set_subtensor", lambda x, y: T.set_subtensor(x[[3, 1]], y) * x,
     [(ANY, (4, 3)), (ANY, (2, 3))]),
    ("softmax", T.nnet.softmax, [(ANY, (3, 5))]),
    ("softmax_vector", T.nnet.softmax, [(ANY, (5,))]),
    ("log_softmax", T.nnet.log_softmax, [(ANY, (3, 5))]),
    ("crossentropy_onehot",
     lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.eye(5)[[1, 0, 4]]),
     [(ANY, (3, 5))]),
    ("crossentropy_int",
     lambda x: T.nnet.categorical_crossentropy(T.nnet.softmax(x), np.array([1, 0, 4])),
     [(ANY, (3, 5))]),
    ("binary_crossentropy_target", lambda p, t: T.nnet.binary_crossentropy(p, t),
     [(uniform(0.1, 0.9), (3, 4)), (uniform(0, 1), (3, 4))]),
]


@pytest.mark.parametrize("name,fn,inputs", MULTI, ids=[r[0] for r in MULTI])
def test_op_grad(name, fn, inputs, rng):
    sg.verify_grad(fn, [domain(rng, shape) for domain, shape in inputs], rng=rng)


def _std_of_one_element(table_row, k):
    """std over a single element is sqrt(0), which has no derivative."""
    if not table_row.op.endswith("std"):
        return False
    values = table_row.make_inputs(np.random.default_rng(0), "float64", table_row.shapes[k])
    return bool(np.any(table_row.reference(values) == 0))


try:
    import op_table  # the shared table of op rows (tests/op_table.py)
    TABLE_CASES = [(r, k) for r in op_table.ROWS if r.differentiable and "float64" in r.dtypes
                   for k in range(len(r.shapes))
                   if not _std_of_one_element(r, k)]
except ImportError:  # written by another engineer; this test runs once it exists
    TABLE_CASES = []


@pytest.mark.skipif(not TABLE_CASES, reason="tests/op_table.py is not available")
@pytest.mark.parametrize("table_row,k", TABLE_CASES, ids=[f"{r.name}-{k}" for r, k in TABLE_CASES])
def test_op_table_row_grad(table_row, k, rng):
    shapes = table_row.shapes[k]
    points = table_row.make_inputs(rng, "float64", shapes)
    # verify_grad differentiates every float input; index arrays and masks stay fixed
    sg.verify_grad(table_row.build, points, rng=rng)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("table_row,k", TABLE_CASES, ids=[f"{r.name}-{k}" for r, k in TABLE_CASES])
def test_op_table_row_grad_float32_types(table_row, k, rng):
    # float32 graphs keep float32 gradients (no silent upcast) with finite values
    if "float32" not in table_row.dtypes:
        pytest.skip("row not meant for float32")
    shapes = table_row.shapes[k]
    inputs, out = table_row.graph("float32", shapes)
    wrt = [inputs[i] for i in table_row.wrt()]
    grads = T.grad(T.cast(out, "float32").sum(), wrt)
    assert [g.type for g in grads] == [w.type for w in wrt]
    values = compile_(inputs, grads)(*table_row.make_inputs(rng, "float32", shapes))
    for v in values:
        assert v.dtype == "float32" and np.all(np.isfinite(v))


def test_pow_grad_at_zero_base():
    x, y = T.dvectors("x", "y")
    with np.errstate(divide="ignore", invalid="ignore"):
        gx, gy = compile_([x, y], T.grad((x ** y).sum(), [x, y]))([0.0, 2.0, 0.0], [2.0, 3.0, 0.5])
    np.testing.assert_allclose(gx, [0.0, 12.0, np.inf])
    # 0 ** y is 0 for every y > 0: its derivative in y is 0, not nan
    np.testing.assert_allclose(gy, [0.0, 8 * np.log(2.0), 0.0])


# ----------------------------------------------------------------- verify_grad itself
class _WrongDoubleGrad(Op):
    """2*x with a gradient that is off by 10%: verify_grad must catch it."""

    def make_node(self, x):
        return self.apply([x], [x.type])

    def perform(self, x):
        return 2 * x

    def grad(self, inputs, outputs, grads):
        return [grads[0] * 2.2]


def test_verify_grad_catches_a_wrong_gradient(rng):
    with pytest.raises(GradientError) as info:
        sg.verify_grad(lambda a, b: _WrongDoubleGrad()(a) * b, [rng.normal(size=3), rng.normal(size=3)],
                       rng=rng)
    err = info.value
    assert isinstance(err, AssertionError)
    assert err.input_index == 0
    assert "input 0" in str(err) and "analytic" in str(err) and "numeric" in str(err)
    assert err.analytic / err.numeric == pytest.approx(1.1, rel=1e-6)
    assert err.abs_err == pytest.approx(abs(err.analytic - err.numeric))


def test_verify_grad_float32(rng):
    sg.verify_grad(lambda a: T.tanh(a) * a, [rng.normal(size=(3, 4)).astype("float32")], rng=rng)
    with pytest.raises(GradientError):
        sg.verify_grad(lambda a: _WrongDoubleGrad()(a).sum(), [rng.normal(size=4).astype("float32")],
                       rng=rng)


def test_verify_grad_skips_integer_points(rng):
    # an integer point is an input like any other, only not differentiated
    sg.verify_grad(lambda x, i: x[i].sum() * x.sum(), [rng.normal(size=5), np.array([0, 3, 3])], rng=rng)


# ----------------------------------------------------------------- SymPy as oracle
sx, sy = sympy.symbols("x y")
SYM = SimpleNamespace(exp=sympy.exp, log=sympy.log, tanh=sympy.tanh, sqrt=sympy.sqrt, sin=sympy.sin,
                      cos=sympy.cos, atan=sympy.atan, erf=sympy.erf,
                      sigmoid=lambda z: 1 / (1 + sympy.exp(-z)))
SG = SimpleNamespace(exp=T.exp, log=T.log, tanh=T.tanh, sqrt=T.sqrt, sin=T.sin, cos=T.cos,
                     atan=T.arctan, erf=T.erf, sigmoid=T.nnet.sigmoid)

# each expression is written once and built twice: with SymPy and with symgraph
EXPRESSIONS = [
    lambda x, y, m: m.exp(x * y) + m.log(x),
    lambda x, y, m: m.tanh(x) ** 3 / (1 + y ** 2),
    lambda x, y, m: x ** y,
    lambda x, y, m: m.log(1 + m.exp(m.sin(x) * y)),
    lambda x, y, m: m.sqrt(x ** 2 + y ** 2) * m.atan(y / x),
    lambda x, y, m: (x - y) / (x + y) + m.exp(-x ** 2) * m.cos(y),
    lambda x, y, m: m.sigmoid(x * y - 1) * m.log(x + 2 * y),
    lambda x, y, m: m.erf(x / 2) * y ** 4 - 3 / (x * y),
    lambda x, y, m: m.tanh(m.exp(x) / (1 + m.exp(y))) ** 2,
]
POINTS = [(0.7, 1.3), (1.9, 0.4), (1.1, 2.5)]


@pytest.mark.parametrize("k", range(len(EXPRESSIONS)))
def test_first_and_second_derivatives_match_sympy(k):
    make = EXPRESSIONS[k]
    f_sym = make(sx, sy, SYM)
    x, y = T.dscalars("x", "y")
    f = make(x, y, SG)
    gx, gy = T.grad(f, [x, y])
    second = [T.grad(gx, x), T.grad(gx, y), T.grad(gy, y)]
    run = compile_([x, y], [gx, gy] + second)
    oracle = [sympy.diff(f_sym, sx), sympy.diff(f_sym, sy), sympy.diff(f_sym, sx, sx),
              sympy.diff(f_sym, sx, sy), sympy.diff(f_sym, sy, sy)]
    for px, py in POINTS:
        got = run(px, py)
        want = [float(d.evalf(subs={sx: px, sy: py})) for d in oracle]
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------- jacobian, hessian, Lop, Rop
def test_hessian_of_cubic():
    x = T.dvector("x")
    h = T.hessian((x ** 3).sum() + x[0] * x[1], x)
    xv = np.array([0.5, -1.0, 2.0, 3.0])
    expected = np.diag(6 * xv)
    expected[0, 1] = expected[1, 0] = 1.0
    np.testing.assert_allclose(compile_([x], h)(xv), expected, rtol=1e-12)


def test_jacobian_of_square():
    x = T.dvector("x")
    xv = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(compile_([x], T.jacobian(x ** 2, x))(xv), np.diag(2 * xv))


def test_jacobian_shapes_and_lists(rng):
    # expression.shape + wrt.shape, one result per wrt
    A, v = T.dmatrix("A"), T.dvector("v")
    out = T.tanh(A) * v
    jA, jv = T.jacobian(out, [A, v])
    Av, vv = rng.normal(size=(2, 3)), rng.normal(size=3)
    gA, gv = compile_([A, v], [jA, jv])(Av, vv)
    assert gA.shape == (2, 3, 2, 3) and gv.shape == (2, 3, 3)
    d = (1 - np.tanh(Av) ** 2) * vv
    for i in range(2):
        for j in range(3):
            expected_A = np.zeros((2, 3))
            expected_A[i, j] = d[i, j]
            np.testing.assert_allclose(gA[i, j], expected_A, rtol=1e-12)
            expected_v = np.zeros(3)
            expected_v[j] = np.tanh(Av[i, j])
            np.testing.assert_allclose(gv[i, j], expected_v, rtol=1e-12)


def test_jacobian_of_scalar_is_grad():
    x = T.dvector("x")
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(compile_([x], T.jacobian((x ** 2).sum(), x))(xv), 2 * xv)


def test_jacobian_uses_a_map_over_seed_rows():
    x = T.dvector("x")
    j = T.jacobian(T.exp(x), x)
    maps = [n for n in sg.graph.toposort(j) if str(n.op) == "map_rows"]
    assert len(maps) == 1
    op = maps[0].op
    hash(op)
    # the inner graph is reachable and self-contained, for the compiled backends
    assert sg.FunctionGraph(list(op.inner_inputs), list(op.inner_outputs))
    # the forward exp is computed once outside the map, not once per row
    inner_ops = {str(n.op) for n in sg.graph.toposort(list(op.inner_outputs))}
    assert "exp" not in inner_ops


def test_hessian_of_mlp_like_cost_matches_finite_differences(rng):
    w = T.dvector("w")
    X = T.constant(rng.normal(size=(6, 3)))
    cost = T.nnet.softplus(T.dot(X, w)).sum() + (w ** 4).sum()
    h = T.hessian(cost, w)
    g = compile_([w], T.grad(cost, w))
    wv = rng.normal(size=3)
    eps = 1e-6
    numeric = np.stack([(g(wv + eps * e) - g(wv - eps * e)) / (2 * eps) for e in np.eye(3)])
    got = compile_([w], h)(wv)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(got, got.T, rtol=1e-12)


def test_hessian_of_linear_cost_is_zero():
    x = T.dvector("x")
    np.testing.assert_array_equal(compile_([x], T.hessian((3 * x).sum(), x))(np.ones(3)), np.zeros((3, 3)))


def test_jacobian_of_jacobian(rng):
    # differentiating a jacobian differentiates MapRows itself
    x = T.dvector("x")
    jj = T.jacobian(T.jacobian(T.sin(x) * x[0], x).flatten(), x)
    xv = rng.normal(size=2)
    got = compile_([x], jj)(xv).reshape(2, 2, 2)
    # f_0 = x0 sin x0, f_1 = x0 sin x1; got[i, j, k] = d2 f_i / dx_j dx_k
    s, c = np.sin(xv), np.cos(xv)
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 0] = 2 * c[0] - xv[0] * s[0]
    expected[1, 0, 1] = expected[1, 1, 0] = c[1]
    expected[1, 1, 1] = -xv[0] * s[1]
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_third_derivatives():
    x = T.dvector("x")
    cost = x[0] ** 2 * x[1] + T.sin(x[1])
    d3 = T.jacobian(T.hessian(cost, x).flatten(), x)
    xv = np.array([0.3, 1.1])
    got = compile_([x], d3)(xv).reshape(2, 2, 2)
    expected = np.zeros((2, 2, 2))
    expected[0, 0, 1] = expected[0, 1, 0] = expected[1, 0, 0] = 2.0
    expected[1, 1, 1] = -np.cos(xv[1])
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_lop_and_rop_of_dot(rng):
    x, v, u = T.dvectors("x", "v", "u")
    W = T.dmatrix("W")
    y = T.dot(x, W)
    Wv, xv, vv, uv = rng.normal(size=(3, 4)), rng.normal(size=3), rng.normal(size=3), rng.normal(size=4)
    rop = compile_([x, v, W], T.Rop(y, x, v))(xv, vv, Wv)
    lop = compile_([x, u, W], T.Lop(y, x, u))(xv, uv, Wv)
    # the Jacobian of x -> x W is W^T
    np.testing.assert_allclose(rop, Wv.T @ vv, rtol=1e-12)
    np.testing.assert_allclose(lop, uv @ Wv.T, rtol=1e-12)
    # Rop with respect to W, eval point a matrix
    V = T.dmatrix("V")
    Vv = rng.normal(size=(3, 4))
    np.testing.assert_allclose(compile_([x, W, V], T.Rop(y, W, V))(xv, Wv, Vv), xv @ Vv, rtol=1e-12)


def test_rop_graph_does_not_need_the_dummy_cotangent():
    x, v = T.dvectors("x", "v")
    r = T.Rop(T.tanh(x) * x, x, v)
    assert {i.name for i in sg.graph.graph_inputs([r])} <= {"x", "v"}
    xv, vv = np.array([0.3, -1.2]), np.array([1.0, 2.0])
    expected = ((1 - np.tanh(xv) ** 2) * xv + np.tanh(xv)) * vv
    np.testing.assert_allclose(compile_([x, v], r)(xv, vv), expected, rtol=1e-12)


def test_hessian_vector_product(rng):
    x, v = T.dvectors("x", "v")
    A = rng.normal(size=(4, 4))
    cost = T.log(1 + T.exp(T.dot(T.constant(A), x))).sum() + (x ** 3).sum()
    g = T.grad(cost, x)
    hv_rop = T.Rop(g, x, v)
    hv_lop = T.grad((g * v).sum(), x)       # Lop of grad: v^T H, equal because H is symmetric
    xv, vv = rng.normal(size=4), rng.normal(size=4)
    H = compile_([x], T.hessian(cost, x))(xv)
    got_rop, got_lop = compile_([x, v], [hv_rop, hv_lop])(xv, vv)
    s = 1 / (1 + np.exp(-(A @ xv)))
    dense = A.T @ np.diag(s * (1 - s)) @ A + np.diag(6 * xv)
    np.testing.assert_allclose(H, dense, rtol=1e-10)
    np.testing.assert_allclose(got_rop, dense @ vv, rtol=1e-10)
    np.testing.assert_allclose(got_lop, dense @ vv, rtol=1e-10)


# ----------------------------------------------------------------- MLPs
def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_lxmls_mlp_matches_numpy_backprop(rng):
    n_in, n_hidden, n_out, n = 7, 5, 3, 6
    values = dict(W1=rng.normal(size=(n_hidden, n_in)), b1=rng.normal(size=(n_hidden, 1)),
                  W2=rng.normal(size=(n_out, n_hidden)), b2=rng.normal(size=(n_out, 1)))
    W1 = sg.shared(values["W1"], name="W1")
    b1 = sg.shared(values["b1"], name="b1", broadcastable=(False, True))
    W2 = sg.shared(values["W2"], name="W2")
    b2 = sg.shared(values["b2"], name="b2", broadcastable=(False, True))
    x, y = T.dmatrix("x"), T.ivector("y")
    h = T.nnet.sigmoid(T.dot(W1, x) + b1)
    p = T.nnet.softmax((T.dot(W2, h) + b2).T).T
    cost = -T.mean(T.log(p[y, T.arange(y.shape[0])]))
    params = [W1, b1, W2, b2]
    grads = T.grad(cost, params)
    for g, w in zip(grads, params):
        assert g.type == w.type
    xv = rng.normal(size=(n_in, n))
    yv = rng.integers(0, n_out, size=n).astype("int32")
    # every backend under test, the training step's updates included
    got = compare_backends([x, y], [cost] + grads, [xv, yv], tol=1e-10)
    compare_backends([x, y], cost, [xv, yv], tol=1e-10,
                     updates=[(w, w - 0.1 * g) for w, g in zip(params, grads)])
    for w in params:
        w.set_value(values[w.name])

    # hand-written backpropagation
    hv = _sigmoid(values["W1"] @ xv + values["b1"])
    z2 = values["W2"] @ hv + values["b2"]
    pv = np.exp(z2 - z2.max(axis=0)) / np.exp(z2 - z2.max(axis=0)).sum(axis=0)
    onehot = np.eye(n_out)[yv].T
    dz2 = (pv - onehot) / n
    dh = values["W2"].T @ dz2
    dz1 = dh * hv * (1 - hv)
    expected = [-np.mean(np.log(pv[yv, np.arange(n)])), dz1 @ xv.T, dz1.sum(axis=1, keepdims=True),
                dz2 @ hv.T, dz2.sum(axis=1, keepdims=True)]
    for a, b in zip(got, expected):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# The MLP-lab style back-propagation check for activation layers: fprop y = f(x)
# on a fixed seeded input, then the gradient of sum(y * g) for a fixed upstream
# gradient g must equal the analytic back-propagated gradient.
ACTIVATIONS = [
    ("tanh", T.tanh, lambda x, g: (1 - np.tanh(x) ** 2) * g),
    ("relu", T.nnet.relu, lambda x, g: (x > 0) * g),
]


@pytest.mark.parametrize("name,act,backprop", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_layer_backprop(name, act, backprop):
    seeded = np.random.default_rng(20161001)
    xv = seeded.uniform(-1, 1, size=(2, 3))
    gv = seeded.uniform(-1, 1, size=(2, 3))
    x, g = T.dmatrices("x", "g")
    y = act(x)
    fprop, bprop = compile_([x, g], [y, T.grad((y * g).sum(), x)])(xv, gv)
    np.testing.assert_allclose(fprop, np.tanh(xv) if name == "tanh" else np.maximum(xv, 0), rtol=1e-14)
    np.testing.assert_allclose(bprop, backprop(xv, gv), rtol=1e-14, atol=1e-15)


def _deep_mlp(n_layers, width=4):
    x = T.dmatrix("x")
    h, params = x, []
    init = np.random.default_rng(0)
    for k in range(n_layers):
        W = sg.shared(init.normal(size=(width, width)) / width, name=f"W{k}")
        b = sg.shared(np.zeros(width), name=f"b{k}")
        h = T.tanh(T.dot(h, W) + b)
        params += [W, b]
    return x, T.mean(T.sqr(h)), params


def _grad_graph_size(n_layers):
    x, cost, params = _deep_mlp(n_layers)
    grads = T.grad(cost, params)
    return len(sg.graph.toposort(cost)), len(sg.graph.toposort(grads))


def test_deep_mlp_grad_graph_is_linear_in_depth():
    forward, backward = _grad_graph_size(50)
    assert backward <= 6 * forward
    sizes = {n: _grad_graph_size(n)[1] for n in (10, 20, 50)}
    # exactly linear: the same number of nodes per layer
    assert sizes[50] - sizes[10] == 4 * (sizes[20] - sizes[10])


def test_deep_mlp_gradient_values(rng):
    x, cost, params = _deep_mlp(50)
    grads = T.grad(cost, params[:2] + params[-2:])
    f = compile_([x], grads)
    xv = rng.normal(size=(3, 4))
    got = f(xv)
    # finite differences on the last layer's bias
    b_last = params[-1]
    base = b_last.get_value()
    c = compile_([x], cost)
    eps = 1e-6
    numeric = []
    for e in np.eye(4):
        b_last.set_value(base + eps * e)
        plus = c(xv)
        b_last.set_value(base - eps * e)
        numeric.append((plus - c(xv)) / (2 * eps))
    b_last.set_value(base)
    np.testing.assert_allclose(got[-1], numeric, rtol=1e-5, atol=1e-10)


# ----------------------------------------------------------------- grad's rules
def test_non_scalar_cost_is_a_type_error():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="scalar"):
        T.grad(x ** 2, x)


def test_disconnected_input_raise_warn_ignore():
    x, z = T.dvector("x"), T.dmatrix("z")
    cost = (x ** 2).sum()
    with pytest.raises(DisconnectedInputError, match="z"):
        T.grad(cost, z)
    with pytest.warns(UserWarning, match="z"):
        gz = T.grad(cost, z, disconnected_inputs="warn")
    gx, gz = T.grad(cost, [x, z], disconnected_inputs="ignore")
    assert gz.type == z.type
    out = compile_([x, z], gz)(np.ones(2), np.ones((2, 3)))
    np.testing.assert_array_equal(out, np.zeros((2, 3)))
    with pytest.raises(ValueError):
        T.grad(cost, x, disconnected_inputs="maybe")


def test_integer_inputs_get_no_gradient():
    x, i = T.dvector("x"), T.lvector("i")
    cost = (x[i] * T.cast(i, "float64")).sum()
    gi = T.grad(cost, i)
    assert gi.dtype == sg.config.floatX
    np.testing.assert_array_equal(compile_([x, i], gi)(np.ones(3), [0, 2]), [0.0, 0.0])
    # the float input still gets its gradient through the indexing
    gx = T.grad(cost, x)
    np.testing.assert_array_equal(compile_([x, i], gx)(np.ones(3), [0, 2, 2]), [0.0, 0.0, 4.0])
    with pytest.raises(TypeError, match="float"):
        T.grad(T.cast(x, "int64").sum(), x)


def test_integer_and_constant_paths_give_zero_not_an_error():
    # connected, but only through an integer cast, a comparison or consider_constant
    x = T.dvector("x")
    xv = np.array([0.5, 2.5])
    cost = T.cast(T.cast(x, "int32"), "float64").sum() + x.sum()
    np.testing.assert_array_equal(compile_([x], T.grad(cost, x))(xv), [1.0, 1.0])
    for cost in [T.cast(T.cast(x, "int32"), "float64").sum(), T.cast(x > 1, "float64").sum(),
                 T.cast(x.argmax(), "float64")]:
        g = T.grad(cost, x)
        assert g.type == x.type
        np.testing.assert_array_equal(compile_([x], g)(xv), [0.0, 0.0])
    e = T.exp(x)
    g = T.grad((e * 2).sum(), x, consider_constant=[e])
    np.testing.assert_array_equal(compile_([x], g)(xv), [0.0, 0.0])


def test_cast_grads_keep_the_input_dtype(rng):
    x = T.fvector("x")
    cost = (T.cast(x, "float64") ** 2).sum()
    g = T.grad(cost, x)
    assert g.dtype == "float32"
    xv = rng.normal(size=3).astype("float32")
    np.testing.assert_allclose(compile_([x], g)(xv), 2 * xv.astype("float64"), rtol=1e-6)
    y = T.dvector("y")
    g32 = T.grad(T.cast(y, "float32").sum() * 2, y)
    assert g32.dtype == "float64"
    np.testing.assert_array_equal(compile_([y], g32)(np.ones(2)), [2.0, 2.0])


def test_consider_constant():
    x = T.dvector("x")
    c = x ** 2
    cost = (c * x).sum()
    g_full = T.grad(cost, x)
    g_const = T.grad(cost, x, consider_constant=[c])
    xv = np.array([1.0, 2.0])
    np.testing.assert_allclose(compile_([x], [g_full, g_const])(xv), [3 * xv ** 2, xv ** 2])


def test_known_grads():
    x = T.dvector("x")
    h = T.tanh(x)
    g_h = T.dvector("g_h")
    gx = T.grad(None, x, known_grads={h: g_h})
    xv, gv = np.array([0.1, -0.7]), np.array([2.0, 3.0])
    np.testing.assert_allclose(compile_([x, g_h], gx)(xv, gv), (1 - np.tanh(xv) ** 2) * gv, rtol=1e-12)
    # a known gradient is added to the one that flows from the cost
    cost = (h * 2).sum()
    gx2 = T.grad(cost, x, known_grads={h: g_h})
    np.testing.assert_allclose(compile_([x, g_h], gx2)(xv, gv), (1 - np.tanh(xv) ** 2) * (gv + 2), rtol=1e-12)
    with pytest.raises(ValueError):
        T.grad(None, x)


def test_gradients_sum_over_uses():
    x = T.dvector("x")
    xv = np.array([1.5, -2.0])
    for cost, expected in [((x * x).sum(), 2 * xv), ((x + x).sum(), 2 * np.ones(2)),
                           ((x * x * x).sum() + T.exp(x).sum(), 3 * xv ** 2 + np.exp(xv)),
                           (T.dot(x, x), 2 * xv)]:
        np.testing.assert_allclose(compile_([x], T.grad(cost, x))(xv), expected, rtol=1e-12)


@pytest.mark.parametrize("values,expected", [
    ([2.0, 3.0, 4.0], [12.0, 8.0, 6.0]),
    ([2.0, 0.0, 4.0], [0.0, 8.0, 0.0]),     # one zero: only it gets the product of the others
    ([0.0, 3.0, 0.0], [0.0, 0.0, 0.0]),     # two zeros: nothing survives
    ([0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),
])
def test_prod_with_zeros(values, expected):
    x = T.dvector("x")
    np.testing.assert_array_equal(compile_([x], T.grad(x.prod(), x))(values), expected)


def test_prod_axis_with_zeros():
    x = T.dmatrix("x")
    xv = np.array([[2.0, 0.0, 4.0], [1.0, 3.0, 5.0], [0.0, 0.0, 2.0]])
    got = compile_([x], T.grad(x.prod(axis=1).sum(), x))(xv)
    np.testing.assert_array_equal(got, [[0.0, 8.0, 0.0], [15.0, 5.0, 3.0], [0.0, 0.0, 0.0]])


def test_max_min_with_ties():
    # the tied positions share the gradient evenly (JAX's rule; tests/test_grad_ties.py has more)
    x = T.dmatrix("x")
    xv = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]])
    gmax, gmin = compile_([x], [T.grad(x.max(axis=1).sum(), x), T.grad(x.min(), x)])(xv)
    np.testing.assert_allclose(gmax, [[0, .5, .5], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    np.testing.assert_array_equal(gmin, [[1, 0, 0], [0, 0, 0]])
    a, b = T.dvectors("a", "b")
    ga, gb = compile_([a, b], T.grad(T.maximum(a, b).sum(), [a, b]))([1.0, 2.0, 5.0], [1.0, 3.0, 4.0])
    np.testing.assert_array_equal(ga, [.5, 0, 1])
    np.testing.assert_array_equal(gb, [.5, 1, 0])


def test_advanced_index_grad_accumulates_repeats():
    x = T.dmatrix("x")
    xv = np.arange(12.0).reshape(3, 4)
    g = compile_([x], T.grad(x[[0, 0, 2]].sum() + x[[1, 1], [3, 3]].sum() * 10, x))(xv)
    expected = np.zeros((3, 4))
    expected[0] = 2
    expected[2] = 1
    expected[1, 3] = 20
    np.testing.assert_array_equal(g, expected)
    # the MLP-style pair index p[y, arange(n)]
    y = T.ivector("y")
    cost = x[y, T.arange(y.shape[0])].sum()
    g = compile_([x, y], T.grad(cost, x))(xv, np.array([2, 2, 0, 2], dtype="int32"))
    np.testing.assert_array_equal(g, [[0, 0, 1, 0], [0, 0, 0, 0], [1, 1, 0, 1]])


def test_set_and_inc_subtensor_grads():
    x, y = T.dvector("x"), T.dvector("y")
    w = T.constant(np.arange(1.0, 6.0))
    for build, gx_expected, gy_expected in [
        (lambda: T.set_subtensor(x[1:3], y), [1, 0, 0, 4, 5], [2, 3]),
        (lambda: T.inc_subtensor(x[1:3], y), [1, 2, 3, 4, 5], [2, 3]),
        (lambda: T.set_subtensor(x[[4, 0]], y), [0, 2, 3, 4, 0], [5, 1]),
        (lambda: T.inc_subtensor(x[[4, 4]], y), [1, 2, 3, 4, 5], [5, 5]),
    ]:
        cost = (build() * w).sum()
        gx, gy = compile_([x, y], T.grad(cost, [x, y]))(np.zeros(5), np.zeros(2))
        np.testing.assert_array_equal(gx, gx_expected)
        np.testing.assert_array_equal(gy, gy_expected)
    # a scalar written into a slice gets the sum
    s = T.dscalar("s")
    gs = compile_([x, s], T.grad((T.inc_subtensor(x[1:4], s) * w).sum(), s))(np.zeros(5), 0.0)
    assert gs == 2 + 3 + 4


def test_softmax_crossentropy_grads(rng):
    x = T.dmatrix("x")
    t = T.ivector("t")
    xv = rng.normal(size=(4, 3))
    tv = np.array([0, 2, 1, 2], dtype="int32")
    p = np.exp(xv) / np.exp(xv).sum(axis=1, keepdims=True)
    onehot = np.eye(3)[tv]
    costs = [T.nnet.categorical_crossentropy(T.nnet.softmax(x), t).sum(),
             T.nnet.categorical_crossentropy(T.nnet.softmax(x), T.constant(onehot)).sum(),
             -(T.nnet.log_softmax(x)[T.arange(4), t]).sum()]
    for cost in costs:
        np.testing.assert_allclose(compile_([x, t], T.grad(cost, x))(xv, tv), p - onehot, rtol=1e-10,
                                   atol=1e-12)


def test_shared_variable_grad_and_update():
    w = sg.shared(np.array([1.0, -2.0]), name="w")
    x = T.dvector("x")
    cost = ((T.dot(x, w) - 1) ** 2)
    step = sg.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))])
    step(np.array([1.0, 1.0]))
    np.testing.assert_allclose(w.get_value(), [1.0 + 0.4, -2.0 + 0.4])


def test_grad_of_grad_for_every_unary_op(rng):
    # second derivatives via grad(grad) against finite differences of the first
    for name, fn, domain in UNARY:
        if name in ("relu", "leaky_relu", "clip_const", "floor_plus", "sign_times", "abs"):
            continue
        sg.verify_grad(lambda x: T.grad(fn(x).sum(), x), [domain(rng, (3,))], rng=rng)


def test_wrong_type_from_an_op_grad_is_reported():
    class BadGrad(Op):
        def make_node(self, x):
            return self.apply([x], [x.type])

        def perform(self, x):
            return x

        def grad(self, inputs, outputs, grads):
            return [T.cast(grads[0], "float32")]

    x = T.dvector("x")
    with pytest.raises(TypeError, match="badgrad"):
        T.grad(BadGrad()(x).sum(), x)


def test_map_rows_empty_and_type_checks():
    from symgraph.ops.maprows import map_rows, row_placeholder
    m = T.dmatrix("m")
    r = row_placeholder(m)
    (out,) = map_rows([T.exp(r) * 2], [m], [r])
    f = compile_([m], out)
    np.testing.assert_allclose(f(np.ones((2, 3))), 2 * np.exp(np.ones((2, 3))))
    assert f(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError):
        out.owner.op.make_node(T.dvector("v"))
    assert TensorType("float64", (False, False)) == out.type


def test_map_rows_grad_for_sequences_and_fixed_inputs(rng):
    from symgraph.ops.maprows import map_rows, row_placeholder

    def fn(m, w, c):
        r = row_placeholder(m)
        (out,) = map_rows([T.tanh(r * w) * r.sum() + c], [m], [r])
        return out

    sg.verify_grad(fn, [rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=(1, 4))], rng=rng)


def test_no_warnings_from_plain_grads():
    x = T.dvector("x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        T.grad(T.exp(x).sum(), x)


# piecewise-constant and other non-differentiable rows of the op table (//, %, floor,
# comparisons, casts, ...): grad gives what Theano gives, zeros where the function
# is locally constant, checked against finite differences away from the jumps
NONDIFF_CASES = [r for r in op_table.ROWS if not r.differentiable and "float64" in r.dtypes
                 and r.wrt()] if TABLE_CASES else []


@pytest.mark.parametrize("table_row", NONDIFF_CASES, ids=[r.name for r in NONDIFF_CASES])
def test_non_differentiable_row_grad(table_row, rng):
    inputs, out = table_row.graph("float64")
    wrt = table_row.wrt()
    cost = T.cast(out, "float64").sum()
    grads = T.grad(cost, [inputs[i] for i in wrt], disconnected_inputs="ignore")
    assert [g.type for g in grads] == [inputs[i].type for i in wrt]
    values = table_row.make_inputs(rng, "float64")
    got = compile_(inputs, grads)(*values)
    f = compile_(inputs, cost, mode="python")
    eps = 1e-3     # float32 casts round at 1e-7: a larger step keeps the difference exact enough
    for g, i in zip(got, wrt):
        for k in np.ndindex(np.shape(values[i])):
            plus, minus = [list(values) for _ in range(2)]
            plus[i], minus[i] = np.array(values[i], copy=True), np.array(values[i], copy=True)
            plus[i][k] += eps
            minus[i][k] -= eps
            numeric = (f(*plus) - f(*minus)) / (2 * eps)
            if abs(numeric) < 100:      # not across a jump (a jump of 1 gives 500)
                assert abs(g[k] - numeric) < 1e-3, (k, g[k], numeric)


def test_floor_division_cost_has_zero_gradients(rng):
    # the classic contractive auto-encoder writes its penalty as T.sum(J ** 2) // n
    x = T.dmatrix("x")
    W = sg.shared(rng.normal(size=(3, 2)), name="W")
    J = T.tanh(T.dot(x, W))
    n = x.shape[0]
    penalty = T.sum(J ** 2) // n
    g = T.grad(penalty, W)
    assert g.type == W.type
    np.testing.assert_array_equal(compile_([x], g)(rng.normal(size=(4, 3))), np.zeros((3, 2)))
    cost = T.mean(J) + penalty
    np.testing.assert_allclose(compile_([x], T.grad(cost, W))(np.ones((4, 3))),
                               compile_([x], T.grad(T.mean(J), W))(np.ones((4, 3))))
