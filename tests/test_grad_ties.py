"""Gradients at ties and at repeated indices (issue 11).

max/min reductions and maximum/minimum share the gradient evenly among tied
entries (JAX's rule); set_subtensor sends it to the write the forward pass keeps.
Each case is checked against the hand-derived array and, where the function is
differentiable there (copies of one entry, overwritten writes), against central
differences, in both backends.
"""
import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

MODES = ["python", "numba"]


def central_difference(f, values, k, eps=1e-4):
    """d f / d values[k] by central differences (f is exactly linear near these points)."""
    base = [np.array(v, dtype="float64") for v in values]
    out = np.zeros_like(base[k])
    for pos in np.ndindex(*base[k].shape):
        up, down = [b.copy() for b in base], [b.copy() for b in base]
        up[k][pos] += eps
        down[k][pos] -= eps
        out[pos] = (f(*up) - f(*down)) / (2 * eps)
    return out


def _check(mode, inputs, cost, values, expected, wrt=(0,), fd=True):
    f = sg.function(inputs, cost, mode=mode)
    grads = sg.function(inputs, T.grad(cost, [inputs[k] for k in wrt]), mode=mode)(*values)
    for k, got, want in zip(wrt, grads, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
        if fd:
            np.testing.assert_allclose(got, central_difference(f, values, k), rtol=0, atol=1e-7)


M = np.array([[1.0, 3.0, 3.0], [1.0, 3.0, 1.0]])   # ties along every axis
W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])   # weights: each output's gradient differs
_m = T.dmatrix("m")
_w = T.constant(W)

