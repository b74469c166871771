"""Every op of the public API against NumPy, driven by the rows of op_table.py.

For each row and dtype: compile, run on several input shapes, compare with the
NumPy reference, check the result's dtype and broadcastable flags against the
symbolic type, and check the inputs were not mutated.  Then bad inputs: wrong
rank, wrong dtype, mismatched shapes must raise clear errors.
"""
import zlib

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from backends import compare_backends
from op_table import ROWS
from symgraph.graph import Constant, toposort

# The ops of DESIGN section 1 that need a row (the list).
REQUIRED = """
+ - * / // % ** neg abs < <= > >= & | ^ ~ x[int] x[slice] T.set_subtensor T.inc_subtensor .T
.sum .mean .prod .max .min .argmax .argmin .var .std .all .any
.dimshuffle .reshape .flatten .astype .shape .clip .dot
T.dot T.tensordot T.outer T.exp T.log T.log1p T.expm1 T.sqrt T.sqr T.sin T.cos T.tan T.tanh T.sinh
T.cosh T.arcsin T.arccos T.arctan T.erf T.floor T.ceil T.round T.sign T.abs_ T.maximum T.minimum
T.clip T.switch T.eq T.neq T.lt T.le T.gt T.ge T.and_ T.or_ T.cast T.sum T.mean T.prod T.max T.min
T.argmax T.argmin T.var T.std T.concatenate T.stack T.arange T.zeros_like T.ones_like T.zeros
T.ones T.alloc T.fill
T.nnet.sigmoid T.nnet.softplus T.nnet.relu T.nnet.softmax T.nnet.log_softmax
T.nnet.binary_crossentropy
""".split() + ["x[int array]", "p[y, T.arange(n)]", "x[bool mask]",
              "T.nnet.categorical_crossentropy (one-hot)", "T.nnet.categorical_crossentropy (int targets)"]

CASES = [pytest.param(row, dtype, id=f"{row.name}-{dtype}") for row in ROWS for dtype in row.dtypes]


def _rng(row, dtype):
    return np.random.default_rng(zlib.crc32(f"{row.name}/{dtype}".encode()))


_COMPILED = {}


def _compile(row, dtype, shapes):
    """(function, symbolic output); one compilation per row, dtype, input types and mode,
    shared by the tests below (input checks happen before the backend runs)."""
    types = tuple(v.type for v in row.variables(dtype, shapes))
    key = (row.name, dtype, types, sg.config.mode)
    if key not in _COMPILED:
        inputs, out = row.graph(dtype, shapes)
        _COMPILED[key] = sg.function(inputs, out), out
    return _COMPILED[key]


def test_every_op_has_a_row():
    covered = {row.op for row in ROWS}
    assert [name for name in REQUIRED if name not in covered] == []


def test_rows_are_well_formed():
    for row in ROWS:
        assert row.dtypes and row.shapes, row
        if row.differentiable:
            assert "float64" in row.dtypes and row.wrt(), row


_BACKENDS = {}


@pytest.mark.parametrize("row,dtype", CASES)
def test_matches_numpy(row, dtype):
    # every backend under test agrees with the reference backend (compare_backends),
    # and the reference with NumPy
    rng = _rng(row, dtype)
    for shapes in row.shapes:
        key = (row.name, dtype, tuple(v.type for v in row.variables(dtype, shapes)))
        if key not in _BACKENDS:
            _BACKENDS[key] = (row.graph(dtype, shapes), {})
        (inputs, out), compiled = _BACKENDS[key]
        values = row.make_inputs(rng, dtype, shapes)
        before = [v.copy() for v in values]
        (result,) = compare_backends(inputs, [out], values, tol=row.rtol(out.dtype),
                                     cache=compiled)
        expected = row.reference(before)
        where = f"{row.name} [{dtype}] shapes {shapes}"

        assert isinstance(result, np.ndarray), where
        assert result.dtype == out.dtype, f"{where}: got {result.dtype}, symbolic type says {out.dtype}"
        assert expected.dtype == out.dtype, f"{where}: NumPy gives {expected.dtype}, symbolic {out.dtype}"
        assert result.shape == expected.shape, where
        assert result.ndim == out.ndim, where
        bad_flags = [a for a, (n, flag) in enumerate(zip(result.shape, out.broadcastable)) if flag and n != 1]
        assert not bad_flags, f"{where}: axes {bad_flags} flagged broadcastable but have length != 1"
        tol = row.rtol(out.dtype)
        if tol:
            np.testing.assert_allclose(result, expected, rtol=tol, atol=tol, err_msg=where)
        else:
            np.testing.assert_array_equal(result, expected, err_msg=where)
        for v, b in zip(values, before):
            assert v.dtype == b.dtype and np.array_equal(v, b), f"{where}: an input was mutated"


