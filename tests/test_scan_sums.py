"""The gradient of a non-sequence through scan is summed after the loop
(optimize/scan_sums.py): per-step outer products become one matrix product,
per-step one-row scatters into zeros one scatter, small terms one sum; the
values are those of the step-by-step sums."""
import pathlib
import sys

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from backends import compare_backends
from symgraph.ops.blas import Dot
from symgraph.ops.indexing import IncSubtensor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
import rnn_language_model as lm  # noqa: E402

MODES = ["python", "numba"]


def _scans(f):
    return [n for n in f.maker.fgraph.toposort() if isinstance(n.op, sg.scan_module.Scan)]


def _inner_nodes(node):
    return sg.graph.toposort(list(node.op.inner_outputs))


def test_rnn_gradient_has_one_scatter_and_one_product_after_the_loop():
    W_x, W_h, W_o = T.dmatrix("W_x"), T.dmatrix("W_h"), T.dmatrix("W_o")
    x = T.ivector("x")
    h, _ = sg.scan(lambda x_t, h_prev: T.nnet.sigmoid(W_x[x_t] + T.dot(h_prev, W_h)),
                   sequences=x[:-1], outputs_info=T.zeros((W_h.shape[0],)))
    loss = T.mean(T.nnet.categorical_crossentropy(T.nnet.softmax(T.dot(h, W_o)), x[1:]))
    grads = T.grad(loss, [W_x, W_h, W_o])
    params = lm.init_params(11, 5)
    xv = np.array([1, 3, 3, 7, 2, 0, 10, 4, 3], np.int32)
    cache = {}
    got = compare_backends([W_x, W_h, W_o, x], grads,
                           [params["W_x"], params["W_h"], params["W_o"], xv],
                           modes=MODES, cache=cache)
    for g, want in zip(got, lm.numpy_bptt(params, xv)):
        np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-13)

    f = cache["python"]
    forward, backward = _scans(f)
    # in the backward loop: no scatter into a full-size zero matrix, no outer
    # product, and only the hidden state's gradient carried
    inner = _inner_nodes(backward)
    assert not [n for n in inner if isinstance(n.op, IncSubtensor)], inner
    assert not [n for n in inner if isinstance(n.op, Dot) and n.outputs[0].ndim == 2], inner
    assert backward.op.state_modes == ("final",)
    # nor is the step's sigmoid computed again: its gradient reads the forward trace
    assert not [n for n in inner if "sigmoid" in str(n.op)], inner
    # after it: one scatter of the stacked rows (the word indices, the loop's
    # per-step gradient) and one product of the stacked rows
    after = [n for n in f.maker.fgraph.toposort()
             if any(backward.outputs[-1] in sg.graph.graph_inputs([i]) or i is backward.outputs[-1]
                    for i in n.inputs)]
    scatters = [n for n in after if isinstance(n.op, IncSubtensor) and n.op.spec == (("a",),)]
    products = [n for n in after if isinstance(n.op, Dot) and n.outputs[0].ndim == 2 and
                n.inputs[1] is backward.outputs[-1]]
    assert len(scatters) == 1 and len(products) >= 1, after
    assert f.maker.fgraph.outputs[0].owner is scatters[0]
    # the output layer, read by the softmax's gradient and by the backward
    # loop, is computed once
    assert len([n for n in f.maker.fgraph.toposort() if isinstance(n.op, Dot) and
                n.inputs[0] in forward.outputs and n.inputs[1] is f.maker.fgraph.inputs[2]]) == 1


def _batch_rnn(X, W, U, b, C, h0):
    # a minibatch RNN: matrix rows per step; C enters elementwise (its per-step
    # gradient term is a full matrix that stays in the carried sum)
    hs, _ = sg.scan(lambda x_t, h, W, U, b, C: T.tanh(T.dot(x_t, W) + T.dot(h, U) + b + C * h),
                    sequences=X, outputs_info=h0, non_sequences=[W, U, b, C])
    return hs


