"""Theano's settings: THEANO_FLAGS and the flag sections of sg.config, function
profiles, pydotprint's keyword arguments, and test values (compute_test_value)."""
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.config import Config
from symgraph.testvalues import get_test_value

from backends import MODES

HERE = os.path.abspath(__file__)


def _run_python(code, theano_flags=None, symgraph_flags=None):
    """(stdout, stderr) of ``code`` run in a fresh interpreter with these flags."""
    env = dict(os.environ)
    for key, value in (("THEANO_FLAGS", theano_flags), ("SYMGRAPH_FLAGS", symgraph_flags)):
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(HERE)))
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


# ------------------------------------------------------------------ THEANO_FLAGS
def test_theano_flags_at_import_symgraph_flags_win(tmp_path):
    base = str(tmp_path / "theano-cache")
    code = ("import symgraph as sg; c = sg.config; print(c.floatX, c.mode, c.optimizer, "
            "c.compiledir, c.exception_verbosity, c.warn.sum_div_dimshuffle_bug, "
            "repr(c.gcc.cxxflags), c.openmp, c.dnn.conv.algo_fwd, c.device, sep='|')")
    theano = (f"device=cpu,floatX=float32,base_compiledir={base},mode=FAST_COMPILE,openmp=True,"
              f"warn.sum_div_dimshuffle_bug=False,gcc.cxxflags=-O3 -march=native,"
              f"blas.ldflags=-lblas,exception_verbosity=high,cxx=,allow_gc=False,"
              f"dnn.conv.algo_fwd=time_once,optimizer_including=fusion,nvcc.fastmath=True,"
              f"bogus_flag=1")
    out, err = _run_python(code, theano, "floatX=float64")
    values = out.strip().split("|")
    # mode=FAST_COMPILE: Theano's mode name, or the fast_compile optimizer
    assert values[1:3] in (["FAST_COMPILE", "fast_run"], ["numba", "fast_compile"])
    assert values[:1] + values[3:] == [
        "float64",                 # SYMGRAPH_FLAGS wins
        base, "high", "False", "'-O3 -march=native'", "True", "time_once", "cpu"]
    # one line names the flags that would change behaviour, and the unknown one;
    # the cosmetic ones (openmp, gcc.cxxflags, warn.*, cxx ...) say nothing
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    line = lines[0]
    assert line.startswith("THEANO_FLAGS: symgraph ignores")
    for name in ("optimizer_including='fusion'", "nvcc.fastmath=True", "bogus_flag"):
        assert name in line
    for name in ("openmp", "cxxflags", "sum_div", "ldflags", "allow_gc"):
        assert name not in line


@pytest.mark.parametrize("flags, option, expected", [
    ("device=cpu", "mode", {"numba"}),
    ("device=cuda", "mode", {"cuda"}),
    ("device=cuda0", "mode", {"cuda"}),
    ("device=gpu", "mode", {"cuda"}),
    ("device=cuda,device=cpu", "mode", {"numba"}),
    # Theano's mode names: kept where config.mode takes them, else translated
    ("mode=FAST_RUN", "mode", {"numba", "FAST_RUN"}),
    ("mode=DebugMode", "mode", {"debug", "DebugMode"}),
    ("mode=python", "mode", {"python"}),
    ("base_compiledir=/tmp/elsewhere", "compiledir", {"/tmp/elsewhere"}),
    ("compiledir=/tmp/there", "compiledir", {"/tmp/there"}),
    ("floatX=float32", "floatX", {"float32"}),
    ("profile=True", "profile", {True}),
    ("compute_test_value=warn", "compute_test_value", {"warn"}),
])
def test_theano_flags_map_to_options(flags, option, expected):
    c = Config()
    c.load_flags(flags, "THEANO_FLAGS")
    assert getattr(c, option) in expected


