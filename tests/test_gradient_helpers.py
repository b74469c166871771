"""symgraph.gradient: Theano's gradient overrides and paths, and sg.Out."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph import gradient
from symgraph.graph import ancestors
from symgraph.ops.gradient_ops import GradientOverride

MODES = ["python", "numba"]
HELPERS = [gradient.disconnected_grad, gradient.zero_grad,
           lambda x: gradient.grad_clip(x, -1.0, 1.0), lambda x: gradient.grad_scale(x, 3)]
X = np.array([[0.5, -2.0, 3.0], [1.5, 0.0, -0.25]])


def _overrides(outputs):
    outs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    return [v for v in ancestors(outs) if v.owner is not None and isinstance(v.owner.op, GradientOverride)]


def _grad_value(cost, x, value, mode="python"):
    return sg.function([x], sg.grad(cost, x), mode=mode)(value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("helper", HELPERS)
def test_forward_is_identity(helper, mode):
    x = T.dmatrix("x")
    y = helper(x)
    assert y.type == x.type
    f = sg.function([x], [y, helper(x * 2).sum()], mode=mode)
    out, total = f(X)
    np.testing.assert_array_equal(out, X)
    assert out is not X
    np.testing.assert_allclose(total, (X * 2).sum())


@pytest.mark.parametrize("mode", MODES)
def test_forward_unoptimized_numba(mode, monkeypatch):
    # without the optimizer the ops reach the backend, which must run them
    monkeypatch.setattr(sg.config, "optimizer", "None")
    x = T.dvector("x")
    f = sg.function([x], gradient.grad_clip(x, -1, 1) + 1, mode=mode)
    assert _overrides(f.maker.fgraph.outputs)
    np.testing.assert_array_equal(f(np.arange(3.0)), np.arange(3.0) + 1)


@pytest.mark.parametrize("mode", MODES)
def test_zero_grad(mode):
    x = T.dmatrix("x")
    cost = (gradient.zero_grad(x) ** 2).sum() + x.sum()
    np.testing.assert_array_equal(_grad_value(cost, x, X, mode), np.ones_like(X))
    # only through zero_grad: a connected, zero gradient
    np.testing.assert_array_equal(_grad_value((gradient.zero_grad(x) ** 2).sum(), x, X, mode),
                                  np.zeros_like(X))


@pytest.mark.parametrize("mode", MODES)
def test_grad_scale(mode):
    x = T.dmatrix("x")
    cost = (gradient.grad_scale(x, 3) ** 2).sum()
    np.testing.assert_allclose(_grad_value(cost, x, X, mode), 6 * X)
    np.testing.assert_allclose(_grad_value(gradient.grad_scale(x, -0.5).sum(), x, X, mode),
                               np.full_like(X, -0.5))


@pytest.mark.parametrize("mode", MODES)
def test_grad_clip(mode):
    x = T.dmatrix("x")
    cost = (gradient.grad_clip(x, -1.0, 2.0) ** 2).sum()   # unclipped: 2x
    np.testing.assert_allclose(_grad_value(cost, x, X, mode), np.clip(2 * X, -1.0, 2.0))
    # the clip applies to the gradient arriving at the op, not to what lies behind it
    cost = (gradient.grad_clip(x * 3, -1.0, 1.0)).sum()     # arriving: 1 -> stays 1, times 3
    np.testing.assert_allclose(_grad_value(cost, x, X, mode), np.full_like(X, 3.0))


def test_grad_clip_float32_keeps_dtype():
    x = T.fvector("x")
    g = sg.grad((gradient.grad_clip(x, -0.5, 0.5) ** 2).sum(), x)
    assert g.dtype == "float32"
    out = sg.function([x], g)(np.array([0.1, 1.0, -3.0], dtype="float32"))
    np.testing.assert_allclose(out, [0.2, 0.5, -0.5], rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_disconnected_grad_blocks(mode):
    x = T.dmatrix("x")
    # d/dx of disconnected_grad(x) * x is the first factor only
    cost = (gradient.disconnected_grad(x) * x).sum()
    np.testing.assert_allclose(_grad_value(cost, x, X, mode), X)
    # reached only through it: symgraph's grad treats it as consider_constant (zeros)
    g = sg.grad((gradient.disconnected_grad(x) ** 2).sum(), x)
    np.testing.assert_array_equal(sg.function([x], g, mode=mode)(X), np.zeros_like(X))
    g = sg.grad((gradient.disconnected_grad(x) ** 2).sum(), x, return_disconnected="None")
    assert g is None


def test_grad_of_grad_through_overrides():
    x = T.dvector("x")
    g = sg.grad((gradient.grad_scale(x, 2) ** 3).sum(), x)     # 2 * 3x^2
    # g reads grad_scale(x, 2) again, so the second gradient is scaled too: 2 * 12x
    h = sg.grad(g.sum(), x)
    np.testing.assert_allclose(sg.function([x], h)(np.array([1.0, 2.0])), [24.0, 48.0])


@pytest.mark.parametrize("helper", HELPERS)
def test_optimizer_removes_them(helper):
    x = T.dmatrix("x")
    y = helper(T.exp(x)) * 2
    cost = (y ** 2).sum()
    assert _overrides(y)
    assert not _overrides(sg.optimize([y, sg.grad(cost, x, disconnected_inputs="ignore")]))
    f = sg.function([x], [y, sg.grad(cost, x, disconnected_inputs="ignore")], mode="numba")
    assert not _overrides(f.maker.fgraph.outputs)
    assert "grad" not in sg.debugprint(sg.optimize(y), file="str")
    assert not _overrides(sg.optimize(y, optimizer="fast_compile"))


def test_op_text_and_errors():
    x = T.dvector("x")
    assert "grad_clip" in str(gradient.grad_clip(x, -1, 1).owner.op)
    assert gradient.grad_scale(x, 2).owner.op == gradient.grad_scale(x, 2.0).owner.op
    with pytest.raises(ValueError):
        gradient.grad_clip(x, 1.0, -1.0)
    with pytest.raises(TypeError):
        gradient.grad_scale(x, T.dscalar("m"))
    with pytest.raises(ValueError):
        GradientOverride("nope")


def test_theano_paths():
    import importlib
    # sg.grad and sg.jacobian name the functions, which hide their modules
    grad_module, gradcheck, jac_module = (importlib.import_module(f"symgraph.{m}")
                                          for m in ("grad", "gradcheck", "jacobian"))
    assert gradient.grad is grad_module.grad is sg.grad
    assert gradient.Lop is grad_module.Lop and gradient.Rop is grad_module.Rop
    assert gradient.jacobian is jac_module.jacobian and gradient.hessian is jac_module.hessian
    assert gradient.verify_grad is gradcheck.verify_grad is sg.verify_grad
    assert gradient.DisconnectedInputError is grad_module.DisconnectedInputError
    assert sg.gradient is gradient


@pytest.mark.parametrize("mode", MODES)
def test_out_single_and_list(mode):
    from symgraph.compile import Out
    assert Out is sg.Out
    x = T.dvector("x")
    f = sg.function([x], sg.Out(x * 2, borrow=True), mode=mode)
    np.testing.assert_array_equal(f(np.arange(3.0)), [0.0, 2.0, 4.0])
    g = sg.function([x], [sg.Out(x + 1), x.sum(), sg.Out(x, borrow=False)], mode=mode)
    a, s, same = g(np.arange(3.0))
    np.testing.assert_array_equal(a, [1.0, 2.0, 3.0])
    assert s == 3.0
    np.testing.assert_array_equal(same, np.arange(3.0))
    with pytest.raises(TypeError):
        sg.Out(3.0)
