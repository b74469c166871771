"""mode='cuda' beyond the op table: training with updates, shared variables on
the device, failing calls, device arrays in and out.

These run where kernels can run: on Numba's CUDA simulator
(NUMBA_ENABLE_CUDASIM=1, which test_cuda.py sets for a child pytest run in
CI) or on a GPU.  Sizes are small: the simulator runs each GPU thread as a
Python thread.
"""
import pathlib
import sys

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile.numba_cuda import cudalib

pytestmark = pytest.mark.skipif(cudalib.problem() is not None,
                                reason=f"mode='cuda' cannot run here: {cudalib.problem()}")


def _logistic_regression(mode, steps=60, n=16, feats=24):
    # the tutorial's program, small
    rng = np.random.RandomState(42)
    D = (rng.randn(n, feats), rng.randint(size=n, low=0, high=2).astype(float))
    x, y = T.dmatrix("x"), T.dvector("y")
    w = sg.shared(rng.randn(feats), name="w")
    b = sg.shared(0., name="b")
    p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * T.log(p_1) - (1 - y) * T.log(1 - p_1)
    cost = xent.mean() + 0.01 * (w ** 2).sum()
    gw, gb = T.grad(cost, [w, b])
    train = sg.function([x, y], [prediction, xent], updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)),
                        mode=mode)
    predict = sg.function([x], prediction, mode=mode)
    for _ in range(steps):
        train(D[0], D[1])
    return w.get_value(), b.get_value(), (predict(D[0]) == D[1]).mean()


def test_logistic_regression_trains_as_on_the_cpu():
    w, b, accuracy = _logistic_regression("cuda")
    w_cpu, b_cpu, accuracy_cpu = _logistic_regression("numba")
    np.testing.assert_allclose(w, w_cpu, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(b, b_cpu, rtol=1e-9, atol=1e-12)
    assert accuracy == accuracy_cpu == 1.0     # random labels, more features than samples


def _mlp():
    rng = np.random.default_rng(0)
    W1 = sg.shared(rng.normal(size=(6, 5)) * 0.5, name="W1")
    b1 = sg.shared(np.zeros(5), name="b1")
    W2 = sg.shared(rng.normal(size=(5, 3)) * 0.5, name="W2")
    x, y = T.dmatrix("x"), T.ivector("y")
    p = T.nnet.softmax(T.dot(T.tanh(T.dot(x, W1) + b1), W2))
    loss = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    params = [W1, b1, W2]
    updates = [(v, v - 0.5 * g) for v, g in zip(params, T.grad(loss, params))]
    data = (rng.normal(size=(8, 6)), rng.integers(0, 3, size=8).astype("int32"))
    return params, x, y, loss, updates, data


def test_a_call_moves_no_shared_variable_to_the_host(monkeypatch):
    params, x, y, loss, updates, data = _mlp()
    step = sg.function([x, y], loss, updates=updates, mode="cuda")
    step(*data)     # the first call uploads the parameters
    uploads, downloads = [], []
    array_type = type(cudalib.to_device(np.zeros(1)))
    real_to_device = cudalib.cuda.to_device
    monkeypatch.setattr(cudalib.cuda, "to_device",
                        lambda a, *args, **kw: uploads.append(np.shape(a)) or
                        real_to_device(a, *args, **kw))
    real_copy = array_type.copy_to_host

    def copy_to_host(self, *args, **kw):
        downloads.append(self)
        return real_copy(self, *args, **kw)
    monkeypatch.setattr(array_type, "copy_to_host", copy_to_host)
    for _ in range(3):
        step(*data)
    monkeypatch.undo()
    on_device = [v.container.mirror[1] for v in params]
    assert all(v.container.newer_on_device() is not None for v in params)
    # the inputs go up, each call; no parameter comes down
    assert sorted(uploads) == sorted([data[0].shape, data[1].shape] * 3)
    assert not any(any(d is p for p in on_device) for d in downloads)
    # only the scalar slabs (the error code, the loss) come down
    assert all(np.prod(d.shape) < 16 for d in downloads)


def test_shared_values_follow_the_device_and_the_host():
    params, x, y, loss, updates, data = _mlp()
    start = [p.get_value() for p in params]
    cuda_step = sg.function([x, y], loss, updates=updates, mode="cuda")
    cpu_step = sg.function([x, y], loss, updates=updates, mode="numba")

    def run(steps):
        for p, v in zip(params, start):
            p.set_value(v)
        seen = []
        for step in steps:
            if step == "halve":
                params[0].set_value(params[0].get_value() * 0.5)
            else:
                step(*data)
            seen.append([p.get_value() for p in params])
        return seen

    # cuda and numba calls mixed, a set_value between: the values an all-numba run has
    mixed = run([cuda_step, cpu_step, cuda_step, "halve", cuda_step])
    reference = run([cpu_step, cpu_step, cpu_step, "halve", cpu_step])
    for got, want in zip(mixed, reference):
        for g, w in zip(got, want):
            np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)
    # borrow=True after a cuda update is the device array itself
    cuda_step(*data)
    assert cudalib.is_device_array(params[0].get_value(borrow=True))


