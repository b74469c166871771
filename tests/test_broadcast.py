"""Broadcasting: only axes flagged broadcastable may stretch, and the errors say so."""
import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T


def _layer(b_flags):
    rng = np.random.default_rng(0)
    W = sg.shared(rng.normal(size=(20, 30)), name='W')
    b = sg.shared(rng.normal(size=(20, 1)), name='b', broadcastable=b_flags)
    x = T.dmatrix('x')
    return W, b, x, T.dot(W, x) + b


def test_flagged_bias_broadcasts():
    W, b, x, out = _layer((False, True))
    assert b.broadcastable == (False, True) and out.broadcastable == (False, False)
    f = sg.function([x], out)
    xv = np.random.default_rng(1).normal(size=(30, 5))
    np.testing.assert_allclose(f(xv), W.get_value() @ xv + b.get_value())


def test_unflagged_bias_is_refused_with_a_clear_message():
    W, b, x, out = _layer(None)
    assert b.broadcastable == (False, False)  # shared() flags no axis by default
    f = sg.function([x], out)
    with pytest.raises(ValueError) as info:
        f(np.ones((30, 5)))
    message = str(info.value)
    for needed in ("'b'", "axis 1", "broadcastable=(False, True)"):
        assert needed in message, message
    # a batch of one column needs no stretching: it works
    assert f(np.ones((30, 1))).shape == (20, 1)


def test_the_design_example_trains():
    x = T.dmatrix('x')
    y = T.ivector('y')
    rng = np.random.default_rng(2)
    W = sg.shared(rng.normal(size=(20, 784)) * 0.01, name='W', borrow=True)
    b = sg.shared(np.zeros((20, 1)), name='b', broadcastable=(False, True))
    h = T.nnet.sigmoid(T.dot(W, x) + b)
    p = T.nnet.softmax(h.T).T
    cost = -T.mean(T.log(p[y, T.arange(y.shape[0])]))
    updates = [(v, v - 0.1 * T.grad(cost, v)) for v in (W, b)]
    step = sg.function([x, y], cost, updates=updates)
    xv, yv = rng.normal(size=(784, 8)), rng.integers(0, 20, size=8).astype('int32')
    costs = [float(step(xv, yv)) for _ in range(5)]
    assert costs[-1] < costs[0]
    assert b.get_value().shape == (20, 1) and W.get_value().shape == (20, 784)
    # the cost by hand, from the current values
    hv = 1 / (1 + np.exp(-(W.get_value() @ xv + b.get_value())))
    e = np.exp(hv - hv.max(axis=0))
    pv = e / e.sum(axis=0)
    f = sg.function([x, y], cost)
    np.testing.assert_allclose(f(xv, yv), -np.mean(np.log(pv[yv, np.arange(8)])))


def test_shared_refuses_a_flag_on_a_long_axis():
    with pytest.raises(ValueError, match="axis 1"):
        sg.shared(np.zeros((20, 3)), broadcastable=(False, True))
    with pytest.raises(ValueError):
        sg.shared(np.zeros((20, 1)), broadcastable=(False,))  # one flag per axis


def test_set_value_checks_flags_dtype_and_ndim():
    b = sg.shared(np.zeros((20, 1)), name='b', broadcastable=(False, True))
    with pytest.raises(ValueError, match="axis 1"):
        b.set_value(np.zeros((20, 3)))
    with pytest.raises(TypeError):
        b.set_value(np.zeros(20))                       # wrong ndim
    with pytest.raises(TypeError):
        b.set_value(np.zeros((20, 1), dtype=np.complex128))
    f32 = sg.shared(np.zeros(3, 'float32'))
    with pytest.raises(TypeError, match="float32"):
        f32.set_value(np.ones(3))                       # float64 into float32: no silent downcast
    ints = sg.shared(np.zeros(3, 'int32'))
    with pytest.raises(TypeError):
        ints.set_value(np.array([0.5, 1, 2]))
    assert np.all(b.get_value() == 0) and b.get_value().shape == (20, 1)  # unchanged by failures
    b.set_value(np.ones((7, 1)))                        # other lengths on unflagged axes are fine
    assert b.get_value().shape == (7, 1)
    b.set_value(np.ones((2, 1), 'int32'))               # a safe upcast is converted
    assert b.get_value().dtype == np.float64


def test_get_and_set_value_copy_unless_borrowed():
    v = np.zeros(3)
    s = sg.shared(v)
    v[0] = 1
    assert s.get_value()[0] == 0                        # shared() copied the value
    s.get_value()[1] = 5
    assert s.get_value()[1] == 0                        # get_value() returns a copy
    s.get_value(borrow=True)[2] = 7
    assert s.get_value()[2] == 7                        # borrow gives the internal array
    w = np.ones(3)
    s.set_value(w)
    w[0] = 9
    assert s.get_value()[0] == 1
    owned = np.ones(3)
    t = sg.shared(owned, borrow=True)
    owned[0] = 3
    assert t.get_value()[0] == 3


