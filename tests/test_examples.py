"""Smoke tests of the scripts in examples/: each runs end to end on small sizes.

The examples run in the backend named by SYMGRAPH_TEST_MODE, else in the
reference backend ('python'): an example compiles 5 to 12 distinct programs
and Numba takes several seconds for each, which would make every smoke test
a minute long.  The compiled backends run the same code when CI sets
SYMGRAPH_TEST_MODE=numba (or cuda); the demo's test compiles with Numba.
"""
import contextlib
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import symgraph as sg

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
import digits_layers  # noqa: E402
import lxmls_mlp  # noqa: E402
import mlp_activations  # noqa: E402
import rnn_language_model  # noqa: E402
import svi  # noqa: E402

MODE = os.environ.get("SYMGRAPH_TEST_MODE") or "python"


@contextlib.contextmanager
def one_blas_thread():
    # OpenBLAS's threads spin against each other on a busy 2-core machine:
    # one thread keeps the NumPy side of the examples fast and steady
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1, user_api="blas"):
        yield


def test_lxmls_three_versions_agree(capsys):
    with sg.config.change(mode=MODE), one_blas_thread():
        result = lxmls_mlp.run(epochs=2, n_train=300, n_test=100)
    text = capsys.readouterr().out
    # exercise 1: the symbolic layer printed; 2 and 3: compiled against NumPy
    assert "softmax" in text and "dot" in text and "[id A] 'p_y'" in text
    assert result["forward_max_diff"] < 1e-12
    assert result["grad_max_diff"] < 1e-12
    # exercise 4: three timings, one accuracy
    for label in ("NumPy, backpropagation by hand", "compiled gradient, update in Python",
                  "compiled batch update (givens)"):
        assert label in text
    assert set(result["seconds"]) == {"numpy", "compiled_gradient", "compiled_batch_update"}
    assert all(s > 0 for s in result["seconds"].values())
    accuracies = set(result["accuracy"].values())
    assert len(accuracies) == 1, result["accuracy"]
    assert accuracies.pop() > 0.65             # the synthetic reviews are learnable
    reference = result["params"]["numpy"]
    for version in ("compiled_gradient", "compiled_batch_update"):
        for (W, b), (W_ref, b_ref) in zip(result["params"][version], reference):
            np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(b, b_ref, rtol=1e-9, atol=1e-12)


def test_lxmls_data_has_the_labs_shape():
    (x, y), (tx, ty) = lxmls_mlp.make_sentiment_data(n_train=50, n_test=10)
    assert x.shape == (13989, 50) and tx.shape == (13989, 10)
    assert y.dtype == np.int32 and set(np.unique(y)) <= {0, 1}
    assert np.all(x == np.round(x)) and np.mean(x > 0) < 0.02     # sparse word counts


def test_lxmls_command_line(capsys):
    with one_blas_thread():
        assert lxmls_mlp.main(["--small", "--epochs", "1", "--mode", MODE]) == 0
    assert "the same accuracy for all three: yes" in capsys.readouterr().out


def test_digits_layers_optimizers_learn(capsys):
    with sg.config.change(mode=MODE):
        results = digits_layers.run(epochs=2, runs=[("sigmoid", "sgd"), ("tanh", "momentum"),
                                                    ("relu", "adam"), ("softplus", "adam")])
    assert set(results) == {("sigmoid", "sgd"), ("tanh", "momentum"), ("relu", "adam"),
                            ("softplus", "adam")}
    for pair, accuracies in results.items():
        assert len(accuracies) == 2 and accuracies[-1] > 0.7, (pair, accuracies)
    assert "relu      adam" in capsys.readouterr().out


def test_adam_state_is_updated_in_the_step():
    # the optimizer's own shared variables advance with every compiled call
    import symgraph.tensor as T
    w = sg.shared(np.array([1.0, -2.0]), name="w")
    cost = T.sum(T.sqr(w))
    updates = digits_layers.adam([w], T.grad(cost, [w]), lr=0.1)
    step = sg.function([], cost, updates=updates, mode=MODE)
    t = updates[0][0]
    for _ in range(3):
        step()
    assert t.get_value() == 3.0
    # the same three steps in NumPy
    w_np, m, v = np.array([1.0, -2.0]), np.zeros(2), np.zeros(2)
    for k in range(1, 4):
        g = 2 * w_np
        m, v = 0.9 * m + 0.1 * g, 0.999 * v + 0.001 * g ** 2
        w_np = w_np - 0.1 * np.sqrt(1 - 0.999 ** k) / (1 - 0.9 ** k) * m / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(w.get_value(), w_np, rtol=1e-12)


def test_mlp_activations_curves_and_plot(tmp_path, capsys):
    with sg.config.change(mode=MODE):
        results = mlp_activations.run(epochs=2, depths=(2, 5), out=str(tmp_path))
    assert set(results) == {(a, d) for a in ("sigmoid", "tanh", "relu") for d in (2, 5)}
    for curves in results.values():
        assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in curves.values())
    assert results["tanh", 2]["train_cost"][-1] < results["tanh", 2]["train_cost"][0]
    assert (tmp_path / "mlp_activations.png").stat().st_size > 5000
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("mode", sorted({MODE, "numba"}))
def test_rnn_language_model_trains_through_scan(mode, capsys):
    # the gradient through the scan is backpropagation through time by hand,
    # and SGD on it lowers the loss (in numba mode too, as issue 14 asks)
    with sg.config.change(mode=mode):
        result = rnn_language_model.run(epochs=2, n_sentences=30, length=12, vocab=20,
                                        hidden=8)
    assert result["grad_max_diff"] < 1e-12
    losses = result["losses"]
    assert losses[-1] < losses[0] - 0.05, losses
    assert "gradient vs NumPy BPTT" in capsys.readouterr().out


def test_svi_finds_the_exact_posterior(capsys):
    # Bayesian linear regression has a Gaussian posterior in closed form: SVI
    # through reparameterised RandomStreams draws must land on its mean and on
    # the mean-field optimum's standard deviations
    with sg.config.change(mode=MODE):
        result = svi.run(steps=400)
    assert result["elbo_last"] > result["elbo_first"] + 1000
    np.testing.assert_allclose(result["mu"], result["exact_mean"], atol=4 * result["exact_sd"].max())
    np.testing.assert_allclose(result["sigma"], result["exact_sd"], rtol=0.25)
    assert len(set(np.round(result["history"][-50:], 6))) > 40    # fresh noise every call
    assert "posterior mean" in capsys.readouterr().out


@pytest.mark.parametrize("script", ["lxmls_mlp.py", "digits_layers.py", "mlp_activations.py",
                                    "rnn_language_model.py", "svi.py"])
def test_examples_run_as_scripts(script):
    done = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "--small" in done.stdout and "--mode" in done.stdout
