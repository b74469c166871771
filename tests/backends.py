"""``compare_backends``: one graph, every backend under test, the same answers.

``MODES`` are the backends the suite checks against the reference backend
(``python``, each op's NumPy ``perform``): ``SYMGRAPH_TEST_MODES="numba,cuda"``,
by default the configured mode.  The op table (test_ops.py), the tutorial's
training step (test_tutorial.py) and the MLP (test_grad.py) call it, so a new
target joins all of them by adding its name there.
"""
import os

import numpy as np

import symgraph as sg

REFERENCE = "python"
MODES = [m for m in os.environ.get("SYMGRAPH_TEST_MODES", "").split(",") if m] or [sg.config.mode]


def compare_backends(inputs, outputs, values, modes=None, updates=None, tol=1e-7, cache=None):
    """Run the graph on ``values`` with the reference backend and with each of
    ``modes`` (default MODES), and check that every mode gives the same dtypes,
    shapes and values (within ``tol``; exactly for integers and booleans) and
    leaves its arguments unchanged.  With ``updates``, each mode starts from the
    same shared values and must leave the same new ones.  ``cache``: a dict
    keeping the compiled functions by mode, for a caller that runs the graph
    again.  Returns the reference's results (a list); the shared variables are
    left as the reference set them."""
    single = not isinstance(outputs, (list, tuple))
    outs = [outputs] if single else list(outputs)
    targets = [t for t, _ in (updates.items() if isinstance(updates, dict) else updates or [])]
    cache = {} if cache is None else cache
    start = [t.get_value() for t in targets]
    answers = {}
    for mode in [REFERENCE] + [m for m in (modes or MODES) if m != REFERENCE]:
        if mode not in cache:
            cache[mode] = sg.function(inputs, outs, updates=updates, mode=mode,
                                      on_unused_input="ignore")
        for t, v in zip(targets, start):
            t.set_value(v.copy())
        args = [np.array(v, copy=True) for v in values]
        results = cache[mode](*args)
        assert all(isinstance(r, np.ndarray) for r in results), f"mode {mode!r}: not arrays"
        for k, (a, v) in enumerate(zip(args, values)):
            assert a.dtype == np.asarray(v).dtype and np.array_equal(a, v, equal_nan=True), \
                f"mode {mode!r} changed argument {k}"
        answers[mode] = [np.asarray(r) for r in results] + [t.get_value() for t in targets]
    reference = answers.pop(REFERENCE)
    names = [f"output {k}" for k in range(len(outs))] + [f"the update of {t}" for t in targets]
    for mode, got in answers.items():
        for name, want, have in zip(names, reference, got):
            where = f"mode {mode!r} vs {REFERENCE!r}, {name}"
            assert have.dtype == want.dtype, f"{where}: dtype {have.dtype}, expected {want.dtype}"
            assert have.shape == want.shape, f"{where}: shape {have.shape}, expected {want.shape}"
            if want.dtype.kind == "f" and tol:
                np.testing.assert_allclose(have, want, rtol=tol, atol=tol, err_msg=where)
            else:
                np.testing.assert_array_equal(have, want, err_msg=where)
    for t, v in zip(targets, reference[len(outs):]):
        t.set_value(v)
    return reference[:len(outs)]