@pytest.mark.parametrize("flags, error, match", [
    ("device=tpu", ValueError, "THEANO_FLAGS: config.device: 'tpu' is not a device"),
    ("floatX=float16", ValueError, "THEANO_FLAGS: config.floatX must be one of"),
    ("compute_test_value=yes", ValueError, "THEANO_FLAGS: config.compute_test_value must be "),
    ("device", ValueError, "THEANO_FLAGS entry 'device' is not of the form key=value"),
])
def test_bad_theano_flags_are_errors(flags, error, match):
    with pytest.raises(error, match=match):
        Config().load_flags(flags, "THEANO_FLAGS")


def test_symgraph_flags_stay_strict():
    with pytest.raises(AttributeError, match="has no option 'openmpp'"):
        Config().load_flags("openmpp=True")
    c = Config()
    c.load_flags("warn.round=False,openmp=True")   # Theano's names are accepted there too
    assert c.warn.round is False and c.openmp is True


def test_config_sections_as_attributes():
    with sg.config.change():
        with warnings.catch_warnings():
            warnings.simplefilter("error")   # no note for flags that change nothing
            sg.config.warn.sum_div_dimshuffle_bug = False
            sg.config.warn.ignore_bug_before = "all"
            sg.config.gcc.cxxflags = "-O3"
            sg.config.blas.ldflags = ""
            sg.config.dnn.conv.algo_fwd = "time_once"
            sg.config.lib.cnmem = "0.5"
            sg.config.openmp = True
            sg.config.scan.allow_gc = True
        assert sg.config.warn.sum_div_dimshuffle_bug is False
        assert sg.config.gcc.cxxflags == "-O3" and sg.config.lib.cnmem == 0.5
        assert sg.config.dnn.conv.algo_fwd == "time_once"
        assert sg.config.profiling.n_apply == 20          # Theano's default
        with pytest.warns(UserWarning, match=r"ignores config.optimizer_including='fusion'") \
                as caught:
            sg.config.optimizer_including = "fusion"
        assert caught[0].filename == HERE                 # the user's line
        with pytest.warns(UserWarning, match=r"ignores config.numpy.seterr_all='raise'"):
            sg.config.numpy.seterr_all = "raise"
        with pytest.raises(AttributeError, match="config.warn has no flag 'sum_dvi_bug'"):
            sg.config.warn.sum_dvi_bug
        with pytest.raises(AttributeError, match="is a section of Theano flags"):
            sg.config.warn = False
        with pytest.raises(ValueError, match="config.lib.cnmem: 'lots' is not a float"):
            sg.config.lib.cnmem = "lots"
        sg.config.device = "cuda"
        assert sg.config.mode == "cuda" and sg.config.device == "cuda"
        sg.config.mode = "python"
        sg.config.device = "cpu"        # a CPU mode stays as it is
        assert sg.config.mode == "python" and sg.config.device == "cpu"
    # change() restored the sections with the options
    assert sg.config.warn.sum_div_dimshuffle_bug is True and sg.config.openmp is False
    assert "openmp" not in repr(sg.config) and "compute_test_value" in repr(sg.config)


# ------------------------------------------------------------------ profiles
def _graph():
    x = T.dmatrix("x")
    W = sg.shared(np.arange(12.0).reshape(4, 3) / 10, name="W")
    return x, W, T.tanh(T.dot(x, W)).sum()


