"""Shapes without data: every op's ``infer_shape``, the rewrite that reads a
computed variable's shape from its inputs' shapes, ``T.specify_shape``,
``T.join``, the padding and broadcasting helpers, and types as values
(``T.dmatrix`` is a TensorType)."""
import importlib
import pickle
import pkgutil

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile.python import compile_python
from symgraph.graph import FunctionGraph, graph_inputs, toposort
from symgraph.ops.base import Op
from symgraph.ops.shape import MakeVector, ShapeI
from symgraph.optimize import optimize_outputs
from symgraph.optimize.canonical import input_lengths

from backends import compare_backends
from op_table import ROWS


# ----------------------------------------------------------------- every op has infer_shape
def _all_op_classes():
    import symgraph
    for info in pkgutil.walk_packages(symgraph.__path__, "symgraph."):
        if "numba_cpu" not in info.name and "numba_cuda" not in info.name:
            importlib.import_module(info.name)
    found, stack = set(), [Op]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    # symgraph's own ops: other test modules define ops of their own to test
    # the machinery (an op without a shape rule among them), and the whole
    # suite imports those too
    ours = [c for c in found if c.__module__.startswith("symgraph.")]
    return sorted(ours, key=lambda c: (c.__module__, c.__name__))


def test_every_op_class_defines_infer_shape():
    # defined by the class or a base below Op, or given by the shape_of fact
    # (which the default Op.infer_shape reads); bases that make no nodes aside
    classes = [c for c in _all_op_classes() if c.make_node is not Op.make_node]
    assert len(classes) > 30
    missing = [f"{c.__module__}.{c.__name__}" for c in classes
               if c.infer_shape is Op.infer_shape and c.shape_of is None]
    assert not missing, f"ops without infer_shape: {missing}"


# ----------------------------------------------------------------- inferred == real, per row
def _run(inputs, outputs, values):
    """The graph run as built (no optimizer) by the reference backend."""
    return compile_python(FunctionGraph(list(inputs), list(outputs)))(list(values))


def _inferred(out):
    """The lengths out's op infers from its inputs' lengths (None where unknown)."""
    node = out.owner
    shapes = node.op.infer_shape(node, [input_lengths(v) for v in node.inputs])
    if shapes is None:
        return None
    return shapes[node.outputs.index(out)]


CASES = [(row, shapes) for row in ROWS for shapes in row.shapes]


@pytest.mark.parametrize("row,shapes", CASES,
                         ids=[f"{r.name}-{'x'.join(map(str, s))}" for r, s in CASES])
def test_inferred_shape_is_the_real_shape(row, shapes):
    dtype = row.dtypes[0]
    inputs, out = row.graph(dtype, shapes)
    values = row.make_inputs(np.random.default_rng(0), dtype, shapes)
    if out.owner is None:
        pytest.skip("the row builds no node")
    lengths = _inferred(out)
    if lengths is None:
        # only ops whose shape needs their inner graphs' run may decline outright
        assert type(out.owner.op).__name__ in ("Scan", "IfElse"), out.owner.op
        return
    assert len(lengths) == out.ndim
    known = [n for n in lengths if n is not None]
    for n in known:
        assert n.ndim == 0 and n.dtype.startswith("int"), n.type
    real, *got = _run(inputs, [out] + known, values)
    expected = [n for n, inferred in zip(np.shape(real), lengths) if inferred is not None]
    assert [int(g) for g in got] == expected, (np.shape(real), lengths)


ROW_BY_NAME = {r.name: r for r in ROWS}
# rows whose shape the optimizer must read without computing the result
# (the op's own shape rule and those of the ops below it)
NO_COMPUTATION = ["T.concatenate axis=0", "T.dot", "sum axis=0", "x[1:, ::2]", "x[idx, 1:3]",
                  "reshape((2, -1))", "T.tensordot axes=2", "p[y, T.arange(n)]"]


