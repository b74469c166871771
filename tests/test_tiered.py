"""compile='background' (compile/tiered.py): the first calls run on the
reference backend while a child process compiles; the results and updates are
those of the compiled function, before and after the switch."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile import tiered


def _training_step(compile, seed=0):
    """A small MLP step with updates and a random draw (dropout)."""
    rng = np.random.default_rng(seed)
    x, y = T.dmatrix("x"), T.ivector("y")
    W = sg.shared(rng.normal(size=(6, 5)) * 0.3, name="W")
    b = sg.shared(np.zeros(5), name="b")
    V = sg.shared(rng.normal(size=(5, 3)) * 0.3, name="V")
    srng = sg.tensor.shared_randomstreams.RandomStreams(seed=7)
    h = T.tanh(T.dot(x, W) + b) * srng.binomial((x.shape[0], 5), p=0.8, dtype="float64")
    p = T.nnet.softmax(T.dot(h, V))
    cost = -T.mean(T.log(p)[T.arange(y.shape[0]), y])
    params = [W, b, V]
    grads = T.grad(cost, params)
    f = sg.function([x, y], [cost, p], updates=[(q, q - 0.5 * g) for q, g in zip(params, grads)],
                    compile=compile)
    return f, params


def _data(k):
    rng = np.random.default_rng(100 + k)
    return rng.normal(size=(4, 6)), rng.integers(0, 3, 4).astype("int32")


def test_results_and_updates_equal_the_compiled_function_across_the_switch():
    eager, eager_params = _training_step("eager")
    tiered_f, tiered_params = _training_step("background")
    assert tiered_f._thunk.program is None          # answering on the reference backend
    for k in range(3):                              # before the switch (most likely)
        for a, b in zip(eager(*_data(k)), tiered_f(*_data(k))):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)
    assert tiered_f.wait(120)
    assert tiered_f._thunk.program is not None      # the compiled program now
    for k in range(3, 6):
        for a, b in zip(eager(*_data(k)), tiered_f(*_data(k))):
            np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)
    for p, q in zip(eager_params, tiered_params):
        np.testing.assert_allclose(q.get_value(), p.get_value(), rtol=1e-12, atol=1e-15)


def test_eager_is_the_default_and_bad_values_are_refused():
    x = T.dvector("x")
    f = sg.function([x], 2 * x)
    assert f._background is None and f.wait(0)
    with pytest.raises(ValueError, match="compile must be 'eager' or 'background'"):
        sg.function([x], 2 * x, compile="later")
    with sg.config.change(background_compile=True):
        g = sg.function([x], 3 * x)
    assert g._background is not None
    np.testing.assert_array_equal(g(np.arange(3.0)), [0, 3, 6])
    assert g.wait(120)
    np.testing.assert_array_equal(g(np.arange(3.0)), [0, 3, 6])


def test_other_modes_compile_as_they_do():
    x = T.dvector("x")
    f = sg.function([x], 2 * x, mode="python", compile="background")
    assert f._background is None


def test_a_bad_call_before_the_switch_names_the_users_line_and_changes_nothing():
    x = T.dvector("x")
    s = sg.shared(np.zeros(3), name="s")
    f = sg.function([x], x, updates=[(s, s + x[[0, 1, 5]])], compile="background")
    with pytest.raises(IndexError) as info:
        f(np.ones(3))
    assert "test_tiered.py" in str(info.value)
    np.testing.assert_array_equal(s.get_value(), np.zeros(3))
    f.wait(120)


def test_the_function_switches_even_when_the_helper_cannot_start(monkeypatch):
    monkeypatch.setattr(tiered, "_CHILD", "raise SystemExit(3)")
    x = T.dvector("x")
    f = sg.function([x], T.exp(x) + 1, compile="background")
    assert f.wait(120)          # compiled in this process's thread instead
    np.testing.assert_allclose(f(np.zeros(2)), [2, 2])


_SCRIPT = textwrap.dedent("""
    import sys, time
    import numpy as np
    import symgraph as sg, symgraph.tensor as T
    x = T.dmatrix("x")
    w = sg.shared(np.ones(3), name="w")
    cost = T.sum(T.tanh(T.dot(x, w)) ** 2)
    f = sg.function([x], cost, updates=[(w, w - 0.1 * T.grad(cost, w))], compile="background")
    first = f(np.ones((2, 3)))
    print("numba imported before the first result:", "numba" in sys.modules)
    if sys.argv[1] == "wait":
        print("switched:", f.wait(120), f._thunk.timings["source"])
    """)


def _run(tmp_path, how):
    env = dict(os.environ, SYMGRAPH_FLAGS=f"compiledir={tmp_path / 'cache'}",
               NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    return subprocess.run([sys.executable, "-c", _SCRIPT, how], env=env, capture_output=True,
                          text=True, timeout=300)


def test_first_result_needs_no_numba_and_the_child_fills_the_cache(tmp_path):
    done = _run(tmp_path, "wait")
    assert done.returncode == 0, done.stderr
    assert "numba imported before the first result: False" in done.stdout
    # the child compiled the very program this process generates: a cache hit here
    assert "switched: True loaded from the disk cache" in done.stdout


def test_exit_while_the_child_compiles_is_clean(tmp_path):
    done = _run(tmp_path, "exit")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
