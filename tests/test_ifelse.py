"""ifelse (symgraph/ifelse.py, ops/ifelse.py, compile/lower_ifelse.py): values,
laziness (the branch not taken never runs), several outputs, gradients."""
import os

import numpy as np
import pytest

import symgraph as sg
from symgraph import tensor as T
from symgraph.ifelse import IfElse, ifelse

MODES = ["python", "numba"] + [m for m in os.environ.get("SYMGRAPH_TEST_MODES", "").split(",") if m == "cuda"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cond_dtype", ["int32", "float64", "bool"])
def test_values_match_numpy(mode, cond_dtype):
    c = T.scalar("c", dtype=cond_dtype)
    x, y = T.vector("x"), T.matrix("y")
    z = ifelse(c, T.exp(x) + y, (y * 2).T)
    f = sg.function([c, x, y], z, mode=mode)
    xv, yv = np.arange(3.0), np.arange(9.0).reshape(3, 3)
    np.testing.assert_allclose(f(np.array(1, cond_dtype), xv, yv), np.exp(xv) + yv)
    np.testing.assert_allclose(f(np.array(0, cond_dtype), xv, yv), (yv * 2).T)
    assert isinstance(z.owner.op, IfElse)


@pytest.mark.parametrize("mode", MODES)
def test_scalar_outputs_and_free_variables_only(mode):
    c = T.iscalar("c")
    a, b = T.scalar("a"), T.scalar("b")
    f = sg.function([c, a, b], ifelse(c, a, b), mode=mode)
    assert f(1, 2.0, 3.0) == 2.0 and f(0, 2.0, 3.0) == 3.0
    x = T.vector("x")
    g = sg.function([c, x], ifelse(c, x, x * 0), mode=mode)
    xv = np.arange(3.0)
    out = g(1, xv)
    np.testing.assert_array_equal(out, xv)
    out[0] = 99.0   # the result is the caller's own array, not the argument
    assert xv[0] == 0.0


@pytest.mark.parametrize("mode", MODES)
def test_branch_not_taken_is_not_evaluated(mode):
    c = T.iscalar("c")
    x = T.vector("x")
    # x[10] on a length-3 vector raises, and so does the failing check
    bad = x[10] + T.check_and_raise(x, T.lt(x.shape[0], 0), message="never").sum()
    f = sg.function([c, x], ifelse(c, x.sum(), bad), mode=mode)
    xv = np.arange(3.0)
    assert f(1, xv) == 3.0
    with pytest.raises((IndexError, ValueError)):
        f(0, xv)
    g = sg.function([c, x], ifelse(c, bad, x.sum()), mode=mode)
    assert g(0, xv) == 3.0
    with pytest.raises((IndexError, ValueError)):
        g(1, xv)


def test_perform_runs_only_the_branch_taken(monkeypatch):
    # count the nodes the reference runs inside the op: the else branch's never
    c = T.iscalar("c")
    x = T.vector("x")
    expensive = T.exp(x).sum()
    z = ifelse(c, x.sum(), expensive)
    op = z.owner.op
    # the ops only the else branch has (both branches sum)
    else_ops = ({n.op for n in sg.graph.toposort(list(op.else_outputs))}
                - {n.op for n in sg.graph.toposort(list(op.then_outputs))})
    assert else_ops
    seen = []
    for cls in {type(o) for o in else_ops}:
        original = cls.perform
        monkeypatch.setattr(cls, "perform",
                            lambda self, *a, _o=original: (seen.append(self), _o(self, *a))[1])
    f = sg.function([c, x], z, mode="python")
    assert f(1, np.arange(3.0)) == 3.0
    assert not [s for s in seen if s in else_ops]
    np.testing.assert_allclose(f(0, np.arange(3.0)), np.exp(np.arange(3.0)).sum())
    assert [s for s in seen if s in else_ops]


@pytest.mark.parametrize("mode", MODES)
def test_multiple_outputs(mode):
    c = T.iscalar("c")
    x, y = T.vector("x"), T.vector("y")
    out = ifelse(c, [x + y, (x * y).sum(), T.cast(x, "int64")],
                 (y - x, x.sum(), T.cast(y, "int64")))
    assert isinstance(out, list) and len(out) == 3
    assert isinstance(ifelse(c, (x,), (y,)), tuple)
    f = sg.function([c, x, y], out, mode=mode)
    xv, yv = np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0])
    r1 = f(1, xv, yv)
    np.testing.assert_allclose(r1[0], xv + yv)
    np.testing.assert_allclose(r1[1], (xv * yv).sum())
    np.testing.assert_array_equal(r1[2], xv.astype("int64"))
    r0 = f(0, xv, yv)
    np.testing.assert_allclose(r0[0], yv - xv)
    np.testing.assert_allclose(r0[1], xv.sum())
    np.testing.assert_array_equal(r0[2], yv.astype("int64"))