@pytest.mark.parametrize("name", NO_COMPUTATION)
def test_optimized_shape_reads_only_input_shapes(name):
    row = ROW_BY_NAME[name]
    dtype = row.dtypes[0]
    inputs, out = row.graph(dtype)
    (shape,) = optimize_outputs([out.shape])
    ops = {type(n.op).__name__ for n in toposort([shape])}
    assert ops <= {"ShapeI", "MakeVector", "Add", "Sub", "Mul", "Maximum", "Minimum", "Switch",
                   "LT", "IntDiv", "Fused", "Neg"}, ops
    values = row.make_inputs(np.random.default_rng(0), dtype)
    used = graph_inputs([shape])
    got = compile_python(FunctionGraph(used, [shape]))(
        [v for i, v in zip(inputs, values) if i in used])
    real = _run(inputs, [out], values)[0]
    assert tuple(got[0]) == np.shape(real)


def test_join_shape_compiles_to_input_shapes_only():
    # the "done when": function([x, y], z.shape) for a join of two matrices
    x, y = T.dmatrices("x", "y")
    z = T.join(0, x, y)
    a, b = np.ones((2, 3)), np.ones((4, 3))
    for mode in ("python", "numba"):
        f = sg.function([x, y], z.shape, mode=mode)
        text = sg.debugprint(f, file="str")
        assert "join" not in text and "shape_i{0}" in text, text
        assert {str(n.op) for n in f.graph.toposort()} <= {"shape_i{0}", "shape_i{1}", "add",
                                                           "makevector"}
        assert f(a, b).tolist() == [6, 3]


@pytest.mark.parametrize("step", [1, 2, -1, -3])
def test_slice_lengths_follow_python(step):
    # symbolic bounds, positive and negative, beyond the ends: len(range(*slice.indices(n)))
    v, start, stop = T.dvector("v"), T.lscalar("start"), T.lscalar("stop")
    f = sg.function([v, start, stop], v[start:stop:step].shape, mode="python")
    assert "subtensor" not in sg.debugprint(f, file="str")
    for n in (0, 1, 5):
        vec = np.zeros(n)
        for a in range(-7, 8):
            for b in range(-7, 8):
                assert f(vec, a, b)[0] == len(range(*slice(a, b, step).indices(n))), (n, a, b)


def test_shape_expressions_compile_in_numba():
    # the lengths the rules build (clipped slice bounds, a -1 of reshape, arange's
    # count) run in the compiled program too
    v, m = T.dvector("v"), T.dmatrix("m")
    start, stop = T.lscalars("start", "stop")
    outs = [v[start:stop:2].shape, v[::-1][1:].shape, m.reshape((m.shape[1], -1)).shape,
            T.arange(start, stop, 3).shape, T.dot(m, m.T)[1:, None].shape]
    values = [np.zeros(7), np.zeros((3, 4)), -5, 6]
    f = sg.function([v, m, start, stop], outs, mode="numba")
    got = [g.tolist() for g in f(*values)]
    assert got == [[2], [6], [4, 3], [4], [2, 1, 3]]
    assert not any(str(n.op) in ("subtensor", "reshape{2}", "dot", "arange")
                   for n in f.graph.toposort())


def test_shapes_inside_larger_graphs():
    # a shape used in arithmetic with the values (zeros_like of a join, a mean's count)
    x, y = T.dmatrices("x", "y")
    z = T.join(1, x, y)
    out = T.zeros((z.shape[0], z.shape[1] + 1)) + T.cast(z.shape[1], "float64")
    compare_backends([x, y], [out], [np.ones((2, 3)), np.ones((2, 1))])


def test_value_dependent_shapes_stay_computed():
    # a boolean mask's length is known only from its values: the mask is read
    v = T.dvector("v")
    f = sg.function([v], v[v > 0].shape, mode="python")
    assert f(np.array([1.0, -1.0, 2.0])).tolist() == [2]


