"""Saving and loading: shared variables and compiled functions pickle; a function
loaded in another process compiles again (from the disk cache) and goes on from
the values it was saved with."""
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.ifelse import ifelse


def _logistic_regression(mode):
    """A Theano-style training step: minibatch ``index``, data in shared variables
    read through givens, SGD updates of W and b; and a prediction function."""
    rng = np.random.default_rng(7)
    data = rng.normal(size=(12, 4))
    labels = (data @ [1.0, -2.0, 0.5, 0.0] > 0).astype("int64")
    X = sg.shared(data, name="X")
    Y = sg.shared(labels, name="Y")
    W = sg.shared(np.zeros((4, 2)), name="W")
    b = sg.shared(np.zeros(2), name="b")
    x, y, index = T.dmatrix("x"), T.lvector("y"), T.lscalar("index")
    p = T.nnet.softmax(T.dot(x, W) + b)
    cost = T.nnet.categorical_crossentropy(p, y).mean() + 0.01 * (W ** 2).sum()
    gW, gb = T.grad(cost, [W, b])
    batch = slice(index * 4, (index + 1) * 4)
    train = sg.function([index], cost, updates=[(W, W - 0.5 * gW), (b, b - 0.5 * gb)],
                        givens={x: X[batch], y: Y[batch]}, mode=mode, name="train")
    predict = sg.function([x], T.argmax(p, axis=1), mode=mode)
    return train, predict, W, b


_CONTINUE = textwrap.dedent("""
    import pickle, sys
    import numpy as np
    from symgraph.compile import cache
    with open(sys.argv[1], "rb") as f:
        train, predict = pickle.load(f)
    assert [v.name for v in train.shared] == ["X", "Y", "W", "b"], train.shared
    X, Y, W, b = train.shared
    assert predict.shared[0] is W and predict.shared[1] is b   # one object, as saved
    saved = W.get_value()
    costs = [float(train(k % 3)) for k in range(3, 6)]
    np.savez(sys.argv[2], W=W.get_value(), b=b.get_value(), saved=saved, costs=costs,
             predicted=predict(np.eye(4)), compiled=cache.stats["compiled"] +
             cache.stats["compiled_elsewhere"], loaded=cache.stats["loaded"])
""")


def test_a_loaded_training_function_continues_in_a_fresh_process(tmp_path):
    train, predict, W, b = _logistic_regression("numba")
    for k in range(3):
        train(k % 3)
    after_three = W.get_value()
    with open(tmp_path / "model.pkl", "wb") as f:
        pickle.dump((train, predict), f)
    # the uninterrupted run: three more steps here
    costs = [float(train(k % 3)) for k in range(3, 6)]

    # the child inherits the suite's cache folders (conftest.py sets them in os.environ)
    done = subprocess.run([sys.executable, "-c", _CONTINUE, str(tmp_path / "model.pkl"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True,
                          timeout=240, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(out["saved"], after_three)
    assert not np.array_equal(after_three, W.get_value())       # training moved W
    np.testing.assert_array_equal(out["W"], W.get_value())      # exactly the same result
    np.testing.assert_array_equal(out["b"], b.get_value())
    np.testing.assert_array_equal(out["costs"], costs)
    np.testing.assert_array_equal(out["predicted"], predict(np.eye(4)))
    # both programs came from the disk cache: nothing was compiled again
    assert (int(out["compiled"]), int(out["loaded"])) == (0, 2)


def test_shared_variables_pickled_together_stay_one_object():
    s = sg.shared(np.arange(3.0), name="s")
    col = sg.shared(np.ones((2, 1)), name="col", broadcastable=(False, True))
    s.default_update = s + 1
    x = T.dvector("x")
    f = sg.function([x], (x * s).sum() + col.sum(), mode="python")
    g = sg.function([], s * 2, mode="python", no_default_updates=True)
    f2, g2, s2, col2 = pickle.loads(pickle.dumps([f, g, s, col]))
    assert s2 is not s and f2.shared == [s2, col2] and g2.shared == [s2]
    assert (s2.name, s2.type, col2.type) == ("s", s.type, col.type)
    np.testing.assert_array_equal(s2.get_value(), [0.0, 1.0, 2.0])
    assert f2(np.ones(3)) == 3.0 + 2.0               # reads s, then its default update runs
    np.testing.assert_array_equal(g2(), [2.0, 4.0, 6.0])   # g2 sees f2's update of s2
    np.testing.assert_array_equal(s.get_value(), [0.0, 1.0, 2.0])   # the originals are apart
    with pytest.raises(ValueError, match="col"):
        col2.set_value(np.ones((2, 3)))              # the flags came along


def test_deep_graphs_pickle_without_recursion_errors():
    # a chain of 3000 nodes: pickle's recursion would stop near a few hundred
    x = T.dvector("x")
    y = x
    for _ in range(1500):
        y = T.tanh(y) * 0.5 + x
    f = sg.function([x], y, mode="python")
    f2 = pickle.loads(pickle.dumps(f))
    np.testing.assert_array_equal(f2([0.1, -0.3]), f([0.1, -0.3]))


def test_defaults_names_outputs_and_inner_graphs_survive():
    x, c = T.dvector("x"), T.dscalar("c")
    f = sg.function([x, sg.In(c, value=2.0, name="scale")],
                    [sg.Out(x * c, borrow=True), ifelse(T.gt(c, 0), x.sum(), x.prod())],
                    mode="python", name="f")
    f([1.0, 3.0])                                    # runs the inner graphs once
    with sg.config.change(optimizer="None"):      # not applied: the graph is optimized already
        f2 = pickle.loads(pickle.dumps(f))
    assert (f2.name, f2.mode) == ("f", "python")
    assert [str(n.op) for n in f2.graph.toposort()] == [str(n.op) for n in f.graph.toposort()]
    for got, want in zip(f2([1.0, 3.0], scale=-1.0), [[-1.0, -3.0], 3.0]):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(f2([1.0, 3.0])[0], [2.0, 6.0])


def test_random_streams_go_on_after_loading():
    srng = sg.RandomStreams(seed=234)
    draw = sg.function([], srng.normal((3,)), mode="python")
    draw()
    loaded = pickle.loads(pickle.dumps(draw))
    # the stream's state came along: both give the same next draws, then differ from before
    first, again = draw(), loaded()
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(draw(), loaded())
    assert not np.array_equal(loaded(), again)