def test_broadcastable_is_and_of_both():
    c = T.iscalar("c")
    row, mat = T.row("r"), T.matrix("m")
    assert ifelse(c, row, mat).broadcastable == (False, False)
    assert ifelse(c, row, row * 2).broadcastable == (True, False)


def test_type_mismatch_names_the_pair():
    c = T.iscalar("c")
    x, m, i = T.vector("x"), T.matrix("m"), T.ivector("i")
    with pytest.raises(TypeError, match="output 1.*same dtype and ndim"):
        ifelse(c, [x, x], [x, m])
    with pytest.raises(TypeError, match="output 0"):
        ifelse(c, x, i)
    with pytest.raises(ValueError, match="outputs"):
        ifelse(c, [x, x], [x])
    with pytest.raises(TypeError, match="scalar"):
        ifelse(x, x, x)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cond", [1, 0])
def test_grad_matches_finite_differences(mode, cond):
    def fn(x, y):
        c = T.constant(np.int32(cond))
        # x reaches only the then branch, y both: the other side gets zeros
        return ifelse(c, T.sin(x) * y.sum(), T.exp(y) * 3.0)

    rng = np.random.default_rng(1)
    sg.verify_grad(fn, [rng.standard_normal(3), rng.standard_normal(3)], mode=mode)


@pytest.mark.parametrize("mode", MODES)
def test_grad_is_lazy_and_correct_for_both_conditions(mode):
    c = T.iscalar("c")
    x = T.vector("x")
    z = ifelse(c, (x ** 2).sum(), T.sin(x).sum() + x[10])
    gx = sg.grad(z, x)
    assert any(isinstance(n.op, IfElse) for n in sg.graph.toposort([gx]) if n is not z.owner)
    f = sg.function([c, x], gx, mode=mode)
    xv = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(f(1, xv), 2 * xv)   # the else gradient (x[10]) never runs
    xl = np.linspace(0, 1, 11)
    want = np.cos(xl)
    want[10] += 1.0
    np.testing.assert_allclose(f(0, xl), want)
    # finite differences of the compiled function itself, for both conditions
    fz = sg.function([c, x], z, mode=mode)
    for cv, v in [(1, xv), (0, xl)]:
        eps, d = 1e-6, np.random.default_rng(0).standard_normal(v.shape)
        numeric = (fz(cv, v + eps * d) - fz(cv, v - eps * d)) / (2 * eps)
        np.testing.assert_allclose(f(cv, v) @ d, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("mode", MODES)
def test_nested_ifelse(mode):
    a, b = T.iscalar("a"), T.iscalar("b")
    x = T.vector("x")
    z = ifelse(a, ifelse(b, x * 2, x * 3), x + x[5])
    f = sg.function([a, b, x], z, mode=mode)
    xv = np.arange(3.0)
    np.testing.assert_allclose(f(1, 1, xv), xv * 2)
    np.testing.assert_allclose(f(1, 0, xv), xv * 3)