# ----------------------------------------------------------------- specify_shape
def test_specify_shape_passes_and_informs_inference():
    x = T.dmatrix("x")
    n = T.lscalar("n")
    y = T.specify_shape(T.exp(x), (2, n))
    (shape,) = optimize_outputs([y.shape])
    assert not any(str(node.op) in ("exp", "specify_shape") for node in toposort([shape]))
    assert sg.pp(shape) == "makevector(2, n)"
    (fixed,) = optimize_outputs([T.specify_shape(x, (2, 3)).shape])
    assert fixed.data.tolist() == [2, 3]
    free = T.specify_shape(x, (None, 3))
    assert type(free.owner.op).__name__ == "SpecifyShape"
    assert T.specify_shape(x, T.dmatrix("other").shape).owner.inputs[1:] != []
    value = np.arange(6.0).reshape(2, 3)
    compare_backends([x, n], [y * 2, y.shape, free], [value, 3])


def test_specify_shape_checks_at_run_time_naming_the_variable():
    x = T.dmatrix("weights")
    y = T.specify_shape(x, (2, 3)) * 2   # the line the error names
    for mode in ("python", "numba"):
        f = sg.function([x], y, mode=mode)
        assert f(np.ones((2, 3))).shape == (2, 3)
        with pytest.raises(ValueError) as info:
            f(np.ones((3, 3)))
        text = str(info.value)
        assert "specify_shape" in text and "weights" in text, text
        assert "test_shapes.py" in text and "y = T.specify_shape(x, (2, 3)) * 2" in text, text


def test_specify_shape_names_an_unnamed_variable_by_its_expression():
    x = T.dvector("x")
    f = sg.function([x], T.specify_shape(T.exp(x), (3,)), mode="python")
    with pytest.raises(ValueError, match=r"exp\(x\) has shape \(2,\)"):
        f(np.ones(2))


@pytest.mark.parametrize("shape,error", [
    ((2,), "has 2 dimensions but the shape"),
    ((2, -1), "must be a length"),
    ((2, 2.5), "must be a length"),
])
def test_specify_shape_refuses_bad_shapes(shape, error):
    with pytest.raises(ValueError, match=error):
        T.specify_shape(T.dmatrix("x"), shape)


def test_specify_shape_refuses_a_length_against_the_flags():
    with pytest.raises(ValueError, match="flagged broadcastable"):
        T.specify_shape(T.drow("r"), (2, 3))


def test_specify_shape_gradient():
    sg.verify_grad(lambda a: T.sum(T.specify_shape(a, (2, 3)) ** 2),
                   [np.random.default_rng(1).normal(size=(2, 3))])


# ----------------------------------------------------------------- join, pads, flags
def test_join_takes_theanos_argument_order():
    x, y, z = T.dmatrices("x", "y", "z")
    j = T.join(1, x, y, z)
    assert str(j.owner.op) == "join{axis=1}"
    assert T.join(0, x) is x and str(T.join(-1, [x, y]).owner.op) == "join{axis=1}"
    with pytest.raises(TypeError, match="axis comes first"):
        T.join(x, y)
    values = [np.ones((2, 1)), np.zeros((2, 2)), np.full((2, 3), 2.0)]
    (got,) = compare_backends([x, y, z], [j], values)
    np.testing.assert_array_equal(got, np.concatenate(values, axis=1))


