"""Debugging aids: Print inside graphs, MonitorMode, NanGuardMode, Mode and
Theano's mode names.  Printed text is read from the test's stdout (capsys:
the Numba program prints through Python's sys.stdout)."""
import re
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile.nanguardmode import NanGuardError
from symgraph.printing import Print

from backends import compare_backends

BACKENDS = ["python", "numba"]


# ---------------------------------------------------------------- Print
def _print_graph():
    """Prints of a matrix (shape and sum), of its transpose and of a scalar."""
    x = T.dmatrix("x")
    y = Print("x is", attrs=("shape", "sum"))(x) * 2
    t = Print("t")(y.T)
    s = Print("s", attrs=("__str__", "dtype"))(T.cast(t.sum(), "float32"))
    return x, [y, s + 1]


@pytest.fixture(scope="module")
def print_functions():
    x, outs = _print_graph()
    return x, outs, {m: sg.function([x], outs, mode=m) for m in BACKENDS}


EXPECTED = """\
x is shape = (2, 3)
x is sum = 15.0
t __str__ = [[ 0.  6.]
 [ 2.  8.]
 [ 4. 10.]]
s __str__ = 30.0
s dtype = float32
"""


@pytest.mark.parametrize("mode", BACKENDS)
def test_print_prints_theano_lines_while_the_call_runs(mode, print_functions, capsys):
    x, outs, functions = print_functions
    capsys.readouterr()
    y, s = functions[mode](np.arange(6.0).reshape(2, 3))
    assert capsys.readouterr().out == EXPECTED
    np.testing.assert_array_equal(y, 2 * np.arange(6.0).reshape(2, 3))
    assert s.dtype == np.float32 and s == 31
    # every call prints again
    functions[mode](np.ones((1, 1)))
    assert capsys.readouterr().out.splitlines()[:2] == ["x is shape = (1, 1)", "x is sum = 1.0"]


def test_print_agrees_across_backends(print_functions, capsys):
    x, outs, functions = print_functions
    compare_backends([x], outs, [np.arange(6.0).reshape(2, 3)], cache=dict(functions))


def test_print_is_kept_by_the_optimizer_and_its_gradient_passes_through(capsys):
    x = T.dvector("x")
    c = T.constant(np.array([1.0, 2.0]))
    a, b = Print("a")(x), Print("a")(x)          # two Prints are never merged into one
    folded = Print("c")(c)                       # nor folded as a constant (at compile time)
    cost = T.sum(T.exp(a) * b + folded)
    f = sg.function([x], cost, mode="python")
    assert capsys.readouterr().out == ""
    assert [str(n.op) for n in f.graph.toposort()].count("print{'a'}") == 2
    f([0.0, 1.0])
    assert capsys.readouterr().out.splitlines() == ["a __str__ = [0. 1.]", "a __str__ = [0. 1.]",
                                                    "c __str__ = [1. 2.]"]
    g = sg.function([x], sg.grad(T.sum(T.exp(Print("g")(x))), x), mode="python")
    np.testing.assert_allclose(g([0.0, 1.0]), np.exp([0.0, 1.0]))
    sg.verify_grad(lambda v: T.sum(T.sin(Print("v")(v)) ** 2), [np.array([0.3, -1.2])])


@pytest.mark.parametrize("mode", BACKENDS)
def test_print_inside_scan_prints_every_step(mode, capsys):
    x = T.dvector("x")
    out, _ = sg.scan(lambda v, acc: Print("acc")(acc + v), sequences=[x],
                     outputs_info=[T.constant(0.0)])
    f = sg.function([x], out, mode=mode)
    capsys.readouterr()
    np.testing.assert_array_equal(f(np.arange(3.0)), [0.0, 1.0, 3.0])
    assert capsys.readouterr().out == "acc __str__ = 0.0\nacc __str__ = 1.0\nacc __str__ = 3.0\n"


def test_print_in_debug_mode_prints_once(capsys):
    x = T.dvector("x")
    f = sg.function([x], Print("d", attrs=("sum",))(x) + 1, mode="debug")
    capsys.readouterr()
    np.testing.assert_array_equal(f([1.0, 2.0]), [2.0, 3.0])
    assert capsys.readouterr().out == "d sum = 3.0\n"


def test_print_errors():
    with pytest.raises(ValueError, match="'nosuch' is not an attribute of a NumPy array"):
        Print("m", attrs=("shape", "nosuch"))
    with pytest.raises(TypeError, match="must be strings"):
        Print(3)
    assert Print("m", attrs="shape").attrs == ("shape",)