@pytest.mark.parametrize("mode", sorted({"python", *MODES}))
def test_profile_counts_calls_and_splits_compile_time(mode):
    x, W, y = _graph()
    f = sg.function([x], y, mode=mode, profile=True, name="cost")
    plain = sg.function([x], y, mode=mode)
    assert plain.profile is None
    a = np.ones((2, 4))
    for _ in range(3):
        assert np.isclose(f(a), plain(a))
    p = f.profile
    assert p.calls == 3 and p.call_time > 0
    assert p.min_call <= p.call_time / 3 <= p.max_call
    assert p.compile_time == pytest.approx(p.optimize_time + p.backend_time)
    assert p.optimize_time > 0 and p.backend_time > 0
    text = p.summary()
    assert "Profile of function 'cost'" in text and "calls: 3," in text
    assert "optimize:" in text
    if mode == "python":
        assert p.codegen_time is None and "(mode=python does not time its stages)" in text
    else:
        # the stages add up to no more than the backend's time
        assert 0 < p.codegen_time and 0 < p.llvm_time
        assert p.codegen_time + p.llvm_time <= p.backend_time
        assert p.llvm_source in ("compiled by Numba", "compiled by the helper process",
                                 "loaded from the disk cache", "already in memory")
        assert "code generation:" in text and f"LLVM:            {p.llvm_time:.6f} s" in text
        # the same graph again: its program is already loaded, nothing compiles
        again = sg.function([x], y, mode=mode, profile=True)
        assert again.profile.llvm_source == "already in memory"
        # an unprofiled function keeps its generated fast path
        assert plain._call.__name__ == "fast" and f._call.__name__ == "profiled"
    # per-node times, measured through the reference path
    nodes = f.profile.node_times(a, repeat=2)
    assert {n for n, _ in nodes} == set(f.fgraph.apply_nodes)
    assert all(s > 0 for _, s in nodes) and [s for _, s in nodes] == sorted(
        (s for _, s in nodes), reverse=True)
    assert f.profile.node_runs == 2
    text = f.profile.summary()
    assert "nodes, through the reference path (2 runs)" in text
    assert "dot(x, W)" in text and "tanh(dot(x, W))" in text
    assert f.profile.calls == 3          # node_times is not a call


def test_profile_nodes_times_every_call_and_rejects_other_values():
    x, W, y = _graph()
    f = sg.function([x], y, mode="python", profile="nodes")
    f(np.ones((2, 4)))
    f(x=np.ones((3, 4)))
    assert f.profile.calls == 2 and f.profile.node_runs == 2
    with pytest.raises(ValueError, match="profile must be True, False or 'nodes'"):
        sg.function([x], y, mode="python", profile="yes")
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        f.profile.node_times(np.ones((2, 4)), repeat=0)
    with sg.config.change(profile=True):
        assert sg.function([x], y, mode="python", profile=False).profile is None


def test_config_profile_prints_at_exit(tmp_path):
    code = ("import numpy as np, symgraph as sg, symgraph.tensor as T\n"
            "x = T.dvector('x'); f = sg.function([x], (x * 2).sum(), name='double')\n"
            "g = sg.function([x], x + 1, profile=False)\n"
            "f(np.ones(3)); f(np.ones(4)); g(np.ones(2))\n"
            "assert f.profile.calls == 2 and g.profile is None\n")
    out, err = _run_python(code, "profile=True", f"mode=python,compiledir={tmp_path}")
    assert "Profile of function 'double' (mode=python" in err and "calls: 2," in err
    assert err.count("Profile of") == 1 and out == ""
    target = tmp_path / "profile.txt"
    _run_python(code, None, f"mode=python,compiledir={tmp_path},profile=True,"
                            f"profiling.destination={target}")
    assert "calls: 2," in target.read_text()


# ------------------------------------------------------------------ pydotprint
@pytest.fixture
def dot_text(monkeypatch):
    """pydotprint draws its DOT text instead of calling graphviz's ``dot``."""
    monkeypatch.setattr(sg.printing, "_render", lambda source, fmt: source.encode("utf-8"))


def _small():
    x = T.dmatrix("x")
    W = sg.shared(np.ones((4, 3)), name="W")
    h = T.tanh(T.dot(x, W))
    h.name = "h"
    return h.sum()


def test_pydotprint_keyword_arguments(dot_text, tmp_path, capsys):
    y = _small()
    compact = sg.printing.pydotprint(y, return_image=True).decode()
    assert "Matrix(float64)" in compact and "[label=h]" in compact   # h is an edge label
    full = sg.printing.pydotprint(y, compact=False, return_image=True).decode()
    # every intermediate variable is a node: dot's output (unnamed) and h
    assert 'label="Matrix(float64)" shape=ellipse' in full
    assert 'label="h\nMatrix(float64)" shape=ellipse' in full
    assert full.count("->") == compact.count("->") + 2
    ids = sg.printing.pydotprint(y, with_ids=True, return_image=True).decode()
    assert 'n0 [label="[n0] dot"' in ids and '[v1] x' in ids
    simple = sg.printing.pydotprint(y, var_with_name_simple=True, return_image=True).decode()
    assert "label=x " in simple and "label=W " in simple
    assert list(tmp_path.iterdir()) == []            # return_image writes nothing
    path = str(tmp_path / "g.png")
    assert sg.printing.pydotprint(y, outfile=path, print_output_file=True) == path
    assert capsys.readouterr().out == f"The output file is available at {path}\n"
    assert open(path, "rb").read().startswith(b"digraph")
    sg.printing.pydotprint(y, outfile=str(tmp_path / "quiet.svg"))
    assert capsys.readouterr().out == ""