def test_row_and_col_types():
    r, c, m = T.drow('r'), T.dcol('c'), T.dmatrix('m')
    assert r.broadcastable == (True, False) and c.broadcastable == (False, True)
    assert (r + c).broadcastable == (False, False)
    assert (r + r).broadcastable == (True, False) and (c * 2).broadcastable == (False, True)
    assert (r + m).broadcastable == (False, False)
    f = sg.function([r, c, m], [r + m, c + m, r + c])
    rv, cv, mv = np.arange(4.0)[None], np.arange(3.0)[:, None], np.ones((3, 4))
    for got, want in zip(f(rv, cv, mv), [rv + mv, cv + mv, rv + cv]):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="axis 0"):
        f(np.ones((2, 4)), cv, mv)                     # a row input must have one row
    with pytest.raises(ValueError, match="axis 1"):
        f(rv, np.ones((3, 2)), mv)


def test_unflagged_length_one_input_names_the_input_axis_and_flag():
    x, y = T.dmatrix('x'), T.dmatrix('y')
    f = sg.function([x, y], x * y)
    assert f(np.ones((1, 4)), np.ones((1, 4))).shape == (1, 4)  # equal shapes need no flag
    with pytest.raises(ValueError) as info:
        f(np.ones((3, 4)), np.ones((1, 4)))
    message = str(info.value)
    assert "'y'" in message and "axis 0" in message and "broadcastable=(True, False)" in message
    with pytest.raises(ValueError, match="axis 1"):
        f(np.ones((3, 4)), np.ones((3, 5)))


def test_rank_broadcasting_adds_leading_flagged_axes():
    v, m = T.dvector('v'), T.dmatrix('m')
    out = m + v
    assert out.broadcastable == (False, False)
    f = sg.function([m, v], out)
    np.testing.assert_array_equal(f(np.ones((3, 4)), np.arange(4.0)), np.ones((3, 4)) + np.arange(4.0))
    with pytest.raises(ValueError) as info:
        f(np.ones((3, 4)), np.ones(1))                 # v is not flagged: it may not stretch
    # the message speaks of v's own axis, not of the axes added to line it up with m
    assert "'v' has length 1 on axis 0" in str(info.value)
    assert "broadcastable=(True,)" in str(info.value)
    s = T.dscalar('s')
    np.testing.assert_array_equal(sg.function([m, s], m * s)(np.ones((2, 2)), 3.0), np.full((2, 2), 3.0))


def test_addbroadcast_and_patternbroadcast_check_at_run_time():
    x = T.dmatrix('x')
    y = T.addbroadcast(x, 1)
    assert y.broadcastable == (False, True)
    z = T.patternbroadcast(x, (True, False))
    assert z.broadcastable == (True, False)
    f = sg.function([x], y + T.ones((3, 4)))
    np.testing.assert_array_equal(f(np.ones((3, 1))), np.full((3, 4), 2.0))
    with pytest.raises(ValueError, match="axis 1"):
        f(np.ones((3, 2)))


def test_reductions_and_dimshuffle_keep_flags():
    x = T.tensor('float64', (False, True, False), 'x')
    assert x.sum(axis=0).broadcastable == (True, False)
    assert x.sum(axis=1).broadcastable == (False, False)
    assert x.mean(axis=2, keepdims=True).broadcastable == (False, True, True)
    assert x.dimshuffle(0, 2).broadcastable == (False, False)   # a flagged axis may be dropped
    with pytest.raises(ValueError):
        x.dimshuffle(1, 2)                                      # an unflagged one may not
    assert x.dimshuffle('x', 2, 1, 0).broadcastable == (True, False, True, False)
    v = T.dvector('v')
    col = v.dimshuffle(0, 'x')
    f = sg.function([v], col * v)                               # outer product by broadcasting
    np.testing.assert_array_equal(f(np.arange(3.0)), np.outer(np.arange(3.0), np.arange(3.0)))


def test_update_may_not_unflag_a_broadcastable_axis():
    b = sg.shared(np.zeros((4, 1)), name='b', broadcastable=(False, True))
    m = T.dmatrix('m')
    with pytest.raises(TypeError, match="b"):
        sg.function([m], [], updates=[(b, b + m)])
    g = sg.function([m], [], updates=[(b, b + m.sum(axis=1, keepdims=True))])
    g(np.ones((4, 3)))
    np.testing.assert_array_equal(b.get_value(), np.full((4, 1), 3.0))
    assert b.broadcastable == (False, True)