# (id, cost of the matrix m, expected gradient at M).  At M the maxima tie
# between independent entries: max is not differentiable there, so these are
# checked against the rule, not against finite differences.
THIRD = 1 / 3
REDUCTION_TIES = [
    ("max axis=None", T.max(_m), [[0, THIRD, THIRD], [0, THIRD, 0]]),
    ("min axis=None", T.min(_m), [[THIRD, 0, 0], [THIRD, 0, THIRD]]),
    ("max axis=0", (T.max(_m, axis=0) * [1.0, 2.0, 3.0]).sum(), [[.5, 1, 3], [.5, 1, 0]]),
    ("min axis=0", (T.min(_m, axis=0) * [1.0, 2.0, 3.0]).sum(), [[.5, 1, 0], [.5, 1, 3]]),
    ("max axis=1", (T.max(_m, axis=1) * [6.0, 3.0]).sum(), [[0, 3, 3], [0, 3, 0]]),
    ("min axis=1", (T.min(_m, axis=1) * [6.0, 3.0]).sum(), [[6, 0, 0], [1.5, 0, 1.5]]),
    ("max axis=1 keepdims", (T.max(_m, axis=1, keepdims=True) * _w).sum(),
     [[0, 3, 3], [0, 15, 0]]),
    ("min axis=0 keepdims", (T.min(_m, axis=0, keepdims=True) * _w).sum(),
     [[2.5, 3.5, 0], [2.5, 3.5, 9]]),
    ("max axis=(0,1)", T.max(_m, axis=(0, 1)), [[0, THIRD, THIRD], [0, THIRD, 0]]),
    ("min axis=None keepdims", T.min(_m, keepdims=True).sum(), [[THIRD, 0, 0], [THIRD, 0, THIRD]]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,cost,expected", REDUCTION_TIES, ids=[c[0] for c in REDUCTION_TIES])
def test_reduction_ties_share_the_gradient(mode, name, cost, expected):
    _check(mode, [_m], cost, [M], [np.array(expected, dtype="float64")], fd=False)


@pytest.mark.parametrize("mode", MODES)
def test_tied_shares_give_the_derivative_along_the_tie(mode):
    # moving every tied entry by eps moves the extremum by eps: the shares must
    # add up to that directional derivative (1 per reduced group)
    m = T.dmatrix("m")
    cost = T.max(m, axis=1).sum() + T.min(m)
    mv = np.full((2, 4), 7.0)
    g = sg.function([m], T.grad(cost, m), mode=mode)(mv)
    np.testing.assert_allclose(g, np.full((2, 4), 0.25) + 1 / 8, atol=1e-12)
    f, eps = sg.function([m], cost, mode=mode), 1e-3
    assert np.isclose(g.sum(), (f(mv + eps) - f(mv - eps)) / (2 * eps), atol=1e-9)


_v, _s = T.dvector("v"), T.dscalar("s")
V = np.array([3.0, 3.0, 1.0])

# (id, inputs, cost, values, expected gradients w.r.t. the first input): each
# function is differentiable at these points, so central differences agree.
EXACT_CASES = [
    ("maximum(v, v)", [_v], T.maximum(_v, _v).sum(), [V], [[1, 1, 1]]),
    ("minimum(v, v)", [_v], T.minimum(_v, _v).sum(), [V], [[1, 1, 1]]),
    ("maximum(v, v) * w", [_v], (T.maximum(_v, _v) * [1.0, 2.0, 3.0]).sum(), [V], [[1, 2, 3]]),
    ("relu of maximum(v, v)", [_v], T.nnet.relu(T.maximum(_v, _v) - 2).sum(), [V], [[1, 1, 0]]),
    ("max(v[[0, 0]])", [_v], T.max(_v[[0, 0]]), [V], [[1, 0, 0]]),
    ("min(v[[0, 0]])", [_v], T.min(_v[[0, 0]]), [V], [[1, 0, 0]]),
    ("max(v[[2, 2, 2]])", [_v], T.max(_v[[2, 2, 2]]), [V], [[0, 0, 1]]),
    ("max of a tiled matrix axis=0", [_v], (T.max(T.stack([_v, _v]), axis=0) * [1.0, 2.0, 3.0]).sum(),
     [V], [[1, 2, 3]]),
    ("min of a tiled matrix axis=1 keepdims", [_v],
     T.min(T.stack([_v[[1, 1]], _v[[1, 1]]]), axis=1, keepdims=True).sum(), [V], [[0, 2, 0]]),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,inputs,cost,values,expected", EXACT_CASES, ids=[c[0] for c in EXACT_CASES])
def test_ties_of_copies_match_central_differences(mode, name, inputs, cost, values, expected):
    _check(mode, inputs, cost, values, [np.array(e, dtype="float64") for e in expected])


@pytest.mark.parametrize("mode", MODES)
def test_maximum_minimum_equal_inputs_split(mode):
    a, b = T.dvectors("a", "b")
    av, bv = np.array([1.0, 2.0, 5.0, 4.0]), np.array([1.0, 3.0, 4.0, 4.0])
    for op, ga_want, gb_want in [(T.maximum, [.5, 0, 1, .5], [.5, 1, 0, .5]),
                                 (T.minimum, [.5, 1, 0, .5], [.5, 0, 1, .5])]:
        ga, gb = sg.function([a, b], T.grad(op(a, b).sum(), [a, b]), mode=mode)(av, bv)
        np.testing.assert_array_equal(ga, ga_want)
        np.testing.assert_array_equal(gb, gb_want)
    # a broadcast operand collects its halves: maximum(x, scalar) with two ties
    x, c = T.dvector("x"), T.dscalar("c")
    gx, gc = sg.function([x, c], T.grad(T.maximum(x, c).sum(), [x, c]), mode=mode)([2.0, 1.0, 2.0], 2.0)
    np.testing.assert_array_equal(gx, [.5, 0, .5])
    assert gc == 2.0


def test_tie_gradients_keep_float32():
    x = T.fvector("x")
    grads = [T.grad(T.maximum(x, x).sum(), x), T.grad(T.max(x[[0, 0]]), x), T.grad(x.min(), x)]
    assert all(g.type == x.type for g in grads)
    got = sg.function([x], grads, mode="python")(np.array([2.0, 2.0], dtype="float32"))
    assert all(g.dtype == np.float32 for g in got)
    np.testing.assert_array_equal(got[0], [1, 1])
    np.testing.assert_array_equal(got[1], [1, 0])
    np.testing.assert_array_equal(got[2], [.5, .5])


# ------------------------------------------------------------ set/inc_subtensor
_x = T.dmatrix("x")
_sv = T.dvector("sv")
X = np.arange(1.0, 13.0).reshape(3, 4)
WX = np.arange(1.0, 13.0).reshape(3, 4) * 10 + np.arange(4)   # distinct weights
_wx = T.constant(WX)
_w3 = T.constant(np.array([10.0, 1.0, 1.0]))

# (id, inputs, cost, values, expected gradients, wrt)
SET_CASES = [
    ("1-d scalar value", [_v, _s], T.set_subtensor(_v[[0, 0]], _s).sum(), [V, 2.0],
     [[0, 1, 1], 1.0], (0, 1)),
    ("1-d values from the base", [_v], (T.set_subtensor(_v[[0, 0]], _v[1:]) * _w3).sum(), [V],
     [[0, 1, 11]], (0,)),
    ("1-d vector value", [_v, _sv], (T.set_subtensor(_v[[2, 0, 2, 2]], _sv) * _w3).sum(),
     [V, [5.0, 6.0, 7.0, 8.0]], [[0, 1, 0], [0, 10, 0, 1]], (0, 1)),
    ("1-d negative alias", [_v, _sv], (T.set_subtensor(_v[[0, -3]], _sv) * _w3).sum(),
     [V, [5.0, 6.0]], [[0, 1, 1], [0, 10]], (0, 1)),
    ("2-d rows, vector value", [_x, _sv], (T.set_subtensor(_x[[1, 1, 0]], _sv) * _wx).sum(),
     [X, [1.0, 2.0, 3.0, 4.0]],
     [np.vstack([np.zeros((2, 4)), WX[2:]]), WX[0] + WX[1]], (0, 1)),
    ("2-d pairs, scalar value", [_x, _s], (T.set_subtensor(_x[[0, 0, 2], [1, 1, 3]], _s) * _wx).sum(),
     [X, 2.0], [np.where(np.isin(np.arange(12).reshape(3, 4), [1, 11]), 0, WX), WX[0, 1] + WX[2, 3]],
     (0, 1)),
    ("2-d pairs, vector value", [_x, _sv], (T.set_subtensor(_x[[0, 0, 2], [1, 1, 3]], _sv) * _wx).sum(),
     [X, [1.0, 2.0, 3.0]],
     [np.where(np.isin(np.arange(12).reshape(3, 4), [1, 11]), 0, WX), [0, WX[0, 1], WX[2, 3]]], (0, 1)),
    ("2-d column slice and repeats", [_x, _sv], (T.set_subtensor(_x[1:, [3, 3]], _sv) * _wx).sum(),
     [X, [1.0, 2.0]], [np.where(np.arange(12).reshape(3, 4) % 4 == 3, WX * [[1], [0], [0]], WX),
                       [0, WX[1, 3] + WX[2, 3]]], (0, 1)),
    ("inc 1-d repeated", [_v, _s], (T.inc_subtensor(_v[[0, 0]], _s) * _w3).sum(), [V, 2.0],
     [[10, 1, 1], 20.0], (0, 1)),
    ("inc 2-d pairs repeated", [_x, _sv], (T.inc_subtensor(_x[[0, 0, 2], [1, 1, 3]], _sv) * _wx).sum(),
     [X, [1.0, 2.0, 3.0]], [WX, [WX[0, 1], WX[0, 1], WX[2, 3]]], (0, 1)),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name,inputs,cost,values,expected,wrt", SET_CASES, ids=[c[0] for c in SET_CASES])
def test_set_subtensor_repeats_last_write_wins(mode, name, inputs, cost, values, expected, wrt):
    _check(mode, inputs, cost, values, [np.array(e, dtype="float64") for e in expected], wrt=wrt)


@pytest.mark.parametrize("mode", MODES)
def test_set_subtensor_runtime_repeats(mode):
    # the index is an input: whether it repeats is known only at run time
    v, s, i = T.dvector("v"), T.dvector("s"), T.lvector("i")
    cost = (T.set_subtensor(v[i], s) * _w3).sum()
    f = sg.function([v, s, i], T.grad(cost, [v, s]), mode=mode)
    for idx, gv, gs in [([0, 0], [0, 1, 1], [0, 10]), ([0, 1], [0, 0, 1], [10, 1]),
                        ([1, 0, 1], [0, 0, 1], [0, 10, 1])]:
        got_v, got_s = f(V, np.ones(len(idx)), idx)
        np.testing.assert_array_equal(got_v, gv)
        np.testing.assert_array_equal(got_s, gs)
    # a boolean mask cannot repeat: no extra work, same answer
    m = T.bvector("m")
    g = sg.function([v, s, m], T.grad((T.set_subtensor(v[T.cast(m, "bool")], s) * _w3).sum(), s),
                    mode=mode, on_unused_input="ignore")
    np.testing.assert_array_equal(g(V, [1.0, 2.0], np.array([1, 0, 1], dtype="int8")), [10, 1])