@pytest.mark.parametrize("row,dtype", CASES)
def test_every_node_agrees_with_its_type(row, dtype):
    # each op's perform against its make_node, on every intermediate of the unoptimized
    # graph: the compiled backends trust these types
    for shapes in row.shapes:
        inputs, out = row.graph(dtype, shapes)
        values = dict(zip(inputs, row.make_inputs(_rng(row, dtype), dtype, shapes)))
        for node in toposort(out):
            args = [v.data if isinstance(v, Constant) else values[v] for v in node.inputs]
            with np.errstate(all="ignore"):
                result = node.op.perform(*args)
            for var, value in zip(node.outputs, result if len(node.outputs) > 1 else (result,)):
                value = np.asarray(value)
                assert (value.dtype, value.ndim) == (var.dtype, var.ndim), (node, shapes)
                assert all(n == 1 for n, flag in zip(value.shape, var.broadcastable) if flag), (node, shapes)
                values[var] = value


def test_results_are_not_aliased_between_calls():
    # a returned array must not change when the function is called again
    for row in [r for r in ROWS if r.name in ("x.T", "x[1:3]", "T.fill(x, y)", "x + y")]:
        f, _ = _compile(row, "float64", row.shapes[0])
        rng = _rng(row, "float64")
        first_in = row.make_inputs(rng, "float64")
        first = f(*first_in)
        kept = first.copy()
        f(*row.make_inputs(rng, "float64"))
        np.testing.assert_array_equal(first, kept, err_msg=row.name)


WITH_INPUTS = [pytest.param(row, id=row.name) for row in ROWS if row.args]


@pytest.mark.parametrize("row", WITH_INPUTS)
def test_wrong_ndim_is_refused(row):
    dtype = row.dtypes[0]
    f, _ = _compile(row, dtype, row.shapes[0])
    values = row.make_inputs(_rng(row, dtype), dtype)
    values[0] = values[0][None]  # one axis too many
    with pytest.raises(TypeError, match="dimensions"):
        f(*values)


FLOAT32 = [pytest.param(row, id=row.name) for row in ROWS if "float32" in row.dtypes
           and "float32" in row.input_dtypes("float32")]


@pytest.mark.parametrize("row", FLOAT32)
def test_no_silent_downcast(row):
    f, _ = _compile(row, "float32", row.shapes[0])
    values = row.make_inputs(_rng(row, "float32"), "float32")
    k = row.input_dtypes("float32").index("float32")
    values[k] = values[k].astype("float64")
    with pytest.raises(TypeError, match="allow_input_downcast"):
        f(*values)


BAD = [pytest.param(row, id=row.name) for row in ROWS if row.bad_shapes]


@pytest.mark.parametrize("row", BAD)
def test_shape_mismatch_raises(row):
    dtype = row.dtypes[0]
    ranks = [len(s) for s in row.bad_shapes]
    shapes = next(s for s in row.shapes if [len(x) for x in s] == ranks)
    f, _ = _compile(row, dtype, shapes)
    values = row.make_inputs(_rng(row, dtype), dtype, row.bad_shapes)
    with pytest.raises(row.bad_error) as info:
        f(*values)
    # the message points at the line of op_table.py that built the failing node
    assert "op_table.py" in str(info.value), str(info.value)


# Misuse caught while the graph is built, with the exception NumPy would raise.
_x, _v, _s = T.dmatrix('x'), T.dvector('v'), T.dscalar('s')
BUILD_ERRORS = [
    ("float index", lambda: _x[1.5], IndexError),
    ("float slice bound", lambda: _v[0.5:2], IndexError),
    ("float index array", lambda: _x[T.dvector()], IndexError),
    ("too many indices", lambda: _v[0, 0], IndexError),
    ("two ellipses", lambda: _x[..., ..., 0], IndexError),
    ("dimshuffle drops a long axis", lambda: _x.dimshuffle(0), ValueError),
    ("dimshuffle repeats an axis", lambda: _x.dimshuffle(0, 0), ValueError),
    ("dimshuffle of a missing axis", lambda: _x.dimshuffle(2, 0), ValueError),
    ("reshape to a float size", lambda: _x.reshape((2.5, 2)), TypeError),
    ("reshape to a float scalar", lambda: _x.reshape((_s, 2)), TypeError),
    ("alloc of a float size", lambda: T.alloc(1.0, 2.5), TypeError),
    ("zeros of a float size", lambda: T.zeros((2, _s)), TypeError),
    ("concatenate of different ranks", lambda: T.concatenate([_x, _v]), ValueError),
    ("stack of different ranks", lambda: T.stack([_x, _v]), ValueError),
    ("sum over a missing axis", lambda: _x.sum(axis=2), ValueError),
    ("sum over a negative missing axis", lambda: _x.sum(axis=-3), ValueError),
    ("mean over a float axis", lambda: _x.mean(axis=1.5), TypeError),
    ("argmax over two axes", lambda: T.argmax(_x, axis=(0, 1)), ValueError),
    ("softmax of a scalar", lambda: T.nnet.softmax(_s), TypeError),
    ("cast to complex", lambda: T.cast(_x, "complex64"), TypeError),
    ("set_subtensor of a non-indexed tensor", lambda: T.set_subtensor(_x, 1.0), TypeError),
    ("set_subtensor with too many dims", lambda: T.set_subtensor(_x[0], _x), ValueError),
    ("crossentropy with float class indices", lambda: T.nnet.categorical_crossentropy(_x, _v), TypeError),
    ("tensor plus a string", lambda: _x + "a", TypeError),
    ("tensor plus None", lambda: _x + None, TypeError),
    ("bitwise and of floats", lambda: _x & _x, TypeError),
    ("switch with two inputs", lambda: T.switch(_x, _x), TypeError),
    ("clip with two inputs", lambda: T.clip(_x, 1), TypeError),
    ("flatten to more dims", lambda: _x.flatten(3), ValueError),
    ("alloc with too few sizes", lambda: T.alloc(_x, 3), ValueError),
    ("arange of a vector", lambda: T.arange(_v), TypeError),
    ("tensordot with unequal axes", lambda: T.tensordot(_x, _x, axes=[[0, 1], [0]]), ValueError),
    ("truth value", lambda: bool(_x > 0), TypeError),
]


