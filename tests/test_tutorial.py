"""The Theano tutorial's examples, unchanged but for the imports."""
import pathlib
import sys

import numpy as np

import symgraph as theano
import symgraph.tensor as T
from backends import compare_backends
from symgraph import In, function, shared

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
import logistic_regression  # noqa: E402  (the README's demo, tested as written)


def test_adding_two_scalars():
    x = T.dscalar('x')
    y = T.dscalar('y')
    z = x + y
    f = function([x, y], z)
    assert f(2, 3) == 5.0
    assert isinstance(f(2, 3), np.ndarray) and f(2, 3).shape == ()
    np.testing.assert_allclose(f(16.3, 12.1), 28.4)
    np.testing.assert_allclose(z.eval({x: 16.3, y: 12.1}), 28.4)
    assert x.type == T.dscalar().type and x.name == 'x'


def test_adding_two_matrices():
    x = T.dmatrix('x')
    y = T.dmatrix('y')
    z = x + y
    f = function([x, y], z)
    np.testing.assert_array_equal(f([[1, 2], [3, 4]], [[10, 20], [30, 40]]), [[11., 22.], [33., 44.]])
    np.testing.assert_array_equal(f(np.array([[1, 2], [3, 4]]), np.array([[10, 20], [30, 40]])),
                                  [[11., 22.], [33., 44.]])


def test_exercise_a_plus_a_to_the_10():
    a = T.vector()
    out = a + a ** 10
    f = function([a], out)
    np.testing.assert_array_equal(f([0, 1, 2]), [0., 2., 1026.])


def test_logistic_function():
    x = T.dmatrix('x')
    s = 1 / (1 + T.exp(-x))
    logistic = function([x], s)
    expected = [[0.5, 0.73105858], [0.26894142, 0.11920292]]
    np.testing.assert_allclose(logistic([[0, 1], [-1, -2]]), expected, rtol=1e-7)
    s2 = (1 + T.tanh(x / 2)) / 2
    logistic2 = function([x], s2)
    np.testing.assert_allclose(logistic2([[0, 1], [-1, -2]]), expected, rtol=1e-7)


def test_several_outputs_at_once():
    a, b = T.dmatrices('a', 'b')
    diff = a - b
    abs_diff = abs(diff)
    diff_squared = diff**2
    f = function([a, b], [diff, abs_diff, diff_squared])
    out = f([[1, 1], [1, 1]], [[0, 1], [2, 3]])
    assert isinstance(out, list) and len(out) == 3
    np.testing.assert_array_equal(out[0], [[1., 0.], [-1., -2.]])
    np.testing.assert_array_equal(out[1], [[1., 0.], [1., 2.]])
    np.testing.assert_array_equal(out[2], [[1., 0.], [1., 4.]])


def test_default_value():
    x, y = T.dscalars('x', 'y')
    z = x + y
    f = function([x, In(y, value=1)], z)
    assert f(33) == 34.0
    assert f(33, 2) == 35.0


def test_default_values_and_names():
    x, y, w = T.dscalars('x', 'y', 'w')
    z = (x + y) * w
    f = function([x, In(y, value=1), In(w, value=2, name='w_by_name')], z)
    assert f(33) == 68.0
    assert f(33, 2) == 70.0
    assert f(33, 0, 1) == 33.0
    assert f(33, w_by_name=1) == 34.0
    assert f(33, w_by_name=1, y=0) == 33.0


def test_shared_accumulator():
    state = shared(0)
    inc = T.iscalar('inc')
    accumulator = function([inc], state, updates=[(state, state+inc)])
    assert state.get_value() == 0
    assert accumulator(1) == 0          # returns the old value ...
    assert state.get_value() == 1       # ... then updates
    assert accumulator(300) == 1
    assert state.get_value() == 301
    state.set_value(-1)
    assert accumulator(3) == -1
    assert state.get_value() == 2
    decrementor = function([inc], state, updates=[(state, state-inc)])
    assert decrementor(2) == 2
    assert state.get_value() == 0


def test_givens_replace_a_shared_variable():
    state = shared(0)
    inc = T.iscalar('inc')
    accumulator = function([inc], state, updates=[(state, state+inc)])
    accumulator(1)
    fn_of_state = state * 2 + inc
    # The type of foo must match the shared variable we are replacing with the ``givens``
    foo = T.scalar(dtype=state.dtype)
    skip_shared = function([inc, foo], fn_of_state, givens=[(state, foo)])
    assert skip_shared(1, 3) == 7  # we're using 3 for the state, not state.value
    assert state.get_value() == 1  # old state still there, but we didn't use it


