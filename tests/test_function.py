"""function(): argument checking, updates, givens, failures that change nothing, config."""
import inspect
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ----------------------------------------------------------------- arguments
def test_arity_errors():
    x, y = T.dscalars('x', 'y')
    f = sg.function([x, y], x + y)
    with pytest.raises(TypeError, match="2 arguments, got 3"):
        f(1, 2, 3)
    with pytest.raises(TypeError, match="missing a value for input y"):
        f(1)
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        f(1, 2, z=3)
    with pytest.raises(TypeError, match="several values for 'x'"):
        f(1, 2, x=3)
    assert f(y=2, x=1) == 3.0                           # named inputs are keywords
    g = sg.function([T.dvector(), T.dmatrix()], [], on_unused_input='ignore')
    with pytest.raises(TypeError, match="input #1 has 1 dimensions, expected 2"):
        g([1.0], [1.0])                                 # unnamed inputs are named by position
    with pytest.raises(TypeError, match="missing a value for input #1"):
        g([1.0])


def test_no_silent_downcast():
    x = T.fvector('x')
    f = sg.function([x], x * 2)
    with pytest.raises(TypeError, match="allow_input_downcast"):
        f(np.ones(3))                                   # float64 array into float32
    with pytest.raises(TypeError):
        f(np.float64([1.5]))
    g = sg.function([x], x * 2, allow_input_downcast=True)
    assert g(np.ones(3)).dtype == np.float32
    # Python floats (and lists of them) are accepted for float inputs, as in Theano
    np.testing.assert_array_equal(f([1.5, 2.0]), np.float32([3.0, 4.0]))
    s = T.fscalar('s')
    assert sg.function([s], s)(0.1).dtype == np.float32
    # ints go into float inputs; a lossless upcast is silent
    np.testing.assert_array_equal(f(np.arange(3, dtype='int8')), [0, 2, 4])
    i = T.ivector('i')
    h = sg.function([i], i + 1)
    with pytest.raises(TypeError):
        h(np.arange(3, dtype='int64'))                  # int64 into int32
    with pytest.raises(TypeError):
        h([0.5, 1.0])                                   # floats into ints lose the fraction
    np.testing.assert_array_equal(h([1, 2]), [2, 3])     # a Python list of ints is fine
    np.testing.assert_array_equal(sg.function([i], i, allow_input_downcast=True)([1.7]), [1])


def test_lists_are_accepted():
    m = T.dmatrix('m')
    f = sg.function([m], m.sum(axis=0))
    np.testing.assert_array_equal(f([[1, 2], [3, 4]]), [4.0, 6.0])
    with pytest.raises(TypeError, match="dimensions"):
        f([1, 2])
    with pytest.raises((TypeError, ValueError)):
        f([[1, 2], [3]])                                # ragged


def test_inputs_must_be_a_list_of_distinct_symbolic_variables():
    x = T.dvector('x')
    with pytest.raises(TypeError):
        sg.function(x, x)
    with pytest.raises(ValueError, match="twice"):
        sg.function([x, x], x)
    with pytest.raises(TypeError):
        sg.function([sg.shared(np.zeros(2))], x)
    with pytest.raises(TypeError):
        sg.function([T.constant(1.0)], x)


def test_missing_input_is_named():
    x, y = T.dvectors('x', 'y')
    with pytest.raises(ValueError, match="depend on y"):
        sg.function([x], x + y)


def test_on_unused_input():
    x, y = T.dscalars('x', 'unused')
    with pytest.raises(ValueError, match="unused"):
        sg.function([x, y], x * 2)
    with pytest.warns(UserWarning, match="unused"):
        f = sg.function([x, y], x * 2, on_unused_input='warn')
    assert f(1, 2) == 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = sg.function([x, y], x * 2, on_unused_input='ignore')
    assert g(1, 2) == 2.0
    with pytest.raises(ValueError, match="on_unused_input"):
        sg.function([x], x, on_unused_input='sometimes')


def test_unknown_mode_is_refused():
    x = T.dscalar()
    with pytest.raises(ValueError, match="mode"):
        sg.function([x], x, mode='turbo')


def test_outputs_forms():
    x = T.dvector('x')
    assert isinstance(sg.function([x], x * 2)([1.0]), np.ndarray)
    single_list = sg.function([x], [x * 2])([1.0])
    assert isinstance(single_list, list) and len(single_list) == 1
    assert sg.function([x], [], on_unused_input='ignore')([1.0]) == []
    np.testing.assert_array_equal(sg.function([], T.constant([1, 2]) * 3)(), [3, 6])


def test_output_that_is_an_input_is_a_copy():
    x = T.dvector('x')
    f = sg.function([x], [x, x * 1])
    v = np.arange(3.0)
    out, _ = f(v)
    out[0] = 100
    assert v[0] == 0
    s = sg.shared(np.zeros(2))
    got = sg.function([], s)()
    got[0] = 5
    assert s.get_value()[0] == 0