def test_pads_and_broadcast_flags():
    v, m = T.dvector("v"), T.dmatrix("m")
    assert T.shape_padleft(v).broadcastable == (True, False)
    assert T.shape_padleft(v, 2).broadcastable == (True, True, False)
    assert T.shape_padright(v).broadcastable == (False, True)
    assert T.shape_padright(m, 2).broadcastable == (False, False, True, True)
    assert T.shape_padaxis(m, 1).broadcastable == (False, True, False)
    assert T.shape_padaxis(m, -1).broadcastable == (False, False, True)
    col = T.addbroadcast(m, 1)
    assert col.broadcastable == (False, True)
    assert T.addbroadcast(m, -2).broadcastable == (True, False)
    # Theano's unbroadcast clears flags; patternbroadcast sets them all
    assert T.unbroadcast(col, 1).broadcastable == (False, False)
    assert T.unbroadcast(T.drow("r"), 0, 1).broadcastable == (False, False)
    assert T.unbroadcast(m, 0) is m
    assert T.patternbroadcast(m, (True, False)).broadcastable == (True, False)
    with pytest.raises(ValueError, match="2 dimensions but 1 flags"):
        T.patternbroadcast(m, (True,))
    with pytest.raises(ValueError, match="axis 2 does not exist"):
        T.addbroadcast(m, 2)
    # values: padded vectors broadcast along their new axes; a matrix flagged
    # broadcastable on axis 1 stretches along it
    c = T.dmatrix("c")
    outs = [T.shape_padleft(v) + m, T.shape_padright(v) * m, T.addbroadcast(c, 1) + m,
            T.unbroadcast(T.addbroadcast(c, 1), 1)]
    values = [np.arange(3.0), np.arange(9.0).reshape(3, 3), np.arange(3.0).reshape(3, 1)]
    got = compare_backends([v, m, c], outs, values)
    np.testing.assert_array_equal(got[2], values[2] + values[1])


def test_addbroadcast_checks_the_length_at_run_time():
    m = T.dmatrix("m")
    for mode in ("python", "numba"):
        f = sg.function([m], T.addbroadcast(m, 1) * 2, mode=mode)
        assert f(np.ones((2, 1))).shape == (2, 1)
        with pytest.raises(ValueError, match="length"):
            f(np.ones((2, 3)))


def test_unbroadcast_with_a_variable_is_the_gradient_helper():
    g, like = T.dmatrix("g"), T.drow("like")
    out = T.unbroadcast(g, like)
    assert out.type == like.type
    (got,) = compare_backends([g], [out], [np.ones((3, 2))])
    np.testing.assert_array_equal(got, [[3.0, 3.0]])


# ----------------------------------------------------------------- types as values
PREFIXES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64", "f": "float32", "d": "float64"}
KINDS = {"scalar": (), "vector": (False,), "matrix": (False, False), "row": (True, False),
         "col": (False, True), "tensor3": (False,) * 3, "tensor4": (False,) * 4}


@pytest.mark.parametrize("kind", KINDS)
def test_prefixed_constructors_are_types(kind):
    for prefix, dtype in PREFIXES.items():
        ttype = getattr(T, prefix + kind)
        assert isinstance(ttype, T.TensorType)
        assert ttype == T.TensorType(dtype, KINDS[kind])
        x = ttype("x")
        assert x.type is ttype and x.name == "x" and x.dtype == dtype
        assert ttype().name is None
        assert T.TensorType(dtype, KINDS[kind])("y").type == ttype
        plural = getattr(T, prefix + {"matrix": "matrices"}.get(kind, kind + "s"))
        a, b = plural("a", "b")
        assert a.type is ttype and b.name == "b"


def test_types_print_and_pickle_readably():
    assert str(T.dscalar) == "Scalar(float64)" and str(T.fmatrix) == "Matrix(float32)"
    assert str(T.lrow) == "Row(int64)" and str(T.icol) == "Col(int32)"
    assert "int32" in repr(T.imatrix)
    assert T.imatrix.__name__ == "imatrix" and "int32 matrix" in T.imatrix.__doc__
    copy = pickle.loads(pickle.dumps(T.fvector))
    assert copy == T.fvector and copy.__name__ == "fvector"
    assert hash(T.dmatrix) == hash(T.TensorType("float64", (False, False)))


def test_floatx_makers_and_plural_dtypes_keep_working():
    assert T.matrix("m").type == T.TensorType(sg.config.floatX, (False, False))
    assert T.matrix("m", dtype="int32").type is not T.imatrix
    assert T.matrix("m", dtype="int32").type == T.imatrix
    assert T.iscalars("a", dtype="int64")[0].type == T.lscalar
    assert len(T.dvectors(3)) == 3