@pytest.mark.parametrize("build,error", [pytest.param(b, e, id=n) for n, b, e in BUILD_ERRORS])
def test_build_errors(build, error):
    with pytest.raises(error):
        build()


# Runtime checks (T.check_and_raise) and the tensordot axis checks built from them, in both
# backends: the error names the line that built the check.
@pytest.mark.parametrize("mode", ["python", "numba"])
def test_tensordot_with_mismatched_paired_axes_raises(mode):
    a, b = T.dtensor3("a"), T.dtensor3("b")
    out = T.tensordot(a, b, axes=[[1, 2], [1, 0]])   # the line the error must name
    f = sg.function([a, b], out, mode=mode)
    good = np.arange(60.0).reshape(4, 3, 5)
    av = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_allclose(f(av, good), np.tensordot(av, good, axes=[[1, 2], [1, 0]]))
    # lengths (3, 4) against (4, 3): the products agree, NumPy says shape-mismatch for sum
    bad = np.arange(60.0).reshape(3, 4, 5)
    with pytest.raises(ValueError, match="shape-mismatch for sum"):
        np.tensordot(av, bad, axes=[[1, 2], [1, 0]])
    with pytest.raises(ValueError) as info:
        f(av, bad)
    message = str(info.value)
    assert "tensordot: shape-mismatch for sum: axis 1 of a and axis 1 of b" in message, message
    assert "out = T.tensordot(a, b, axes=[[1, 2], [1, 0]])" in message, message
    assert "test_ops.py" in message, message
    assert getattr(info.value, "node", None) is not None


@pytest.mark.parametrize("mode", ["python", "numba"])
@pytest.mark.parametrize("wrt", [0, 1])
def test_tensordot_gradient_with_mismatched_paired_axes_raises(mode, wrt):
    # each gradient is computed from the other operand: both carry the checks
    a, b = T.dtensor3("a"), T.dtensor3("b")
    g = T.grad(T.tensordot(a, b, axes=[[1, 2], [1, 0]]).sum(), [a, b][wrt])
    f = sg.function([a, b], g, mode=mode)
    with pytest.raises(ValueError, match="axis 1 of a and axis 1 of b"):
        f(np.ones((2, 3, 4)), np.ones((3, 4, 5)))


@pytest.mark.parametrize("mode", ["python", "numba"])
def test_check_and_raise_passes_the_value_or_raises_its_message(mode):
    x = T.dmatrix("x")
    k = T.lscalar("k")
    y = T.check_and_raise(x * 2, x.shape[0] > 1, k, message="two rows and k")  # the user line
    f = sg.function([x, k], y, mode=mode)
    np.testing.assert_array_equal(f(np.ones((2, 3)), 5), np.full((2, 3), 2.0))
    for args in [(np.ones((1, 3)), 5), (np.ones((2, 3)), 0)]:
        with pytest.raises(ValueError, match="two rows and k") as info:
            f(*args)
        assert 'message="two rows and k")  # the user line' in str(info.value), str(info.value)


def test_check_and_raise_refuses_float_or_non_scalar_conditions():
    x = T.dvector("x")
    with pytest.raises(TypeError, match="bool or integer scalar"):
        T.check_and_raise(x, x.sum())
    with pytest.raises(TypeError, match="bool or integer scalar"):
        T.check_and_raise(x, x > 0)
    with pytest.raises(ValueError, match="at least one condition"):
        T.check_and_raise(x)