def test_results_never_alias_arguments_shared_storage_or_constants():
    x = T.dmatrix('x')
    s = sg.shared(np.arange(4.0), name='s')
    v = np.ones((3, 1))
    f = sg.function([x], [x.T, T.addbroadcast(x, 1), x[1:], s[1:], s.dimshuffle('x', 0),
                          T.constant([1.0, 2.0]), T.constant(np.ones((2, 2)))[0]])
    results = f(v)
    for r in results:
        r[...] = 42                                      # every result is writeable and our own
    np.testing.assert_array_equal(v, 1)
    np.testing.assert_array_equal(s.get_value(), np.arange(4.0))
    np.testing.assert_array_equal(f(v)[5], [1.0, 2.0])
    y = x * 2
    a, b = sg.function([x], [y, y.T])(v)                 # two outputs, one memory
    a[...] = 0
    assert np.all(b == 2)


def test_an_update_never_shares_storage_with_another_variable():
    a = sg.shared(np.zeros(3), name='a')
    b = sg.shared(np.ones(3), name='b')
    x = T.dvector('x')
    f = sg.function([x], a, updates=[(a, b), (b, x)])
    given = np.full(3, 5.0)
    old_a = f(given)
    a.get_value(borrow=True)[0] = 100                    # writes into a's storage only
    given[1] = 100                                       # and the caller's array is the caller's
    old_a[2] = 100
    np.testing.assert_array_equal(b.get_value(), [5, 5, 5])
    np.testing.assert_array_equal(a.get_value(), [100, 1, 1])


def test_graph_is_inspectable():
    x = T.dvector('x')
    f = sg.function([x], T.exp(x).sum())
    names = [str(node.op) for node in f.graph.toposort()]
    assert any('exp' in n for n in names) and f.graph.outputs


# ----------------------------------------------------------------- updates
def test_update_target_must_be_shared():
    x = T.dscalar('x')
    not_shared = T.dscalar('not_shared')
    with pytest.raises(TypeError, match="not_shared"):
        sg.function([x], x, updates=[(not_shared, x)])
    s = sg.shared(0.0, name='s')
    with pytest.raises(TypeError):
        sg.function([x], x, updates=[(s, x, 1)])
    with pytest.raises(ValueError, match="twice"):
        sg.function([x], x, updates=[(s, x), (s, x + 1)])


def test_update_type_mismatch_names_the_variable():
    counter = sg.shared(np.int32(0), name='counter')
    x = T.dscalar('x')
    with pytest.raises(TypeError, match="counter"):
        sg.function([x], x, updates=[(counter, counter + x)])      # float64 into int32
    weights = sg.shared(np.zeros(3), name='weights')
    with pytest.raises(TypeError, match="weights"):
        sg.function([x], x, updates=[(weights, weights.sum())])   # wrong ndim
    with pytest.raises(TypeError, match="weights"):
        sg.function([], [], updates=[(weights, T.cast(weights, 'float32'))])
    # the usual repair works
    sg.function([x], x, updates=[(counter, T.cast(counter + x, 'int32'))])(2.5)
    assert counter.get_value() == 2


def test_updates_apply_after_all_outputs():
    a = sg.shared(1.0, name='a')
    b = sg.shared(2.0, name='b')
    swap = sg.function([], [a, b, a + b], updates=[(a, b), (b, a)])
    old_a, old_b, total = swap()
    assert (old_a, old_b, total) == (1.0, 2.0, 3.0)
    assert (a.get_value(), b.get_value()) == (2.0, 1.0)
    swap()
    assert (a.get_value(), b.get_value()) == (1.0, 2.0)
    # a returned output is not the updated value, nor the new storage
    v = sg.shared(np.zeros(3), name='v')
    f = sg.function([], v, updates=[(v, v + 1)])
    first = f()
    second = f()
    np.testing.assert_array_equal(first, 0)
    np.testing.assert_array_equal(second, 1)
    np.testing.assert_array_equal(v.get_value(), 2)


def test_dict_updates_and_no_outputs():
    state = sg.shared(0, name='state')
    inc = T.lscalar('inc')
    f = sg.function([inc], updates={state: state + inc})
    assert f(5) == []
    assert state.get_value() == 5


def test_default_updates():
    counter = sg.shared(0, name='counter')
    counter.default_update = counter + 1
    f = sg.function([], counter * 10)
    assert f() == 0 and f() == 10 and counter.get_value() == 2
    g = sg.function([], counter * 10, no_default_updates=True)
    assert g() == 20 and counter.get_value() == 2
    h = sg.function([], counter, updates=[(counter, counter - 1)])  # explicit wins
    h()
    assert counter.get_value() == 1


def test_givens():
    x, y = T.dscalars('x', 'y')
    s = sg.shared(5.0, name='s')
    out = x * s + y
    f = sg.function([x, y], out, givens={s: y * 2})
    assert f(3, 1) == 7.0
    with pytest.raises(TypeError, match="givens"):
        sg.function([x], x + s, givens=[(s, T.dvector('v'))])
    z = T.dmatrix('z')
    with pytest.raises(TypeError):
        sg.function([x], x + s, givens=[(s, z)])


