"""debugprint, pp and the graphviz pictures."""
import io
import shutil
import sys
import tempfile
from dataclasses import dataclass

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.ops.base import Op
from symgraph.printing import _tag

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' is not installed")


def layer():
    x = T.dmatrix("x")
    W1 = sg.shared(np.ones((3, 4)), name="W1")
    b1 = sg.shared(np.zeros((3, 1)), name="b1", broadcastable=(False, True))
    z1 = T.dot(W1, x) + b1
    z1.name = "z1"
    out = T.nnet.sigmoid(z1)
    out.name = "tilde_z1"
    return x, W1, b1, out


LAYER = """\
sigmoid [id A] 'tilde_z1'
 └─ add [id B] 'z1'
    ├─ dot [id C]
    │  ├─ W1 [id D]
    │  └─ x [id E]
    └─ b1 [id F]
"""


# --------------------------------------------------------------------- debugprint
def test_debugprint_layer():
    assert sg.debugprint(layer()[-1], file="str") == LAYER


def test_debugprint_shared_subexpression_printed_once():
    x = T.dmatrix("x")
    e = T.exp(x)
    assert sg.debugprint(e * e + e, file="str") == """\
add [id A]
 ├─ mul [id B]
 │  ├─ exp [id C]
 │  │  └─ x [id D]
 │  └─ exp [id C] ···
 └─ exp [id C] ···
"""


def test_debugprint_list_shares_tags_and_prints_types():
    x = T.dvector("x")
    e = T.exp(x)
    assert sg.debugprint([e, -e], file="str", print_type=True) == """\
exp [id A] <Vector(float64)>
 └─ x [id B] <Vector(float64)>
neg [id C] <Vector(float64)>
 └─ exp [id A] <Vector(float64)> ···
"""


def test_debugprint_constants_and_unnamed_inputs():
    v = T.dvector()
    big = T.constant(np.zeros((3, 4)))
    text = sg.debugprint([v * 2.5, T.dot(big, T.dmatrix("m"))], file="str")
    assert text == """\
mul [id A]
 ├─ <Vector(float64)> [id B]
 └─ dimshuffle{x} [id C]
    └─ 2.5 [id D]
dot [id E]
 ├─ <constant float64 (3, 4)> [id F]
 └─ m [id G]
"""


def test_debugprint_check_and_raise():
    x = T.dvector("x")
    assert sg.debugprint(T.check_and_raise(x, x.shape[0] > 1), file="str") == """\
check_and_raise [id A]
 ├─ x [id B]
 └─ gt [id C]
    ├─ shape_i{0} [id D]
    │  └─ x [id B]
    └─ 1 [id E]
"""


@dataclass(frozen=True)
class SplitHalves(Op):
    """A two-output op, to check the .0/.1 suffixes."""
    nout = 2

    def make_node(self, x):
        return self.apply([x], [x.type, x.type])


def test_debugprint_multiple_outputs():
    x = T.dvector("x")
    lo, hi = SplitHalves()(x)
    assert sg.debugprint(lo + hi, file="str") == """\
add [id A]
 ├─ splithalves.0 [id B]
 │  └─ x [id C]
 └─ splithalves.1 [id B] ···
"""
    assert sg.pp(lo * hi) == "(splithalves.0(x) * splithalves.1(x))"


def test_debugprint_function_marks_updates():
    x, W1, b1, out = layer()
    with sg.config.change(optimizer="None"):
        f = sg.function([x], out, updates=[(W1, W1 - out.sum())], mode="python")
    assert sg.debugprint(f, file="str") == LAYER + """\
sub [id G]  <- update of W1
 ├─ W1 [id D]
 └─ dimshuffle{x,x} [id H]
    └─ sum{axis=[0, 1]} [id I]
       └─ sigmoid [id A] 'tilde_z1' ···
"""


def test_debugprint_optimized_function():
    # whatever the passes do, every output and the update are shown
    x, W1, b1, out = layer()
    f = sg.function([x], [out, out.sum()], updates=[(b1, b1 * 0.5)], mode="python")
    text = sg.debugprint(f, file="str")
    roots = [line for line in text.splitlines() if not line.startswith(" ")]
    assert len(roots) == 3
    assert roots[-1].endswith("<- update of b1")
    assert "[id A]" in roots[0]


def test_debugprint_file_targets(capsys):
    out = layer()[-1]
    assert sg.debugprint(out) is sys.stdout
    assert capsys.readouterr().out == LAYER
    buf = io.StringIO()
    assert sg.debugprint(out, file=buf) is buf
    assert buf.getvalue() == LAYER
    assert sg.debugprint(sg.FunctionGraph([], [T.constant(1.0) + 2.0]), file="str") == """\
add [id A]
 ├─ 1.0 [id B]
 └─ 2.0 [id C]
"""
    with pytest.raises(TypeError, match="cannot print"):
        sg.debugprint(42)


