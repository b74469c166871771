"""Issue 11, bad values at run time: no input crashes the process (shape
arithmetic is checked before it is trusted), integer powers and divisions
follow NumPy, reshape's ndim is honoured or refused, and inputs that are not
arrays of numbers get errors naming the input and the fix.  Every test runs in
both modes."""
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T

MODES = ["python", "numba"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _line_of(marker):
    """The line of this file holding ``marker``: errors must name it."""
    with open(__file__) as f:
        return next(k for k, line in enumerate(f, 1) if marker in line and "_line_of" not in line)


def _names_line(exc, marker):
    return f'{os.path.basename(__file__)}", line {_line_of(marker)}' in str(exc)


# ------------------------------------------------------------------ no crash
# Each case runs in a child process, so a crash (SIGSEGV) fails one test
# instead of killing the suite.  The graph is built on the line marked BUILD,
# which the error must name.
CHILD = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    import symgraph as sg
    import symgraph.tensor as T
    MODE = sys.argv[1]
    warnings.simplefilter("ignore")
    try:
        {build}  # BUILD
        {call}
    except Exception as exc:
        print(json.dumps({{"type": type(exc).__name__, "message": str(exc)}}))
    else:
        print(json.dumps({{"type": None, "message": "no error"}}))
""")

# (id, statements building f on one line, the call that must fail cleanly)
CRASH_CASES = [
    # (2**62 + 1) * 4 wraps to 4 in int64: the reshape was accepted and the sum
    # read far past the buffer (SIGSEGV in numba mode)
    ("reshape whose size wraps to the array's",
     "x = T.dvector('x'); n = T.lscalar('n'); f = sg.function([x, n], T.sum(x.reshape((n, 4))), mode=MODE)",
     "f(np.arange(4.0), 2**62 + 1)"),
    ("reshape of an empty array whose size wraps to 0",
     "x = T.dvector('x'); n = T.lscalar('n'); f = sg.function([x, n], T.sum(x.reshape((n, n, 4))), mode=MODE)",
     "f(np.zeros(0), 2**31)"),
    ("reshape with -1 whose known sizes wrap to 0",
     "x = T.dvector('x'); n = T.lscalar('n'); f = sg.function([x, n], T.sum(x.reshape((n, -1, n))), mode=MODE)",
     "f(np.zeros(0), 2**32)"),
    ("reshape to a symbolic shape vector shorter than ndim",
     "x = T.dvector('x'); s = T.lvector('s'); f = sg.function([x, s], T.sum(x.reshape(s, ndim=3)), mode=MODE)",
     "f(np.arange(4.0), np.array([4]))"),
    ("alloc of a negative size",
     "n = T.lscalar('n'); f = sg.function([n], T.sum(T.alloc(1.0, n, 4)), mode=MODE)",
     "f(-2)"),
    ("alloc whose size wraps",
     "n = T.lscalar('n'); f = sg.function([n], T.sum(T.alloc(1.0, n, n, n, n)), mode=MODE)",
     "f(2**16)"),
    ("arange whose length exceeds int64",
     "n = T.lscalar('n'); f = sg.function([n], T.sum(T.arange(-n, n)), mode=MODE)",
     "f(2**62 + 1)"),
    ("arange to infinity",
     "d = T.dscalar('d'); f = sg.function([d], T.sum(T.arange(0.0, d, 1.0)), mode=MODE)",
     "f(np.inf)"),
    ("arange to nan",
     "d = T.dscalar('d'); f = sg.function([d], T.sum(T.arange(0.0, d, 1.0)), mode=MODE)",
     "f(np.nan)"),
    ("concatenate of empty arrays whose lengths wrap",
     "x = T.dvector('x'); n = T.lscalar('n'); y = x.reshape((0, n)); "
     "f = sg.function([x, n], T.sum(T.concatenate([y, y, y, y], axis=1)), mode=MODE)",
     "f(np.zeros(0), 2**62)"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build,call", [pytest.param(b, c, id=i) for i, b, c in CRASH_CASES])
def test_bad_sizes_raise_instead_of_crashing(tmp_path, mode, build, call):
    script = tmp_path / "child.py"
    script.write_text(CHILD.format(build=build, call=call))
    line = next(k for k, text in enumerate(script.read_text().splitlines(), 1) if "# BUILD" in text)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, str(script), mode], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, f"the child died (signal {-proc.returncode}): {proc.stderr[-2000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["type"] in ("ValueError", "MemoryError"), result
    assert f'child.py", line {line}' in result["message"], result["message"]


# ------------------------------------------------------------------ powers and divisions
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8"])
def test_integers_to_a_negative_integer_power_raise(mode, dtype):
    a, b = T.vector('a', dtype=dtype), T.vector('b', dtype=dtype)
    f = sg.function([a, b], [a ** b, (a + 1) ** (b - 1)], mode=mode)  # NEGATIVE POWER
    np.testing.assert_array_equal(f(np.array([2, 3], dtype), np.array([3, 1], dtype))[0], [8, 3])
    with pytest.raises(ValueError, match="Integers to negative integer powers") as info:
        f(np.array([2, 3], dtype), np.array([1, -1], dtype))
    assert _names_line(info.value, "# NEGATIVE POWER"), str(info.value)
    with pytest.raises(ValueError, match="Integers to negative integer powers"):
        f(np.array([2, 3], dtype), np.array([0, 1], dtype))      # b - 1 is -1 inside the fused loop


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_integer_power_changes_no_shared_value(mode):
    b = T.lvector('b')
    W = sg.shared(np.array([2, 3, 4]), name='W')
    f = sg.function([b], [], updates=[(W, W ** b + 1)], mode=mode)
    with pytest.raises(ValueError, match="negative integer powers"):
        f(np.array([1, 2, -1]))                # the last element fails after two were computed
    np.testing.assert_array_equal(W.get_value(), [2, 3, 4])
    f(np.array([1, 2, 0]))
    np.testing.assert_array_equal(W.get_value(), [3, 10, 2])


@pytest.mark.filterwarnings("ignore:divide by zero")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("base,exponent", [("float64", "int64"), ("float32", "int64"),
                                           ("float32", "int8"), ("int64", "float64")])
def test_float_powers_with_integer_operands_follow_numpy(mode, base, exponent):
    # 0.0 ** -1 is inf in NumPy; Numba's integer-exponent loop raised ZeroDivisionError
    a, b = T.vector('a', dtype=base), T.vector('b', dtype=exponent)
    f = sg.function([a, b], a ** b, mode=mode)
    av = np.array([0, 2, -2, 0, 3], base)
    bv = np.array([-1, -2, 3, 0, 2], exponent)
    with np.errstate(divide="ignore"):
        expected = np.power(av, bv)
    out = f(av, bv)
    assert out.dtype == expected.dtype
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8"])
def test_integer_division_and_modulo_by_zero_follow_numpy(mode, dtype):
    # NumPy: x // 0 and x % 0 are 0 (with a warning), INT_MIN // -1 wraps to INT_MIN
    # (Numba's gives 0); the compiled code must neither crash nor disagree
    low = np.iinfo(dtype).min
    a, b = T.vector('a', dtype=dtype), T.vector('b', dtype=dtype)
    f = sg.function([a, b], [a // b, a % b], mode=mode)
    av = np.array([low, 7, -7, 5, 0, low, -8], dtype)
    bv = np.array([-1, -1, 2, 0, 0, 0, 3], dtype)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        quotient, remainder = f(av, bv)
        np.testing.assert_array_equal(quotient, np.floor_divide(av, bv))
        np.testing.assert_array_equal(remainder, np.mod(av, bv))


@pytest.mark.parametrize("mode", MODES)
def test_float_division_and_modulo_by_zero_follow_numpy(mode):
    a, b = T.dvectors('a', 'b')
    f = sg.function([a, b], [a // b, a % b], mode=mode)
    av, bv = np.array([1.0, -3.0, 0.0, 2.5]), np.array([0.0, 0.0, 0.0, -1.0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        quotient, remainder = f(av, bv)
        np.testing.assert_array_equal(quotient, np.floor_divide(av, bv))
        np.testing.assert_array_equal(remainder, np.mod(av, bv))


# ------------------------------------------------------------------ reshape's ndim
def test_reshape_ndim_that_disagrees_with_the_shape_is_refused():
    x = T.dvector('x')
    with pytest.raises(ValueError, match="ndim=3 but the shape has 2 sizes"):
        x.reshape((2, 3), ndim=3)
    assert x.reshape((2, 3), ndim=2).ndim == 2
    with pytest.raises(ValueError, match="pass ndim="):
        x.reshape(T.lvector('s'))              # a symbolic vector: its length is unknown
    with pytest.raises(ValueError, match="negative"):
        x.reshape((2, -3))
    with pytest.raises(ValueError, match="one unknown dimension"):
        x.reshape((-1, -1))


@pytest.mark.parametrize("mode", MODES)
def test_reshape_to_a_symbolic_shape_vector_uses_ndim(mode):
    x, s = T.dvector('x'), T.lvector('s')
    y = x.reshape(s, ndim=2)  # SYMBOLIC SHAPE
    assert y.ndim == 2
    f = sg.function([x, s], y * 2, mode=mode)
    np.testing.assert_array_equal(f(np.arange(6.0), [2, 3]), np.arange(6.0).reshape(2, 3) * 2)
    np.testing.assert_array_equal(f(np.arange(6.0), [-1, 2]), np.arange(6.0).reshape(3, 2) * 2)
    for bad, message in [([6], "has 1 entries"), ([1, 2, 3], "has 3 entries"),
                         ([4, 2], "cannot reshape"), ([-1, -1], "one unknown dimension"),
                         ([-2, -3], "negative")]:
        with pytest.raises(ValueError, match=message) as info:
            f(np.arange(6.0), bad)
        assert _names_line(info.value, "# SYMBOLIC SHAPE"), str(info.value)


# ------------------------------------------------------------------ indexing
@pytest.mark.parametrize("mode", MODES)
def test_slices_with_the_most_negative_step(mode):
    # -step wraps for -2**63: the compiled slice length came out 0
    x, step = T.dvector('x'), T.lscalar('step')
    f = sg.function([x, step], [x[::step], T.set_subtensor(x[3:0:step], 7.0)], mode=mode)
    view, written = f(np.arange(5.0), -2**63)
    np.testing.assert_array_equal(view, [4.0])
    np.testing.assert_array_equal(written, [0, 1, 2, 7, 4])


# ------------------------------------------------------------------ clear errors
BAD_INPUTS = [
    # (id, value for a dvector input x, error, what the message must say)
    ("ragged list", [[1.0, 2.0], [3.0]], ValueError,
     r"input x is a ragged nested list: item \[1\] has 1 entries where item \[0\] has 2"),
    ("ragged depth", [[1.0, 2.0], 3.0], ValueError, r"item \[1\] is 3.0, a single value"),
    ("string", ["a", "b"], TypeError, r"input x got text \('a'\), not numbers.*np.asarray"),
    ("one string", "1.5", TypeError, "input x got text"),
    ("bytes", b"ab", TypeError, "input x got text"),
    ("None", None, TypeError, r"input x is None; pass a 2-d array of float64.*sg.In"),
    ("dict", {"a": 1.0}, TypeError, "input x got a dict, which is not an array"),
    ("None inside", [[1.0, None]], TypeError, r"the element at index \(0, 1\) is None"),
    ("object array", np.array([[1.0, object()]], dtype=object), TypeError,
     r"the element at index \(0, 1\) is <object"),
    ("complex", np.array([[1 + 2j]]), TypeError, r"complex values.*np.real"),
    ("datetime", np.array([["2020-01-01"]], dtype="datetime64[D]"), TypeError, "datetime64"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("value,error,message", [pytest.param(v, e, m, id=i)
                                                 for i, v, e, m in BAD_INPUTS])
def test_bad_inputs_get_clear_errors(mode, value, error, message):
    x = T.dmatrix('x')
    f = sg.function([x], x * 2, mode=mode)
    with pytest.raises(error, match=message):
        f(value)


@pytest.mark.parametrize("mode", MODES)
def test_integers_out_of_range_are_refused_not_wrapped(mode):
    n, i = T.lscalar('n'), T.ivector('i')
    f = sg.function([n, i], n + i.sum(), mode=mode, allow_input_downcast=True)
    for value in (2**63, 2**64, -2**63 - 1):
        with pytest.raises(OverflowError, match=f"input n: {value} is out of range for int64"):
            f(value, [1])
    with pytest.raises(OverflowError, match="input i: 2147483648 is out of range for int32"):
        f(1, [1, 2**31])
    assert f(2**63 - 1, [0]) == 2**63 - 1


@pytest.mark.parametrize("mode", MODES)
def test_object_arrays_of_numbers_are_accepted(mode):
    x = T.dvector('x')
    f = sg.function([x], x * 2, mode=mode)
    np.testing.assert_array_equal(f(np.array([1.0, 2], dtype=object)), [2.0, 4.0])
    np.testing.assert_array_equal(f([2**70, 1]), [2.0**71, 2.0])   # too large for int64, not for float64


@pytest.mark.parametrize("mode", MODES)
def test_arange_with_a_zero_step_says_so(mode):
    n, step = T.lscalars('n', 'step')
    with pytest.raises(ValueError, match="step must not be zero"):
        T.arange(0, n, 0)                                   # a constant step: at build time
    f = sg.function([n, step], T.arange(0, n, step), mode=mode)  # ZERO STEP
    np.testing.assert_array_equal(f(5, 2), [0, 2, 4])
    with pytest.raises(ValueError, match="step must not be zero") as info:
        f(5, 0)
    assert _names_line(info.value, "# ZERO STEP"), str(info.value)
    d = T.dscalar('d')
    g = sg.function([d], T.arange(0.0, 1.0, d), mode=mode)
    with pytest.raises(ValueError, match="step must not be zero"):
        g(0.0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("start,stop,step", [(0, 10, 3), (10, 0, -3), (-2**62, 2**62, 2**61),
                                             (2**62, -2**62, -2**61), (5, 5, 1), (0, -5, 1),
                                             (-2**63, 2**63 - 1, 2**62), (0, 2**63 - 1, 2**63 - 1)])
def test_arange_lengths_are_exact_at_the_int64_limits(mode, start, stop, step):
    a, b, s = T.lscalars('a', 'b', 's')
    f = sg.function([a, b, s], T.arange(a, b, s), mode=mode)
    np.testing.assert_array_equal(f(start, stop, step), list(range(start, stop, step)))


GIVENS = [
    # (id, givens as a function of the variables x and y, what the message must say)
    ("int key", lambda x, y: {1: y}, "givens: the key 1 is of type int, not a symbolic variable"),
    ("string key", lambda x, y: {"x": y}, "givens: the key 'x' is of type str"),
    ("constant key", lambda x, y: {T.constant(1.0): y}, "is a constant, not a symbolic variable"),
    ("not pairs", lambda x, y: [x, y], r"is not a \(variable, replacement\) pair"),
    ("not a container", lambda x, y: 3, "givens must be a dict or a list of pairs"),
    ("None replacement", lambda x, y: {x: None},
     "the replacement for x must be a symbolic variable or an array"),
    ("string replacement", lambda x, y: {x: "abc"},
     "the replacement for x must be a symbolic variable or an array"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("make,message", [pytest.param(g, m, id=i) for i, g, m in GIVENS])
def test_bad_givens_get_clear_errors(mode, make, message):
    x, y = T.dvectors('x', 'y')
    with pytest.raises(TypeError, match=message):
        sg.function([y], x * 2, givens=make(x, y), mode=mode)