# ----------------------------------------------------------------- failing calls
def test_a_failing_call_changes_nothing_and_names_the_line():
    W = sg.shared(np.ones((3, 4)), name='W')
    c = sg.shared(0.0, name='c')
    x = T.dmatrix('x')
    line = inspect.currentframe().f_lineno + 1
    h = T.dot(W, x)  # the failing node
    f = sg.function([x], h.sum(), updates=[(W, W * 2), (c, c + 1)])
    f(np.ones((4, 2)))
    before_W, before_c = W.get_value(), c.get_value()
    with pytest.raises(ValueError) as info:
        f(np.ones((5, 2)))                                  # wrong inner dimension
    np.testing.assert_array_equal(W.get_value(), before_W)
    assert c.get_value() == before_c
    message = str(info.value)
    source = open(__file__).read().splitlines()[line - 1].strip()
    assert f"line {line}" in message and source in message, message
    assert os.path.basename(__file__) in message
    f(np.ones((4, 2)))                                      # and the function still works
    assert c.get_value() == before_c + 1


def test_a_failing_update_changes_nothing():
    a = sg.shared(np.zeros(3), name='a')
    b = sg.shared(np.zeros(3), name='b')
    i = T.lvector('i')
    line = inspect.currentframe().f_lineno + 1
    new_b = T.inc_subtensor(b[i], 1.0)
    f = sg.function([i], a.sum(), updates=[(a, a + 1), (b, new_b)])
    with pytest.raises(IndexError) as info:
        f([0, 7])                                           # out of bounds in the second update
    assert a.get_value().sum() == 0 and b.get_value().sum() == 0
    assert f"line {line}" in str(info.value)


# ----------------------------------------------------------------- config
def _run_with_flags(flags, code):
    env = dict(os.environ, SYMGRAPH_FLAGS=flags)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


def test_symgraph_flags_are_read_at_import():
    code = ("import symgraph as sg, symgraph.tensor as T; "
            "print(sg.config.floatX, sg.config.mode, sg.config.optimizer, T.matrix().dtype)")
    done = _run_with_flags(" floatX = float32 ,mode=python,, optimizer=fast_compile", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["float32", "python", "fast_compile", "float32"]
    for bad, word in [("floatX=float16", "floatX"), ("colour=red", "colour"), ("mode", "key=value"),
                      ("optimizer=fastest", "optimizer")]:
        done = _run_with_flags(bad, "import symgraph")
        assert done.returncode != 0 and word in done.stderr, (bad, done.stderr[-300:])


def test_config_validation():
    old = sg.config.floatX
    try:
        with pytest.raises(ValueError, match="floatX"):
            sg.config.floatX = 'float16'
        assert sg.config.floatX == old
        sg.config.floatX = 'float32'
        assert T.vector().dtype == 'float32' and T.dvector().dtype == 'float64'
    finally:
        sg.config.floatX = old
    with pytest.raises(ValueError, match="mode"):
        sg.config.mode = 'fastest'
    with pytest.raises(AttributeError):
        sg.config.no_such_option = 1
    with pytest.raises(AttributeError):
        sg.config.no_such_option
    assert "floatX" in repr(sg.config)


def test_config_change_restores_and_monkeypatch_works(monkeypatch):
    before = repr(sg.config)
    with sg.config.change(optimizer="None", floatX="float32"):
        assert sg.config.optimizer == "None" and T.vector().dtype == "float32"
    assert repr(sg.config) == before
    with pytest.raises(ValueError, match="optimizer"):
        with sg.config.change(optimizer="fastest"):
            pass
    assert repr(sg.config) == before
    # tools that save, set and restore attributes (pytest's monkeypatch, any version)
    # see an ordinary settings object
    mp = pytest.MonkeyPatch()
    mp.setattr(sg.config, "optimizer", "None")
    mp.setattr(sg.config, "sympy_simplify", False)
    assert sg.config.optimizer == "None" and sg.config.sympy_simplify is False
    mp.undo()
    assert repr(sg.config) == before
    # deleting an option resets it to its default
    with sg.config.change(optimizer="None"):
        del sg.config.optimizer
        assert sg.config.optimizer == "fast_run"
    assert repr(sg.config) == before


def test_config_mode_is_the_default_mode():
    old = sg.config.mode
    try:
        sg.config.mode = 'python'
        x = T.dscalar()
        assert sg.function([x], x).mode == 'python'
    finally:
        sg.config.mode = old


def test_shared_variable_among_inputs_is_a_clear_error():
    W = sg.shared(np.zeros(3), name="W")
    x = T.dvector("x")
    with pytest.raises(TypeError, match=r"shared variable W .*implicit inputs.*must not be listed"):
        sg.function([x, W], x + W)
    with pytest.raises(TypeError, match="shared variable W"):
        sg.function([sg.In(W)], W * 2)
    with pytest.raises(TypeError, match="symbolic variables"):
        sg.function([3], x)