# ---------------------------------------------------------------- MonitorMode
def test_monitor_mode_calls_before_and_after_each_node(capsys):
    seen = []

    def pre(i, node, fn):
        print(i, node.op, "inputs", [cell[0].tolist() for cell in fn.inputs],
              "outputs", [cell[0] for cell in fn.outputs])

    def post(i, node, fn):
        print(i, node.op, "outputs", [cell[0].tolist() for cell in fn.outputs])
        seen.append(node)

    x = T.dscalar("x")
    f = sg.function([x], [5 * x], mode=sg.compile.MonitorMode(pre_func=pre, post_func=post))
    assert f(3) == [15.0]
    assert capsys.readouterr().out == ("0 mul inputs [5.0, 3.0] outputs [None]\n"
                                       "0 mul outputs [15.0]\n")
    assert seen == f.graph.toposort()


def test_monitor_mode_post_func_sees_every_node_in_order_and_may_replace_values():
    x = T.dvector("x")
    y = T.exp(x) + 1                  # two nodes: fusion is left out in MonitorMode
    ops = []

    def clip_exp(i, node, fn):
        ops.append((i, str(node.op)))
        if str(node.op) == "exp":
            fn.outputs[0][0] = np.minimum(fn.outputs[0][0], 2.0)

    f = sg.function([x], y, mode=sg.compile.MonitorMode(post_func=clip_exp))
    np.testing.assert_allclose(f([0.0, 5.0]), [2.0, 3.0])
    assert ops == [(0, "exp"), (1, "add")]
    with pytest.raises(TypeError, match="pre_func must be callable"):
        sg.compile.MonitorMode(pre_func="print")
    with pytest.raises(ValueError, match="linker='cvm' cannot be used"):
        sg.compile.MonitorMode(linker="cvm")


# ---------------------------------------------------------------- NanGuardMode
def _guarded(**flags):
    x = T.dvector("x")
    w = sg.shared(np.array([1.0, 2.0]), name="w")
    h = T.log(x)                                              # NaN for x < 0
    big = T.exp(h * 30.0)                                     # > 1e10 for x > 2.2
    y = big + 1.0 / (x - 1.0)                                 # Inf at x == 1
    f = sg.function([x], y.sum(), updates=[(w, w + x)],
                    mode=sg.compile.NanGuardMode(**flags))
    return f, w


@pytest.mark.parametrize("value, found, op, code", [
    (-1.0, "NaN", "log", "h = T.log(x)"),
    (3.0, "a value of absolute size 2.06e+14 (above 1e+10)", "exp", "big = T.exp(h * 30.0)"),
    (1.0, "Inf", "truediv", "y = big + 1.0 / (x - 1.0)"),
])
def test_nan_guard_names_the_first_bad_node_and_the_line_that_built_it(value, found, op, code):
    f, w = _guarded()
    np.testing.assert_allclose(f([0.5, 0.5]), 2 * (0.5 ** 30 - 2))
    before = w.get_value()
    with np.errstate(all="ignore"), pytest.raises(NanGuardError) as info:
        f([0.5, value])
    message = str(info.value)
    assert message.startswith(f"NanGuardMode: {found} produced by {op} (node ")
    assert re.search(r'built at: File ".*test_debugging.py", line \d+: ' + re.escape(code), message)
    assert isinstance(info.value, AssertionError)
    np.testing.assert_array_equal(w.get_value(), before)    # the failed call changed nothing


def test_nan_guard_reports_instead_of_numpy_warning():
    f, _ = _guarded()
    with warnings.catch_warnings():
        warnings.simplefilter("error")               # a RuntimeWarning would fail here
        with pytest.raises(NanGuardError, match="NaN produced by log"):
            f([0.5, -1.0])
        with pytest.raises(NanGuardError, match="Inf produced by truediv"):
            f([0.5, 1.0])


def test_nan_guard_checks_can_be_switched_off_and_inputs_are_checked():
    f, w = _guarded(nan_is_error=False, big_is_error=False, inf_is_error=False)
    with np.errstate(all="ignore"):
        assert np.isnan(f([0.5, -1.0]))
    f, _ = _guarded(nan_is_error=False)
    with np.errstate(all="ignore"), pytest.raises(NanGuardError, match="Inf produced by truediv"):
        f([0.5, 1.0])
    f, w = _guarded()
    with pytest.raises(NanGuardError, match=r"NaN in the function's input x \(before any node"):
        f([0.5, np.nan])
    w.set_value(np.array([np.inf, 0.0]))
    with pytest.raises(NanGuardError, match="Inf in the function's shared variable w"):
        f([0.5, 0.5])