def test_pydotprint_cosmetic_arguments_warn_once(dot_text, tmp_path):
    y = _small()
    with pytest.warns(UserWarning) as caught:
        sg.printing.pydotprint(y, outfile=str(tmp_path / "g.svg"), high_contrast=True,
                               colorCodes={"dot": "red"}, max_label_size=10)
    assert len(caught) == 1 and caught[0].filename == HERE
    assert str(caught[0].message).startswith(
        "pydotprint ignores high_contrast, colorCodes, max_label_size")
    with pytest.raises(TypeError, match="unexpected keyword arguments colour"):
        sg.printing.pydotprint(y, colour="red")


def test_pydotprint_scan_graphs(dot_text, tmp_path):
    x = T.dmatrix("x")
    W = sg.shared(np.ones((4, 3)), name="W")
    out, _ = sg.scan(lambda row, acc: acc + T.dot(row, W), sequences=x,
                     outputs_info=T.zeros((3,)), name="accumulate")
    path = str(tmp_path / "loop.svg")
    sg.printing.pydotprint(out, outfile=path)
    assert sorted(os.listdir(tmp_path)) == ["loop.svg"]
    sg.printing.pydotprint(out, outfile=path, scan_graphs=True)
    assert sorted(os.listdir(tmp_path)) == ["loop.svg", "loop_accumulate_0.svg"]
    step = (tmp_path / "loop_accumulate_0.svg").read_text()
    assert "label=dot" in step and "x[t]" in step


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz's dot is not installed")
def test_pydotprint_return_image_is_the_picture():
    png = sg.printing.pydotprint(_small(), format="png", return_image=True, compact=False)
    assert png.startswith(b"\x89PNG")


# ------------------------------------------------------------------ test values
@pytest.fixture
def test_values():
    """Sets config.compute_test_value for a test, restored after it."""
    def set_to(how):
        sg.config.compute_test_value = how
    with sg.config.change():
        yield set_to


def test_shape_error_at_the_building_line(test_values):
    test_values("raise")
    x, y = T.dmatrix("x"), T.dmatrix("y")
    x.tag.test_value = np.ones((3, 4))
    y.tag.test_value = np.ones((5, 2))
    with pytest.raises(ValueError) as caught:
        T.dot(x, y)
    assert str(caught.value).startswith(
        "dot(x, y) fails on the test values: x has shape (3, 4); y has shape (5, 2): ")
    with pytest.raises(ValueError, match=r"add\(x, y\) fails on the test values: x has shape "
                                         r"\(3, 4\); y has shape \(5, 2\)"):
        x + y
    test_values("off")   # off: nothing is computed, the graph builds
    assert T.dot(x, y).type.ndim == 2