def test_copying_functions():
    state = shared(0)
    inc = T.iscalar('inc')
    accumulator = function([inc], state, updates=[(state, state+inc)])
    accumulator(10)
    assert state.get_value() == 10
    new_state = theano.shared(0)
    new_accumulator = accumulator.copy(swap={state: new_state})
    assert new_accumulator(100) == 0
    assert new_state.get_value() == 100
    assert state.get_value() == 10
    null_accumulator = accumulator.copy(delete_updates=True)
    assert null_accumulator(9000) == 10
    assert state.get_value() == 10
    assert accumulator(1) == 10 and state.get_value() == 11  # the original still updates


# Without rewrites, 1 - p_1 is exactly 0 for saturated samples and the loss and the
# gradient are NaN; the optimizer rewrites both into sigmoids and softplus (see
# symgraph/optimize/sigmoid.py), as Theano did.
def test_logistic_regression_training():
    # the tutorial's example with its data and model; fewer steps to keep the test quick
    # (exact gradient descent reaches accuracy 0.91 at step 200, 1.0 at step 300)
    rng = np.random.RandomState(42)
    N = 400                                   # training sample size
    feats = 784                               # number of input variables
    # generate a dataset: D = (input_values, target_class)
    D = (rng.randn(N, feats), rng.randint(size=N, low=0, high=2))
    training_steps = 300

    # Declare Theano symbolic variables
    x = T.dmatrix("x")
    y = T.dvector("y")

    # initialize the weight vector w randomly
    #
    # this and the following bias variable b
    # are shared so they keep their values
    # between training iterations (updates)
    w = theano.shared(rng.randn(feats), name="w")
    w_start = w.get_value()

    # initialize the bias term
    b = theano.shared(0., name="b")

    # Construct Theano expression graph
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))   # Probability that target = 1
    prediction = p_1 > 0.5                    # The prediction thresholded
    xent = -y * T.log(p_1) - (1-y) * T.log(1-p_1)  # Cross-entropy loss function
    cost = xent.mean() + 0.01 * (w ** 2).sum()  # The cost to minimize
    gw, gb = T.grad(cost, [w, b])             # Compute the gradient of the cost
    # w.r.t weight vector w and
    # bias term b (we shall return to this in a
    # following section of this tutorial)

    # Compile
    train = theano.function(
        inputs=[x, y],
        outputs=[prediction, xent],
        updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
    predict = theano.function(inputs=[x], outputs=prediction)

    # one step in every backend under test: same outputs, same new w and b
    compare_backends([x, y], [prediction, xent], list(D), tol=1e-9,
                     updates=[(w, w - 0.1 * gw), (b, b - 0.1 * gb)])
    w.set_value(w_start)
    b.set_value(0.)

    # Train
    errors = []
    for i in range(training_steps):
        pred, err = train(D[0], D[1])
        errors.append(err.mean())

    # 784 inputs with unit weights saturate the logistic for many samples
    assert np.all(np.isfinite(errors)), errors[:3]
    z = D[0].dot(w_start)           # the first loss, written stably in NumPy
    np.testing.assert_allclose(errors[0], np.mean(D[1] * np.logaddexp(0, -z) +
                                                  (1 - D[1]) * np.logaddexp(0, z)), rtol=1e-12)
    assert errors[-1] < errors[0]
    assert np.isfinite(w.get_value()).all() and np.isfinite(b.get_value())
    accuracy = (predict(D[0]) == D[1]).mean()
    assert accuracy > 0.9
    assert pred.dtype == bool and pred.shape == (N,)


def test_logistic_regression_example_script():
    # examples/logistic_regression.py's model (T.nnet.sigmoid, binary_crossentropy, int targets)
    rng = np.random.RandomState(42)
    N, feats = 100, 50
    D = logistic_regression.make_data(rng, N, feats)
    train, predict, w, b = logistic_regression.build(rng, feats)
    errors = [float(train(D[0], D[1])[1]) for _ in range(100)]
    assert errors[-1] < 0.8 * errors[0]
    assert (predict(D[0]) == D[1]).mean() > 0.8

    # the same step by hand in NumPy, from the initial weights
    w0 = np.random.RandomState(42)
    w0.randn(N, feats), w0.randint(size=N, low=0, high=2)
    w_np, b_np = w0.randn(feats) * 0.01, 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(D[0] @ w_np + b_np)))
        gw_np = D[0].T @ (p - D[1]) / N + 0.02 * w_np
        gb_np = (p - D[1]).mean()
        w_np, b_np = w_np - 0.1 * gw_np, b_np - 0.1 * gb_np
    np.testing.assert_allclose(w.get_value(), w_np, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.get_value(), b_np, rtol=1e-6, atol=1e-9)


def test_tutorial_scalar_state_dtype():
    # shared(0) is an int64 scalar: the accumulator keeps that dtype through updates
    state = shared(0)
    inc = T.iscalar('inc')
    acc = function([inc], state, updates=[(state, state + inc)])
    for _ in range(3):
        acc(np.int32(2))
    assert state.get_value().dtype == np.int64 and state.get_value() == 6