def test_nan_guard_by_name():
    x = T.dvector("x")
    f = sg.function([x], T.sqrt(x), mode="NanGuardMode")
    assert isinstance(sg.compile.get_mode("NanGuardMode"), sg.compile.NanGuardMode)
    with np.errstate(all="ignore"), pytest.raises(NanGuardError, match="NaN produced by sqrt"):
        f([-1.0])


# ---------------------------------------------------------------- Mode and the mode names
def test_mode_names_pick_backend_and_optimizer():
    x = T.dvector("x")
    y = T.exp(x) * 2 + 1
    graphs = {}
    for name in ("FAST_RUN", "FAST_COMPILE", "DebugMode", "DEBUG_MODE"):
        f = sg.function([x], y, mode=name)
        np.testing.assert_allclose(f([0.0]), [3.0])
        graphs[name] = [str(n.op) for n in f.graph.toposort()]
        assert f.mode == name
    assert graphs["FAST_RUN"] == ["fused{exp,mul,add}"]           # fast_run fuses
    assert graphs["FAST_COMPILE"] == ["exp", "mul", "add"]        # fast_compile does not
    assert sg.compile.get_mode("FAST_COMPILE").linker == "python"
    assert sg.compile.get_mode("FAST_RUN").linker == "numba"
    assert sg.compile.get_mode("DebugMode").linker == sg.compile.get_mode("DEBUG_MODE").linker \
        == "debug"
    # 'FAST_RUN' rewrites fully whatever config.optimizer says; 'numba' follows it
    with sg.config.change(optimizer="None"):
        assert sg.compile.get_mode("FAST_RUN").optimizer_name() == "fast_run"
        assert sg.compile.get_mode("numba").optimizer_name() == "None"


def test_debug_mode_name_checks_against_the_reference():
    x = T.dvector("x")
    f = sg.function([x], T.log(x) + 1, mode="DebugMode")
    assert f._thunk.program is not None and f._thunk.fast is None   # the debug backend
    np.testing.assert_allclose(f([1.0]), [1.0])
    with np.errstate(all="ignore"), pytest.raises(FloatingPointError,
                                                  match="debug mode: NaN or Inf produced"):
        f([-1.0])


def test_mode_objects():
    x = T.dvector("x")
    y = T.exp(x) * 2 + 1
    assert sg.Mode is sg.compile.Mode and sg.compile.mode.Mode is sg.Mode
    f = sg.function([x], y, mode=sg.Mode(linker="py", optimizer="fast_compile"))
    assert [str(n.op) for n in f.graph.toposort()] == ["exp", "mul", "add"]
    assert f._thunk.program is None                                 # the reference backend
    np.testing.assert_allclose(f([0.0]), [3.0])
    # optimizer=None: no rewriting at all (x * 1 stays as built)
    g = sg.function([x], x * 1, mode=sg.Mode(linker="python", optimizer=None))
    assert "mul" in [str(n.op) for n in g.graph.toposort()]
    assert sg.function([x], x * 1, mode="FAST_COMPILE").graph.toposort() == []   # rewritten
    # linker=None: the backend of config.mode; optimizer='default': config.optimizer
    with sg.config.change(mode="python", optimizer="None"):
        h = sg.function([x], x * 1, mode=sg.Mode())
        assert h._thunk.program is None and "mul" in [str(n.op) for n in h.graph.toposort()]
    assert sg.Mode("cvm").linker == "numba" and sg.Mode("c|py").linker == "numba"
    assert "Mode(linker='python', optimizer='fast_compile')" in repr(f)
    with pytest.raises(ValueError, match="unknown linker 'gcc'"):
        sg.Mode(linker="gcc")
    with pytest.raises(ValueError, match="unknown optimizer 'o9'"):
        sg.Mode(optimizer="o9")


def test_config_mode_takes_theano_names():
    from symgraph.compile.mode import NAMES
    assert set(type(sg.config).mode.choices) == set(NAMES)
    x = T.dvector("x")
    with sg.config.change(mode="FAST_COMPILE"):
        f = sg.function([x], T.exp(x) + 1)
        assert f.mode == "FAST_COMPILE" and f._thunk.program is None
        assert [str(n.op) for n in f.graph.toposort()] == ["exp", "add"]
    for name in ("DebugMode", "DEBUG_MODE", "FAST_RUN", "NanGuardMode"):
        with sg.config.change(mode=name):
            assert sg.config.mode == name
    with pytest.raises(ValueError, match="unknown mode 'fastest'"):
        sg.function([x], x, mode="fastest")
    from symgraph.compile.numba_cuda import cudalib
    if cudalib.problem():    # no GPU, no simulator: a clear error, not a crash
        with pytest.raises(RuntimeError, match="mode='cuda' cannot run here"):
            sg.function([x], x, mode="cuda")