def test_a_failing_call_changes_no_shared_variable_and_names_the_line():
    v = sg.shared(np.arange(5.0), name="v")
    i = T.ivector("i")
    picked = v[i]                       # the line the error names
    f = sg.function([i], picked.sum(), updates=[(v, v * 2)], mode="cuda")
    assert f(np.array([0, 4], "int32")) == 4.0
    before = v.get_value()
    with pytest.raises(IndexError) as info:
        f(np.array([1, 7], "int32"))
    assert "picked = v[i]" in str(info.value)
    np.testing.assert_array_equal(v.get_value(), before)
    # the next good call works again
    assert f(np.array([1], "int32")) == before[1]
    np.testing.assert_array_equal(v.get_value(), 2 * before)


def test_a_broadcast_flag_broken_at_run_time_is_a_clear_error():
    b = sg.shared(np.zeros((3, 1)), name="b", broadcastable=(False, True))
    x = T.dmatrix("x")
    f = sg.function([x], x + b, mode="cuda")
    np.testing.assert_array_equal(f(np.ones((3, 4))), np.ones((3, 4)))
    with pytest.raises(ValueError):
        f(np.ones((2, 4)))


def test_device_arrays_in_and_out():
    a, b = T.fvector("a"), T.fvector("b")
    f = sg.function([a, b], a ** 2 + 2 * a * b + b ** 2, mode="cuda", outputs_on_device=True)
    av, bv = np.arange(6, dtype="float32"), np.full(6, 0.5, "float32")
    out = f(cudalib.to_device(av), cudalib.to_device(bv))
    assert cudalib.is_device_array(out)
    np.testing.assert_allclose(out.copy_to_host(), (av + bv) ** 2, rtol=1e-6)
    with pytest.raises(TypeError, match="dtype float64, expected float32"):
        f(cudalib.to_device(av.astype("float64")), cudalib.to_device(bv))
    with pytest.raises(TypeError, match="needs a GPU mode"):
        sg.function([a], a + 1, mode="numba", outputs_on_device=True)


def test_float32_graphs_stay_float32():
    # test_cuda.py compiles these kernels to PTX and finds no float64 instruction
    x = T.fmatrix("x")
    f = sg.function([x], [T.tanh(x) * 2 + T.nnet.sigmoid(x) - T.exp(-x) / 3 + abs(x) ** 0.5],
                    mode="cuda")
    xv = np.linspace(-2, 2, 12, dtype="float32").reshape(3, 4)
    (got,) = f(xv)
    assert got.dtype == np.float32
    want = np.tanh(xv) * 2 + 1 / (1 + np.exp(-xv)) - np.exp(-xv) / 3 + np.abs(xv) ** 0.5
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_debug_mode_checks_the_gpu_backend():
    x = T.dmatrix("x")
    w = sg.shared(np.ones(3), name="w")
    with sg.config.change(debug_target="cuda"):
        f = sg.function([x], T.nnet.softmax(x * w).sum(axis=0), updates=[(w, w * 2)],
                        mode="debug")
    assert "sg_cuda" in f._thunk.path       # the GPU driver is what runs
    xv = np.arange(6.0).reshape(2, 3)
    e = np.exp(xv - xv.max(axis=1, keepdims=True))
    np.testing.assert_allclose(f(xv), (e / e.sum(axis=1, keepdims=True)).sum(axis=0))
    np.testing.assert_array_equal(w.get_value(), [2, 2, 2])


def test_the_lxmls_mlp_trains_on_the_gpu_as_on_the_cpu(monkeypatch):
    # the example's own code in sg.config.mode (what SYMGRAPH_FLAGS=mode=cuda
    # sets), on a smaller vocabulary: the simulator is slow
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "examples"))
    import lxmls_mlp
    make = lxmls_mlp.make_sentiment_data
    monkeypatch.setattr(lxmls_mlp, "make_sentiment_data", lambda n_train, n_test, seed=0: make(
        n_train, n_test, n_features=300, seed=seed, words_per_doc=30, n_sentiment_words=60))
    results = {}
    for mode in ("numba", "cuda"):
        with sg.config.change(mode=mode):
            results[mode] = lxmls_mlp.run(epochs=2, batch=15, n_train=90, n_test=30,
                                          show=lambda *args: None)
    assert results["cuda"]["accuracy"] == results["numba"]["accuracy"]
    assert min(results["cuda"]["accuracy"].values()) > 0.6
    for version, params in results["cuda"]["params"].items():
        for (W, b), (W_cpu, b_cpu) in zip(params, results["numba"]["params"][version]):
            np.testing.assert_allclose(W, W_cpu, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b, b_cpu, rtol=1e-9, atol=1e-12)
