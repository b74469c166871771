"""Accurate floating-point sums (issue 11).

Adding one element at a time, 4e6 copies of 0.1 summed to a value off by
5.3e-11 relative (6.4e-10 for 4e7); pairwise summation, as NumPy does it, is
exact to about 1e-16.  The accuracy cases run in mode='numba' whatever
SYMGRAPH_TEST_MODE says: they are about the generated loops, and NumPy itself
adds one row at a time along a non-contiguous axis (its axis=0 sum of a
(2e6, 2) array is off by 3.6e-11), so the reference backend would not meet them.

Then values against NumPy over lengths around the block sizes of
symgraph/compile/pairwise.py (fewer than 16 elements, 128-element blocks),
for every axis pattern, views and fused bodies, in the mode under test.
"""
import math
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T


def _exact(a, axis):
    """The correctly rounded sum of the float64 values of ``a`` (math.fsum)."""
    a = np.asarray(a, dtype=np.float64)
    if axis is None:
        return np.float64(math.fsum(a.ravel()))
    return np.apply_along_axis(math.fsum, axis, a)


# shape, axis; 0.1 everywhere: every naive partial sum rounds the same way, so
# the one-at-a-time error grows linearly (1e-11 and more at these sizes)
ACCURACY = [
    ((4_000_000,), None),
    ((2000, 2000), None),        # rows continue each other's blocks
    ((2, 2_000_000), 1),         # the innermost axis
    ((2_000_000, 2), 0),         # an outer axis: one running sum per column
    ((2, 1_000_000, 2), 1),      # between kept axes
]


@pytest.mark.parametrize("shape, axis", ACCURACY, ids=lambda v: str(v).replace(" ", ""))
def test_float64_sum_is_as_accurate_as_pairwise(shape, axis):
    x = T.tensor("float64", (False,) * len(shape), name="x")
    f = sg.function([x], [T.sum(x, axis=axis), T.mean(x, axis=axis)], mode="numba")
    a = np.full(shape, 0.1)
    total = _exact(a, axis)
    for got, want in zip(f(a), [total, total / (a.size // np.size(total))]):
        rel = np.max(np.abs(got - want) / np.abs(want))
        # one element at a time: 1.3e-11 to 5.3e-11 here
        assert rel < 1e-14, f"relative error {rel:.2e}"


def test_fused_sum_is_as_accurate_as_pairwise():
    """The summed values are computed inside the reduction's loop."""
    x = T.dvector("x")
    f = sg.function([x], T.sum(2.0 * x), mode="numba")
    a = np.full(4_000_000, 0.05)
    want = _exact(2.0 * a, None)
    assert abs(f(a) - want) / want < 1e-14


@pytest.mark.parametrize("shape, axis", [((4_000_000,), None), ((2_000_000, 2), 0)],
                         ids=["all", "axis0"])
def test_float32_sum_rounds_like_the_exact_sum(shape, axis):
    """float32 sums accumulate in float64 (before and after pairwise): the
    result is the exact sum rounded to float32, within one unit."""
    x = T.tensor("float32", (False,) * len(shape), name="x")
    f = sg.function([x], T.sum(x, axis=axis), mode="numba")
    a = np.full(shape, 0.1, dtype=np.float32)
    got = f(a)
    assert got.dtype == np.float32
    want = np.float32(_exact(a, axis))
    assert np.all(np.abs(got - want) <= np.spacing(want))


# ---------------------------------------------------------------- values
# lengths around the thresholds: < 16 one at a time, blocks of 128, 8 lanes
LENGTHS = [0, 1, 7, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1031]

PATTERNS = [
    # (ndim, axis, shapes to call with: a function of a length n)
    (1, None, lambda n: [(n,)]),
    (2, None, lambda n: [(n, 3), (3, n), (1, n)]),
    (2, 1, lambda n: [(4, n), (n, 5)]),
    (2, 0, lambda n: [(n, 4), (5, n)]),
    (3, 1, lambda n: [(2, n, 3), (3, 5, n)]),
    (3, (0, 1), lambda n: [(n, 3, 2), (2, n, 3)]),
    (3, (1, 2), lambda n: [(3, n, 2), (2, 3, n)]),
    (3, (0, 2), lambda n: [(n, 2, 3), (2, 3, n)]),   # not contiguous: one at a time
]


@pytest.mark.parametrize("ndim, axis, shapes", PATTERNS,
                         ids=[f"{nd}d-axis={ax}".replace(" ", "") for nd, ax, _ in PATTERNS])
def test_values_match_numpy(ndim, axis, shapes, rng):
    """sum and mean of float64 and float32 inputs, one compiled function."""
    xs = [T.tensor(dt, (False,) * ndim, name=dt) for dt in ("float64", "float32")]
    f = sg.function(xs, [r(x, axis=axis) for x in xs for r in (T.sum, T.mean)])
    for s in (s for n in LENGTHS for s in shapes(n)):
        a = rng.uniform(-1, 1, s)
        a32 = a.astype(np.float32)
        got = f(a, a32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # the mean of nothing is nan
            # float32 sums accumulate in float64, then round once
            want = [np.sum(a, axis=axis), np.mean(a, axis=axis),
                    np.sum(a32.astype(np.float64), axis=axis).astype(np.float32),
                    np.mean(a32.astype(np.float64), axis=axis).astype(np.float32)]
        for k, (g, w) in enumerate(zip(got, map(np.asarray, want))):
            tol = 1e-12 if k < 2 else 1e-6
            assert g.dtype == w.dtype and g.shape == w.shape, (s, k)
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"{s}, output {k}")


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_views_and_fused_bodies(axis, rng):
    """A transposed input, and an elementwise body with exp computed in the loop."""
    m = T.dmatrix("m")
    outs = [T.sum(m.T, axis=axis), T.sum(T.exp(m) * 2 - m, axis=axis),
            T.mean(m.dimshuffle(1, "x", 0), axis=None if axis is None else (axis,))]
    f = sg.function([m], outs)
    for n in (3, 16, 129, 300):
        a = rng.uniform(-1, 1, (n, 7))
        got = f(a)
        want = [np.sum(a.T, axis=axis), np.sum(np.exp(a) * 2 - a, axis=axis),
                np.mean(a.T[:, None, :], axis=None if axis is None else (axis,))]
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool"])
def test_integer_sums_stay_exact(dtype):
    x = T.tensor(dtype, (False, False), name="x")
    f = sg.function([x], [T.sum(x), T.sum(x, axis=0), T.sum(x, axis=1)])
    info = np.iinfo(dtype) if dtype != "bool" else None
    a = (np.ones((300, 200), dtype=bool) if info is None
         else np.full((300, 200), info.max // 100_000, dtype=dtype))
    for got, want in zip(f(a), [np.sum(a), np.sum(a, axis=0), np.sum(a, axis=1)]):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