def test_matrix_products_vector_sums_and_a_carried_remainder():
    names = ["X", "W", "U", "b", "C", "h0"]
    X, W, U, b, C, h0 = [T.dtensor3("X"), T.dmatrix("W"), T.dmatrix("U"), T.dvector("b"),
                         T.dmatrix("C"), T.dmatrix("h0")]
    hs = _batch_rnn(X, W, U, b, C, h0)
    cost = (hs ** 2).sum() + (hs * np.arange(5.0)).sum()
    inputs = [X, W, U, b, C, h0]
    grads = T.grad(cost, inputs)
    rng = np.random.default_rng(3)
    vals = [rng.normal(size=(4, 2, 3)), rng.normal(size=(3, 5)) * 0.5,
            rng.normal(size=(5, 5)) * 0.5, rng.normal(size=5), rng.normal(size=(2, 5)) * 0.5,
            rng.normal(size=(2, 5))]
    cache = {}
    got = compare_backends(inputs, grads, vals, modes=MODES, cache=cache)
    backward = _scans(cache["python"])[-1]
    # carried: the state's gradient and C's sum; W, U and b are summed after the loop
    assert backward.op.state_modes == ("final", "final")
    assert not [n for n in _inner_nodes(backward)
                if isinstance(n.op, Dot) and n.outputs[0].ndim == 2 and
                n.inputs[0].owner is not None and n.inputs[0].owner.op.__class__.__name__ ==
                "DimShuffle"]
    # against central differences of the cost
    cost_f = sg.function(inputs, cost, mode="python")
    eps = 1e-6
    for k, name in enumerate(names):
        num = np.zeros_like(vals[k])
        for idx in np.ndindex(vals[k].shape):
            plus, minus = [v.copy() for v in vals], [v.copy() for v in vals]
            plus[k][idx] += eps
            minus[k][idx] -= eps
            num[idx] = (cost_f(*plus) - cost_f(*minus)) / (2 * eps)
        np.testing.assert_allclose(got[k], num, rtol=1e-5, atol=1e-7, err_msg=name)
    # no step: the sums are zeros of the right shapes, in every mode
    empty = [np.zeros((0, 2, 3))] + vals[1:]
    for mode in MODES:
        g = cache[mode](*empty)
        for k in range(1, 6):
            assert g[k].shape == vals[k].shape and not g[k].any(), (mode, names[k])


@pytest.mark.parametrize("mode", MODES)
def test_a_scatter_at_a_constant_row_and_truncation_keep_their_values(mode):
    # W[0] (a constant index: no stacked indices) stays in the carried sum;
    # the truncated backward loop sums only its own steps
    x, W, w = T.dvector("x"), T.dvector("W"), T.dscalar("w")
    hs, _ = sg.scan(lambda xt, h, W, w: T.tanh(w * h + xt * W[0] + W[1] * W[2]),
                    sequences=x, outputs_info=T.constant(0.1), non_sequences=[W, w],
                    truncate_gradient=3)
    f = sg.function([x, W, w], T.grad(hs[-1], [W, w]), mode=mode)
    xv, Wv, wv = np.array([0.3, -0.2, 0.5, 0.1, 0.4]), np.array([0.7, 0.2, -0.5]), 0.9
    h = [0.1]
    for t in range(5):
        h.append(np.tanh(wv * h[-1] + xv[t] * Wv[0] + Wv[1] * Wv[2]))
    gW, gw, g = np.zeros(3), 0.0, 1.0
    for t in (4, 3, 2):
        d = g * (1 - h[t + 1] ** 2)
        gW += d * np.array([xv[t], Wv[2], Wv[1]])
        gw += d * h[t]
        g = d * wv
    got = f(xv, Wv, wv)
    np.testing.assert_allclose(got[0], gW)
    np.testing.assert_allclose(got[1], gw)


@pytest.mark.parametrize("mode", MODES)
def test_shared_variables_that_fn_accumulates_are_summed_after_the_loop(mode):
    # updates returned from fn that only add to the shared value: no state left
    # in the loop; an int32 total stays int32; with no step the values are kept
    total = sg.shared(np.int32(5), name="total")
    vec = sg.shared(np.zeros(3, np.float32), name="vec")
    x, M = T.ivector("x"), T.fmatrix("M")
    out, updates = sg.scan(lambda xt, mt: (xt * 2, {total: total + xt, vec: vec + mt * 2}),
                           sequences=[x, M])
    f = sg.function([x, M], out, updates=updates, mode=mode)
    (node,) = _scans(f)
    assert node.op.state_modes == ()
    m = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(f(np.array([1, 2, 3, 4], np.int32), m), [2, 4, 6, 8])
    assert total.get_value() == 15 and total.get_value().dtype == np.int32
    np.testing.assert_array_equal(vec.get_value(), 2 * m.sum(axis=0))
    assert vec.get_value().dtype == np.float32
    f(np.zeros(0, np.int32), np.zeros((0, 3), np.float32))
    assert total.get_value() == 15
    np.testing.assert_array_equal(vec.get_value(), 2 * m.sum(axis=0))


def test_a_running_sum_read_inside_the_step_stays_in_the_loop():
    total = sg.shared(0.5, name="total")
    x = T.dvector("x")

    def step(xt):
        new = total + xt
        return new * 2, {total: new}      # the running sum is also read by the step
    seen, updates = sg.scan(step, sequences=x)
    f = sg.function([x], seen, updates=updates, mode="python")
    assert _scans(f)[0].op.state_modes == ("final",)
    xv = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(f(xv), 2 * (0.5 + np.cumsum(xv)))
    assert total.get_value() == 6.5