def test_values_follow_the_graph(test_values):
    test_values("raise")
    x = T.fmatrix("x")
    x.tag.test_value = np.arange(12.0).reshape(3, 4)       # float64 in: converted
    assert x.tag.test_value.dtype == np.float32
    W = sg.shared(np.ones((4, 2), dtype="float32"), name="W")   # implicit test values
    h = T.tanh(T.dot(x, W) + 1)
    expected = np.tanh(np.arange(12.0, dtype="float32").reshape(3, 4) @ np.ones((4, 2)) + 1)
    assert h.tag.test_value.dtype == np.float32 and h.tag.test_value.shape == (3, 2)
    np.testing.assert_allclose(get_test_value(h), expected, rtol=1e-6)
    assert h.get_test_value() is h.tag.test_value and W.get_test_value().shape == (4, 2)
    assert T.constant(2.0).get_test_value() == 2.0
    g = sg.grad(h.sum(), W)
    assert g.tag.test_value.shape == (4, 2)
    # a copy recomputes them where it can
    doubled = sg.graph.clone_replace(h, {x: x * 2})
    assert doubled.tag.test_value.shape == (3, 2)
    # compiling computes none, and the function runs in every mode
    for mode in sorted({"python", *MODES}):
        f = sg.function([x], [h, g], mode=mode)
        out_h, out_g = f(np.arange(12.0, dtype="float32").reshape(3, 4))
        np.testing.assert_allclose(out_h, expected, rtol=1e-6)
        np.testing.assert_allclose(out_g, g.tag.test_value, rtol=1e-5)


def test_missing_test_values(test_values):
    w = T.dmatrix("w")
    test_values("raise")
    with pytest.raises(ValueError) as caught:
        w * 2
    text = str(caught.value)
    assert text.startswith("compute_test_value='raise': w, an input of mul(w, ")
    assert "has no test value" in text and HERE in text and text.endswith(
        "set w.tag.test_value = ...")
    test_values("warn")
    with pytest.warns(UserWarning, match="compute_test_value='warn': w, an input of") as caught:
        z = w * 2
    assert caught[0].filename == HERE                 # the user's line that built it
    assert "this node's value is not computed" in str(caught[0].message)
    assert not hasattr(z.tag, "test_value")
    test_values("ignore")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z = w * 2
    assert not hasattr(z.tag, "test_value")
    with pytest.raises(AttributeError, match="w has no test value; set w.tag.test_value"):
        get_test_value(w)
    with pytest.raises(AttributeError, match="w has no test value"):
        w.get_test_value()


def test_bad_test_value_names_the_variable(test_values):
    x = T.dmatrix("x")
    with pytest.raises(TypeError, match="the test value of x has 1 dimensions, expected 2"):
        x.tag.test_value = np.ones(3)
    r = T.drow("r")
    with pytest.raises(ValueError, match="the test value of r has length 3 on axis 0"):
        r.tag.test_value = np.ones((3, 2))
    with pytest.raises(ValueError, match="config.compute_test_value must be one of"):
        sg.config.compute_test_value = "on"


def test_scan_step_gets_test_values(test_values):
    test_values("raise")
    x = T.dmatrix("x")
    x.tag.test_value = np.ones((5, 4))
    W = sg.shared(np.ones((4, 3)), name="W")
    seen = []

    def step(row, acc):
        seen.append(row.tag.test_value.shape)
        return acc + T.dot(row, W)

    out, _ = sg.scan(step, sequences=x, outputs_info=T.zeros((3,)))
    assert seen == [(4,)] and out.tag.test_value.shape == (5, 3)
    np.testing.assert_allclose(out.tag.test_value[-1], np.full(3, 20.0))
    bad = sg.shared(np.ones((5, 3)), name="bad")
    with pytest.raises(ValueError, match=r"dot\(x\[t\], bad\) fails on the test values: "
                                         r"x\[t\] has shape \(4,\); bad has shape \(5, 3\)"):
        sg.scan(lambda row: T.dot(row, bad), sequences=x)


def test_jacobian_and_hessian_get_test_values(test_values):
    test_values("raise")
    x = T.dvector("x")
    x.tag.test_value = np.array([0.5, 1.5, 2.0])
    J = sg.gradient.jacobian(T.tanh(x) * x.sum(), x)   # its seed row gets row 0 of the identity
    t = np.tanh(x.tag.test_value)
    expected = np.diag((1 - t ** 2) * x.tag.test_value.sum()) + t[:, None]
    np.testing.assert_allclose(J.tag.test_value, expected)
    H = sg.gradient.hessian((x ** 3).sum(), x)
    np.testing.assert_allclose(H.tag.test_value, np.diag(6 * x.tag.test_value))