def test_debugprint_deep_chain_does_not_recurse():
    x = T.dscalar("x")
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = T.exp(y)
    lines = sg.debugprint(y, file="str").splitlines()
    assert len(lines) == 3 * sys.getrecursionlimit() + 1
    assert lines[-1].strip() == "└─ x [id " + _tag(len(lines) - 1) + "]"


@pytest.mark.parametrize("n, tag", [(0, "A"), (25, "Z"), (26, "AA"), (27, "AB"), (51, "AZ"),
                                    (52, "BA"), (701, "ZZ"), (702, "AAA")])
def test_tags_count_like_spreadsheet_columns(n, tag):
    assert _tag(n) == tag


# --------------------------------------------------------------------- pp
x, y, z = T.dmatrices("x", "y", "z")
v = T.dvector("v")
i = T.iscalar("i")

PP_CASES = [
    (x + y, "(x + y)"),
    (T.add(x, y, z), "(x + y + z)"),
    (x * y - z / 2, "((x * y) - (z / 2.0))"),
    (-x, "-x"),
    (T.exp(x), "exp(x)"),
    (T.exp(x + y), "exp(x + y)"),
    (T.dot(x, v), "dot(x, v)"),
    (x.T, "x.T"),
    ((x + y).T, "(x + y).T"),
    (x + 1, "(x + 1.0)"),
    (x[1:3], "x[1:3]"),
    (x[::2, i], "x[::2, i]"),
    (x[:, None], "x[:, None]"),
    (x[i + 1:], "x[(i + 1):]"),
    (v[T.arange(2)], "v[arange(0, 2, 1)]"),
    (T.set_subtensor(x[0], v), "set_subtensor(x[0], v)"),
    (x.shape[0], "x.shape[0]"),
    (x.shape, "x.shape"),
    (T.check_and_raise(x + y, x.shape[0] > 1), "check_and_raise(x + y, x.shape[0] > 1)"),
    (x.sum(axis=0), "sum{axis=[0]}(x)"),
    (T.maximum(x, -y), "maximum(x, -y)"),
    (x.dimshuffle(1, "x", 0), "dimshuffle{1,x,0}(x)"),
    (T.constant(np.arange(6).reshape(2, 3)) + x, "([[0, 1, 2], [3, 4, 5]] + x)"),
    (T.dmatrix() * 2, "(<Matrix(float64)> * 2.0)"),
]


@pytest.mark.parametrize("expr, text", PP_CASES, ids=[t for _, t in PP_CASES])
def test_pp(expr, text):
    assert sg.pp(expr) == text
    assert sg.printing.pprint(expr) == text


def test_pp_named_intermediate_is_expanded_and_repr_uses_name():
    out = layer()[-1]
    assert sg.pp(out) == "sigmoid(dot(W1, x) + b1)"
    assert repr(out) == "tilde_z1"
    assert repr(T.exp(x) + 1) == "(exp(x) + 1.0)"


# --------------------------------------------------------------------- graphviz
def test_to_dot_content():
    x_, W1, b1, out = layer()
    f = sg.function([x_], out, updates=[(W1, W1 * 2.0)], mode="python")
    dot = sg.printing.to_dot(f)
    assert dot.startswith("digraph")
    for fragment in ["label=dot", "shape=box", "shape=ellipse", "tooltip=shared",
                     "tooltip=input", "update of W1", "Col(float64)", "label=z1"]:
        assert fragment in dot, fragment
    # dot's two inputs are numbered; sigmoid's single input is not
    assert dot.count("[label=0]") >= 1 and dot.count("[label=1]") >= 1
    assert "tooltip=constant" in sg.printing.to_dot(out * 3.0)


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<svg"), (".png", b"\x89PNG")])
def test_pydotprint_writes_picture(tmp_path, suffix, magic):
    path = tmp_path / ("graph" + suffix)
    assert sg.printing.pydotprint(layer()[-1], outfile=str(path)) == str(path)
    assert magic in path.read_bytes()[:400]


@needs_dot
def test_pydotprint_default_file_and_jupyter_svg(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    x_, W1, b1, out = layer()
    f = sg.function([x_], out, mode="python")
    path = sg.printing.pydotprint(f)
    assert path.endswith(".svg") and path.startswith(str(tmp_path))
    svg = out._repr_svg_()
    assert svg.startswith("<?xml") and "<svg" in svg and "sigmoid" in svg


def test_missing_dot_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", "")  # no 'dot' to be found
    out = layer()[-1]
    with pytest.raises(RuntimeError, match="apt-get install graphviz"):
        sg.printing.pydotprint(out, outfile=str(tmp_path / "g.svg"))
    assert not (tmp_path / "g.svg").exists()
    assert "sigmoid" in sg.printing.to_dot(out)
    assert out._repr_svg_() is None
