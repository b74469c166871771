"""A value plus a scatter into zeros is a scatter into the value
(optimize/stabilize.py ``add_into_scatter``): an SGD update of an embedding
table touches only the rows used, in any graph and after a scan's gradient
(the scan pass runs before stabilization, optimize/passes.py)."""
import pathlib
import sys

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from backends import compare_backends
from symgraph.ops import elemwise as ew
from symgraph.ops.indexing import IncSubtensor
from symgraph.ops.shape import Alloc
from symgraph.optimize.values import is_zeros

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
import rnn_language_model as lm  # noqa: E402

MODES = ["python", "numba"]


def _full_zeros(fgraph, like):
    """Nodes making zeros of ``like``'s shape: fill(like, 0), or an alloc of 0
    whose lengths are read from ``like``."""
    def of_like(node):
        if isinstance(node.op, ew.Second):
            return node.inputs[0] is like
        return any(s.owner is not None and like in s.owner.inputs for s in node.inputs[1:])
    return [n for n in fgraph.toposort() if isinstance(n.op, (ew.Second, Alloc)) and
            n.outputs[0].type == like.type and is_zeros(n.outputs[0]) and of_like(n)]


def _update_of(fgraph, shared):
    (out,) = [o for o in fgraph.outputs if o.owner is not None and shared in o.owner.inputs
              and o.type == shared.type and isinstance(o.owner.op, IncSubtensor)]
    return out.owner


@pytest.mark.parametrize("mode", MODES)
def test_rnn_step_updates_the_used_rows_of_the_embedding(mode):
    params = lm.init_params(11, 5)
    xv = np.array([1, 3, 3, 7, 2, 0, 10, 4, 3], np.int32)
    with sg.config.change(mode=mode):
        shared, _, _, train = lm.build(params, learning_rate=0.5)
    fgraph = train.maker.fgraph
    W_x = shared["W_x"]
    # no zero matrix of the table's size (the backward loop no longer takes
    # the one its step used to scatter into)
    assert _full_zeros(fgraph, W_x) == [], _full_zeros(fgraph, W_x)
    # the update is one scatter into the table itself
    node = _update_of(fgraph, W_x)
    assert node.inputs[0] is W_x and not node.op.set_instead_of_inc
    train(xv)
    want = lm.numpy_bptt(params, xv)
    for k, g in zip(["W_x", "W_h", "W_o"], want):
        np.testing.assert_allclose(shared[k].get_value(), params[k] - 0.5 * g,
                                   rtol=1e-10, atol=1e-13)


def test_sgd_on_gathered_rows_without_scan():
    W = sg.shared(np.arange(12.0).reshape(4, 3), name="W")
    idx, v = T.lvector("idx"), T.dmatrix("v")
    cost = T.sum(T.sqr(W[idx] - v))
    upd = W - 0.25 * T.grad(cost, W)
    values = [np.array([2, 0, 2], np.int64), np.ones((3, 3))]
    cache = {}
    compare_backends([idx, v], cost, values, modes=MODES, updates=[(W, upd)], cache=cache)
    w0 = np.arange(12.0).reshape(4, 3)
    want = w0.copy()
    for row, val in zip(values[0], values[1]):
        want[row] -= 0.25 * 2 * (w0[row] - val)
    np.testing.assert_allclose(W.get_value(), want)
    fgraph = cache["python"].maker.fgraph
    assert _full_zeros(fgraph, W) == []
    assert _update_of(fgraph, W).inputs[0] is W


def test_a_broadcast_value_keeps_the_sum():
    # x has fewer axes than the scatter: the sum stays (its shape is the scatter's)
    r, v, idx = T.drow("r"), T.dmatrix("v"), T.lvector("idx")
    z = T.zeros((3, 2))
    out = r + T.inc_subtensor(z[idx], v)
    f = sg.function([r, v, idx], out, mode="python")
    assert not any(isinstance(n.op, IncSubtensor) and n.inputs[0] is r
                   for n in f.maker.fgraph.toposort())
    got = f(np.array([[1.0, 2.0]]), np.ones((2, 2)), np.array([0, 0]))
    np.testing.assert_allclose(got, [[3.0, 4.0], [1.0, 2.0], [1.0, 2.0]])
