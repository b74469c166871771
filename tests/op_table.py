"""One spec row per public op: the table that drives the op tests.

Each ``Row`` says how to build a graph from symbolic inputs, what NumPy computes
for the same inputs, and where the inputs may lie.  The same rows serve
    * tests/test_ops.py: reference values, output types, no input mutation, errors;
    * finite-difference gradient checks: rows with ``differentiable=True``, called
      with dtype "float64"; ``row.wrt()`` lists the inputs to differentiate;
    * backend comparisons (python vs numba vs ...): build once, compile per mode.

API
    ROWS                          every row
    row.name                      unique id, e.g. "sum axis=-1 keepdims"
    row.op                        the public API entry it covers, e.g. ".sum", "T.exp", "+"
    row.dtypes                    the dtypes the row is tested with
    row.shapes                    several input-shape sets, one shape per input; the first
                                  is the default.  A length-1 axis is flagged broadcastable.
    row.variables(dtype, shapes=None) -> fresh symbolic inputs of the matching types
    row.graph(dtype, shapes=None)     -> (inputs, output)
    row.make_inputs(rng, dtype, shapes=None) -> NumPy arrays in the row's domains
    row.reference(values)         -> what NumPy says
    row.rtol(out_dtype)           -> relative (and absolute) tolerance for a result
    row.wrt(dtype="float64")      -> indices of the float inputs, for that dtype under test
                                  (index arrays and masks excluded)
    row.bad_shapes, row.bad_error -> input shapes that must fail at call time, and how;
                                  compiled for the first shape set with the same ranks

For example, a backend comparison (tests/backends.py; test_ops.py does this):
    for row in ROWS:
        for dtype in row.dtypes:
            inputs, out = row.graph(dtype)
            values = row.make_inputs(np.random.default_rng(0), dtype)
            compare_backends(inputs, [out], values, modes=["numba"], tol=row.rtol(out.dtype))

An input is an ``Arg``: its domain (a name in DOMAINS, or a function
``(rng, shape, dtype) -> array``) and its dtype (None: the dtype under test).
Domains keep finite differences well-behaved: no kinks (abs, relu use
"nonzero"), no poles (log, sqrt use "positive"), arcsin in (-0.9, 0.9).
"""
from dataclasses import dataclass, field

import numpy as np
import scipy.special

import symgraph.tensor as T
from symgraph.types import TensorType

FLOATS = ("float64", "float32")
NUMERIC = ("float64", "float32", "int32")
LOGICAL = ("int32", "bool")


# ----------------------------------------------------------------- domains
def _kind(dtype):
    return np.dtype(dtype).kind


def _pick(floats, ints):
    """A domain from a float sampler and an integer range."""
    def sample(rng, shape, dtype):
        if _kind(dtype) == "b":
            return rng.random(shape) < 0.5
        if _kind(dtype) in "iu":
            return rng.integers(*ints, size=shape)
        return floats(rng, shape)
    return sample


def uniform(lo, hi):
    return _pick(lambda rng, shape: rng.uniform(lo, hi, shape), (int(np.ceil(lo)), int(np.floor(hi)) + 1))


def ints(lo, hi):
    """Integers in [lo, hi) whatever the dtype (indices, small counts)."""
    return lambda rng, shape, dtype: rng.integers(lo, hi, size=shape)


def value(v):
    return lambda rng, shape, dtype: np.full(shape, v)


def distinct(n):
    """Distinct integers in [0, n) (for set_subtensor with an index array)."""
    return lambda rng, shape, dtype: rng.permutation(n)[:int(np.prod(shape))].reshape(shape)


def onehot(rng, shape, dtype):
    out = np.zeros(shape)
    out[np.arange(shape[0]), rng.integers(0, shape[-1], size=shape[0])] = 1
    return out


def _nonzero(rng, shape):
    return rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], size=shape)


DOMAINS = {
    "real": uniform(-2, 2),
    "positive": _pick(lambda rng, shape: rng.uniform(0.5, 3, shape), (1, 6)),
    "nonzero": _pick(_nonzero, (1, 6)),          # integers: 1..5 (divisors)
    "unit": uniform(-0.9, 0.9),                  # inside (-1, 1): arcsin, arccos, tan
    "prob": uniform(0.05, 0.95),
    "near_one": _pick(lambda rng, shape: rng.uniform(0.5, 1.5, shape), (-2, 3)),  # prod
    "small": _pick(lambda rng, shape: rng.integers(0, 3, shape).astype(float), (0, 3)),  # ties for eq
    "bool": lambda rng, shape, dtype: rng.random(shape) < 0.5,
}


@dataclass(frozen=True)
class Arg:
    domain: object = "real"
    dtype: str = None  # None: the dtype under test

    def sample(self, rng, shape, dtype):
        fn = DOMAINS[self.domain] if isinstance(self.domain, str) else self.domain
        return np.asarray(fn(rng, shape, dtype)).astype(dtype)


# ----------------------------------------------------------------- rows
_DEFAULT_RTOL = {"float64": 1e-9, "float32": 2e-5}


@dataclass
class Row:
    name: str
    op: str
    build: object           # (*symbolic inputs) -> symbolic output
    ref: object             # (*arrays) -> array
    args: tuple
    shapes: list
    dtypes: tuple = FLOATS
    differentiable: bool = False
    tol: dict = field(default_factory=dict)   # out dtype -> rtol, over _DEFAULT_RTOL
    bad_shapes: tuple = None
    bad_error: type = ValueError

    def __post_init__(self):
        if not self.shapes or any(len(s) != len(self.args) for s in self.shapes):
            raise ValueError(f"row {self.name!r}: each shape set needs one shape per input")

    def __repr__(self):
        return f"Row({self.name!r})"

    def input_dtypes(self, dtype):
        return [a.dtype or dtype for a in self.args]

    def variables(self, dtype, shapes=None):
        shapes = self.shapes[0] if shapes is None else shapes
        return [TensorType(d, tuple(n == 1 for n in s))(f"x{k}")
                for k, (d, s) in enumerate(zip(self.input_dtypes(dtype), shapes))]

    def graph(self, dtype, shapes=None):
        inputs = self.variables(dtype, shapes)
        return inputs, self.build(*inputs)

    def make_inputs(self, rng, dtype, shapes=None):
        shapes = self.shapes[0] if shapes is None else shapes
        return [a.sample(rng, s, d) for a, s, d in zip(self.args, shapes, self.input_dtypes(dtype))]

    def reference(self, values):
        with np.errstate(all="ignore"):
            return np.asarray(self.ref(*values))

    def rtol(self, out_dtype):
        if _kind(out_dtype) != "f":
            return 0.0
        return {**_DEFAULT_RTOL, **self.tol}[str(out_dtype)]

    def wrt(self, dtype="float64"):
        return [k for k, d in enumerate(self.input_dtypes(dtype)) if _kind(d) == "f"]


ROWS = []


def row(name, op, build, ref, args, shapes, **kw):
    args = tuple(a if isinstance(a, Arg) else Arg(a) for a in args)
    shapes = [tuple(tuple(s) for s in group) for group in shapes]
    r = Row(name, op, build, ref, args, shapes, **kw)
    if any(r.name == other.name for other in ROWS):
        raise ValueError(f"duplicate row name {name!r}")
    ROWS.append(r)
    return r


UNARY_SHAPES = [[(3, 4)], [(5,)], [()], [(2, 1, 3)]]
BINARY_SHAPES = [[(3, 4), (3, 4)], [(3, 4), (1, 4)], [(3, 1), (1, 4)], [(2, 3, 4), (4,)],
                 [(), (3,)], [(), ()]]
BINARY_BAD = ((3, 4), (3, 5))


def unary(name, op, build, ref, domain="real", dtypes=FLOATS, differentiable=True, **kw):
    return row(name, op, build, ref, [domain], UNARY_SHAPES, dtypes=dtypes,
               differentiable=differentiable, **kw)


def binary(name, op, build, ref, domains=("real", "real"), dtypes=FLOATS, differentiable=True, **kw):
    kw.setdefault("bad_shapes", BINARY_BAD)
    return row(name, op, build, ref, list(domains), BINARY_SHAPES, dtypes=dtypes,
               differentiable=differentiable, **kw)


# ----------------------------------------------------------------- operators
binary("x + y", "+", lambda x, y: x + y, np.add, dtypes=NUMERIC)
binary("x - y", "-", lambda x, y: x - y, np.subtract, dtypes=NUMERIC)
binary("x * y", "*", lambda x, y: x * y, np.multiply, dtypes=NUMERIC)
binary("x / y", "/", lambda x, y: x / y, np.true_divide, ("real", "nonzero"), NUMERIC)
binary("x // y", "//", lambda x, y: x // y, np.floor_divide, ("real", "nonzero"), NUMERIC,
       differentiable=False)
binary("x % y", "%", lambda x, y: x % y, np.mod, ("real", "nonzero"), NUMERIC, differentiable=False)
binary("x ** y", "**", lambda x, y: x ** y, np.power, ("positive", "real"))
# mixed dtypes: NumPy's promotion (float32 + int32 -> float64, int8 * int32 -> int32)
binary("x + y, y int32", "+", lambda x, y: x + y, np.add, ("real", Arg("real", "int32")),
       ("float64", "float32", "int8"))
binary("x * y, y float64", "*", lambda x, y: x * y, np.multiply, ("real", Arg("real", "float64")),
       ("float32", "int32", "int8"), differentiable=False)
binary("x / y, y int8", "/", lambda x, y: x / y, np.true_divide, ("real", Arg("nonzero", "int8")),
       ("float32", "int32"), differentiable=False)
unary("x ** 2", "**", lambda x: x ** 2, lambda x: x ** 2, dtypes=NUMERIC)
unary("2.0 ** x", "**", lambda x: 2.0 ** x, lambda x: 2.0 ** x, dtypes=NUMERIC)
unary("x + 1.5", "+", lambda x: x + 1.5, lambda x: x + 1.5, dtypes=NUMERIC)
unary("1 - x", "-", lambda x: 1 - x, lambda x: 1 - x, dtypes=NUMERIC)
unary("3 * x", "*", lambda x: 3 * x, lambda x: 3 * x, dtypes=NUMERIC)
unary("2 / x", "/", lambda x: 2 / x, lambda x: 2 / x, "nonzero", NUMERIC)
row("ndarray + x", "+", lambda x: np.arange(4.0) + x, lambda x: np.arange(4.0) + x, ["real"],
    [[(3, 4)], [(2, 1, 4)]], dtypes=("float64",), differentiable=True)
unary("-x", "neg", lambda x: -x, np.negative, dtypes=NUMERIC)
unary("abs(x)", "abs", lambda x: abs(x), np.abs, "nonzero", NUMERIC)
for _sym, _fn, _np in [("<", lambda x, y: x < y, np.less), ("<=", lambda x, y: x <= y, np.less_equal),
                       (">", lambda x, y: x > y, np.greater), (">=", lambda x, y: x >= y, np.greater_equal)]:
    binary(f"x {_sym} y", _sym, _fn, _np, ("small", "small"), NUMERIC, differentiable=False)
unary("x > 0", ">", lambda x: x > 0, lambda x: x > 0, dtypes=NUMERIC, differentiable=False)
binary("x & y", "&", lambda x, y: x & y, np.bitwise_and, ("real", "real"), LOGICAL, differentiable=False)
binary("x | y", "|", lambda x, y: x | y, np.bitwise_or, ("real", "real"), LOGICAL, differentiable=False)
binary("x ^ y", "^", lambda x, y: x ^ y, np.bitwise_xor, ("real", "real"), LOGICAL, differentiable=False)
unary("~x", "~", lambda x: ~x, np.invert, dtypes=LOGICAL, differentiable=False)
row("(x > 0) & (y < 1)", "&", lambda x, y: (x > 0) & (y < 1), lambda x, y: (x > 0) & (y < 1),
    ["real", "real"], [[(3, 4), (3, 4)]], dtypes=NUMERIC)


# ----------------------------------------------------------------- elementwise T functions
def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


for _name, _fn, _np, _domain, _dtypes in [
        ("exp", T.exp, np.exp, "real", NUMERIC),
        ("log", T.log, np.log, "positive", NUMERIC),
        ("log2", T.log2, np.log2, "positive", NUMERIC),
        ("log1p", T.log1p, np.log1p, "positive", FLOATS),
        ("expm1", T.expm1, np.expm1, "real", FLOATS),
        ("sqrt", T.sqrt, np.sqrt, "positive", NUMERIC),
        ("sqr", T.sqr, np.square, "real", NUMERIC),
        ("sin", T.sin, np.sin, "real", NUMERIC),
        ("cos", T.cos, np.cos, "real", FLOATS),
        ("tan", T.tan, np.tan, "unit", FLOATS),
        ("tanh", T.tanh, np.tanh, "real", FLOATS),
        ("sinh", T.sinh, np.sinh, "real", FLOATS),
        ("cosh", T.cosh, np.cosh, "real", FLOATS),
        ("arcsin", T.arcsin, np.arcsin, "unit", FLOATS),
        ("arccos", T.arccos, np.arccos, "unit", FLOATS),
        ("arctan", T.arctan, np.arctan, "real", FLOATS),
        ("erf", T.erf, scipy.special.erf, "real", FLOATS),
        ("abs_", T.abs_, np.abs, "nonzero", NUMERIC)]:
    unary(f"T.{_name}", f"T.{_name}", _fn, _np, _domain, _dtypes)

# piecewise constant: zero gradient, so not for finite differences
for _name, _fn, _np in [("floor", T.floor, np.floor), ("ceil", T.ceil, np.ceil),
                        ("round", T.round, np.round), ("sign", T.sign, np.sign)]:
    unary(f"T.{_name}", f"T.{_name}", _fn, _np, "real", NUMERIC, differentiable=False)

binary("T.maximum", "T.maximum", T.maximum, np.maximum, dtypes=NUMERIC)
binary("T.minimum", "T.minimum", T.minimum, np.minimum, dtypes=NUMERIC)
for _name, _np in [("eq", np.equal), ("neq", np.not_equal), ("lt", np.less), ("le", np.less_equal),
                   ("gt", np.greater), ("ge", np.greater_equal)]:
    binary(f"T.{_name}", f"T.{_name}", getattr(T, _name), _np, ("small", "small"), NUMERIC,
           differentiable=False)
binary("T.and_", "T.and_", T.and_, np.bitwise_and, dtypes=LOGICAL, differentiable=False)
binary("T.or_", "T.or_", T.or_, np.bitwise_or, dtypes=LOGICAL, differentiable=False)

row("T.clip(x, lo, hi)", "T.clip", T.clip, np.clip,
    ["real", Arg(uniform(-1, -0.2)), Arg(uniform(0.2, 1))],
    [[(3, 4), (), ()], [(3, 4), (3, 1), (1, 4)], [(5,), (5,), (5,)]], differentiable=True,
    bad_shapes=((5,), (4,), (5,)))
unary("x.clip(-0.5, 0.5)", ".clip", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5))
unary("x.clip(-2, 2) int", ".clip", lambda x: x.clip(-2, 2), lambda x: np.clip(x, -2, 2),
      dtypes=("int32",), differentiable=False)
row("T.switch(c, a, b)", "T.switch", T.switch, np.where, [Arg("bool", "bool"), "real", "real"],
    [[(3, 4), (3, 4), (3, 4)], [(3, 4), (), (1, 4)], [(), (5,), (5,)]], dtypes=NUMERIC,
    differentiable=True, bad_shapes=((3, 4), (3, 4), (4, 4)))
unary("T.switch(x > 0, x, 0)", "T.switch", lambda x: T.switch(x > 0, x, 0),
      lambda x: np.where(x > 0, x, 0).astype(x.dtype), "nonzero", NUMERIC)
unary("T.where(x < 0, -x, x)", "T.switch", lambda x: T.where(x < 0, -x, x),
      lambda x: np.where(x < 0, -x, x), "nonzero", NUMERIC)

for _target in ("int32", "float32", "float64", "int64", "bool"):
    unary(f"T.cast(x, {_target})", "T.cast", lambda x, _t=_target: T.cast(x, _t),
          lambda x, _t=_target: x.astype(_t), dtypes=NUMERIC, differentiable=False)
unary("x.astype(float64)", ".astype", lambda x: x.astype("float64"), lambda x: x.astype("float64"),
      dtypes=NUMERIC, differentiable=True)
unary("x.astype(int8)", ".astype", lambda x: x.astype("int8"), lambda x: x.astype("int8"),
      dtypes=NUMERIC, differentiable=False)


# ----------------------------------------------------------------- reductions
_SUM_LIKE = {"sum": np.sum, "mean": np.mean, "prod": np.prod, "max": np.max, "min": np.min,
             "var": np.var, "std": np.std, "all": np.all, "any": np.any}
_AXES = [("", {}), (" axis=0", {"axis": 0}), (" axis=-1 keepdims", {"axis": -1, "keepdims": True}),
         (" axis=(0,2)", {"axis": (0, 2)}), (" keepdims", {"keepdims": True}), (" axis=1", {"axis": 1})]
_REDUCE_SHAPES = [[(2, 3, 4)], [(3, 1, 2)], [(1, 2, 5)]]

for _name, _np in _SUM_LIKE.items():
    _logical = _name in ("all", "any")
    _dtypes = ("bool", "int32", "float64") if _logical else NUMERIC
    _domain = "near_one" if _name == "prod" else "real"
    unary(f"{_name} all axes", f".{_name}", lambda x, _n=_name: getattr(x, _n)(),
          lambda x, _f=_np: _f(x), _domain, _dtypes, differentiable=not _logical)
    for _label, _kw in _AXES[1:]:
        row(f"{_name}{_label}", f".{_name}", lambda x, _n=_name, _k=_kw: getattr(x, _n)(**_k),
            lambda x, _f=_np, _k=_kw: _f(x, **_k), [_domain], _REDUCE_SHAPES, dtypes=_dtypes,
            differentiable=not _logical)
    row(f"T.{_name}(x, axis=1)", f"T.{_name}", lambda x, _n=_name: getattr(T, _n)(x, axis=1),
        lambda x, _f=_np: _f(x, axis=1), [_domain], [[(3, 4)], [(2, 5)]], dtypes=_dtypes,
        differentiable=not _logical)

for _name, _np in [("argmax", np.argmax), ("argmin", np.argmin)]:
    for _label, _kw in _AXES[:3] + [_AXES[4]]:  # a single axis or all of them
        row(f"{_name}{_label}", f".{_name}", lambda x, _n=_name, _k=_kw: getattr(x, _n)(**_k),
            lambda x, _f=_np, _k=_kw: _f(x, **_k), ["real"], _REDUCE_SHAPES + [[(5,)]], dtypes=NUMERIC)
    row(f"T.{_name}(x, axis=1)", f"T.{_name}", lambda x, _n=_name: getattr(T, _n)(x, axis=1),
        lambda x, _f=_np: _f(x, axis=1), ["real"], [[(3, 4)]], dtypes=NUMERIC)
row("sum of a scalar", ".sum", lambda x: x.sum(), np.sum, ["real"], [[()]], dtypes=NUMERIC,
    differentiable=True)
row("T.cumsum axis=1", "T.cumsum", lambda x: T.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1),
    ["real"], [[(3, 4)], [(1, 4)], [(3, 1)], [(2, 0)]], dtypes=NUMERIC, differentiable=True)
row("T.cumsum axis=None", "T.cumsum", T.cumsum, np.cumsum, ["real"], [[(3, 4)], [(2, 3, 2)], [(5,)]],
    dtypes=NUMERIC + ("bool",), differentiable=True)
row("mean axis=1 keepdims (2-d)", ".mean", lambda x: x.mean(axis=1, keepdims=True),
    lambda x: x.mean(axis=1, keepdims=True), ["real"], [[(3, 4)], [(1, 4)], [(3, 1)]], differentiable=True)


# ----------------------------------------------------------------- shapes and axes
row("x.T", ".T", lambda x: x.T, lambda x: x.T, ["real"], [[(3, 4)], [(1, 4)], [(2, 3, 4)], [(5,)], [()]],
    dtypes=NUMERIC, differentiable=True)
row("dimshuffle(1, 0)", ".dimshuffle", lambda x: x.dimshuffle(1, 0), lambda x: x.T, ["real"],
    [[(3, 4)], [(3, 1)]], dtypes=NUMERIC, differentiable=True)
row("dimshuffle('x', 0, 1)", ".dimshuffle", lambda x: x.dimshuffle("x", 0, 1), lambda x: x[None],
    ["real"], [[(3, 4)]], dtypes=NUMERIC, differentiable=True)
row("dimshuffle(0, 'x', 1)", ".dimshuffle", lambda x: x.dimshuffle(0, "x", 1), lambda x: x[:, None],
    ["real"], [[(3, 4)]], dtypes=NUMERIC, differentiable=True)
row("dimshuffle(1) of a row", ".dimshuffle", lambda x: x.dimshuffle(1), lambda x: x[0], ["real"],
    [[(1, 4)]], dtypes=NUMERIC, differentiable=True)
row("dimshuffle(2, 0, 1)", ".dimshuffle", lambda x: x.dimshuffle(2, 0, 1),
    lambda x: x.transpose(2, 0, 1), ["real"], [[(2, 3, 4)], [(2, 1, 4)]], dtypes=NUMERIC,
    differentiable=True)
row("reshape((4, 3))", ".reshape", lambda x: x.reshape((4, 3)), lambda x: x.reshape((4, 3)), ["real"],
    [[(3, 4)], [(2, 6)]], dtypes=NUMERIC, differentiable=True, bad_shapes=((3, 5),))
row("reshape((2, -1))", ".reshape", lambda x: x.reshape((2, -1)), lambda x: x.reshape((2, -1)),
    ["real"], [[(3, 4)], [(4, 5)]], dtypes=NUMERIC, differentiable=True)
row("reshape((1, 12)) flags", ".reshape", lambda x: x.reshape((1, 12)), lambda x: x.reshape((1, 12)),
    ["real"], [[(3, 4)]], differentiable=True)
row("reshape to the symbolic size", ".reshape", lambda x: x.reshape((x.shape[0] * x.shape[1],)),
    lambda x: x.reshape(-1), ["real"], [[(3, 4)], [(2, 5)]], dtypes=NUMERIC, differentiable=True)
row("flatten()", ".flatten", lambda x: x.flatten(), lambda x: x.reshape(-1), ["real"],
    [[(2, 3, 4)], [(1, 1, 3)]], dtypes=NUMERIC, differentiable=True)
row("flatten(2)", ".flatten", lambda x: x.flatten(2), lambda x: x.reshape(x.shape[0], -1), ["real"],
    [[(2, 3, 4)], [(3, 1, 2)]], dtypes=NUMERIC, differentiable=True)
row("x.shape", ".shape", lambda x: x.shape, lambda x: np.array(x.shape, dtype="int64"), ["real"],
    [[(2, 3, 4)], [(1, 5, 1)]], dtypes=NUMERIC)
row("x.shape[1]", ".shape", lambda x: x.shape[1], lambda x: np.int64(x.shape[1]), ["real"],
    [[(2, 3, 4)]], dtypes=NUMERIC)
row("x.shape[-1] * 2", ".shape", lambda x: x.shape[-1] * 2, lambda x: np.int64(x.shape[-1] * 2), ["real"],
    [[(2, 3)]], dtypes=NUMERIC)

row("T.concatenate axis=0", "T.concatenate", lambda x, y: T.concatenate([x, y]),
    lambda x, y: np.concatenate([x, y]), ["real", "real"], [[(2, 3), (4, 3)], [(1, 3), (1, 3)]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((2, 3), (2, 4)))
row("T.concatenate axis=1", "T.concatenate", lambda x, y, z: T.concatenate([x, y, z], axis=1),
    lambda x, y, z: np.concatenate([x, y, z], axis=1), ["real", "real", "real"],
    [[(3, 2), (3, 5), (3, 1)]], dtypes=NUMERIC, differentiable=True)
row("T.concatenate axis=-1 vectors", "T.concatenate", lambda x, y: T.concatenate([x, y], axis=-1),
    lambda x, y: np.concatenate([x, y], axis=-1), ["real", "real"], [[(2,), (3,)]],
    dtypes=NUMERIC, differentiable=True)
row("T.stack axis=0", "T.stack", lambda x, y: T.stack([x, y]), lambda x, y: np.stack([x, y]),
    ["real", "real"], [[(3, 4), (3, 4)], [(5,), (5,)]], dtypes=NUMERIC, differentiable=True,
    bad_shapes=((3, 4), (3, 5)))
row("T.stack axis=1", "T.stack", lambda x, y: T.stack([x, y], axis=1), lambda x, y: np.stack([x, y], axis=1),
    ["real", "real"], [[(3, 4), (3, 4)]], dtypes=NUMERIC, differentiable=True)
row("T.stack scalars", "T.stack", lambda x, y, z: T.stack([x, y, z]), lambda x, y, z: np.stack([x, y, z]),
    ["real", "real", "real"], [[(), (), ()]], dtypes=NUMERIC, differentiable=True)
row("T.arange(n)", "T.arange", lambda n: T.arange(n), lambda n: np.arange(n, dtype="int64"),
    [Arg(ints(0, 7), "int32")], [[()]], dtypes=("int32",))
row("T.arange(1, n, 2)", "T.arange", lambda n: T.arange(1, n, 2), lambda n: np.arange(1, n, 2, dtype="int64"),
    [Arg(ints(3, 9), "int64")], [[()]], dtypes=("int64",))
row("T.arange(0.0, x, 0.5)", "T.arange", lambda x: T.arange(0.0, x, 0.5),
    lambda x: np.arange(0.0, x, 0.5, dtype=x.dtype), ["positive"], [[()]])
row("T.arange(3, 9, 2) constant", "T.arange", lambda: T.arange(3, 9, 2), lambda: np.arange(3, 9, 2),
    [], [[]], dtypes=("int64",))
row("T.zeros_like", "T.zeros_like", T.zeros_like, np.zeros_like, ["real"], UNARY_SHAPES, dtypes=NUMERIC)
row("T.ones_like", "T.ones_like", T.ones_like, np.ones_like, ["real"], UNARY_SHAPES, dtypes=NUMERIC)
row("T.zeros((3, 4))", "T.zeros", lambda: T.zeros((3, 4)), lambda: np.zeros((3, 4)), [], [[]],
    dtypes=("float64",))
row("T.zeros((n, 2), int32)", "T.zeros", lambda n: T.zeros((n, 2), dtype="int32"),
    lambda n: np.zeros((n, 2), dtype="int32"), [Arg(ints(0, 5), "int64")], [[()]], dtypes=("int64",))
row("T.ones(x.shape)", "T.ones", lambda x: T.ones(x.shape, dtype=x.dtype), lambda x: np.ones_like(x),
    ["real"], [[(3, 4)], [(2,)]], dtypes=NUMERIC)
row("T.ones(5)", "T.ones", lambda: T.ones(5), lambda: np.ones(5), [], [[]], dtypes=("float64",))
row("T.alloc(scalar, 3, 4)", "T.alloc", lambda x: T.alloc(x, 3, 4), lambda x: np.full((3, 4), x),
    ["real"], [[()]], dtypes=NUMERIC, differentiable=True)
row("T.alloc(vector, n, 4)", "T.alloc", lambda v, n: T.alloc(v, n, 4),
    lambda v, n: np.broadcast_to(v, (n, 4)).copy(), ["real", Arg(ints(1, 5), "int64")],
    [[(4,), ()], [(1,), ()]], dtypes=NUMERIC, differentiable=True, bad_shapes=((3,), ()))
row("T.fill(x, y)", "T.fill", T.fill, lambda x, y: np.broadcast_to(y, x.shape).copy(),
    ["real", "real"], [[(3, 4), ()], [(3, 4), (1, 4)], [(5,), ()]], dtypes=NUMERIC, differentiable=True)


# ----------------------------------------------------------------- products
row("T.dot", "T.dot", T.dot, np.dot, ["real", "real"],
    [[(3, 4), (4, 5)], [(3, 4), (4,)], [(4,), (4, 5)], [(4,), (4,)], [(1, 4), (4, 1)]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((3, 4), (5, 2)))
row("T.dot tensor3 by matrix", "T.dot", T.dot, np.dot, ["real", "real"],
    [[(2, 3, 4), (4, 5)], [(3, 4), (2, 4, 5)]], dtypes=NUMERIC, differentiable=True)
row("T.dot with a scalar", "T.dot", T.dot, np.dot, ["real", "real"], [[(), (3, 4)]], dtypes=NUMERIC,
    differentiable=True)
row("x.dot(y)", ".dot", lambda x, y: x.dot(y), np.dot, ["real", "real"], [[(3, 4), (4, 2)]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((3, 4), (3, 4)))
row("T.outer", "T.outer", T.outer, np.outer, ["real", "real"], [[(3,), (4,)], [(1,), (4,)]],
    dtypes=NUMERIC, differentiable=True)
row("T.tensordot axes=1", "T.tensordot", lambda a, b: T.tensordot(a, b, axes=1),
    lambda a, b: np.tensordot(a, b, axes=1), ["real", "real"], [[(2, 3), (3, 4)], [(2, 3, 4), (4, 5)]],
    dtypes=NUMERIC, differentiable=True)
row("T.tensordot axes=2", "T.tensordot", lambda a, b: T.tensordot(a, b),
    lambda a, b: np.tensordot(a, b), ["real", "real"], [[(2, 3, 4), (3, 4, 5)], [(3, 4), (3, 4)]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((2, 3, 4), (3, 5, 5)))
row("T.tensordot axes=[[0], [1]]", "T.tensordot", lambda a, b: T.tensordot(a, b, axes=[[0], [1]]),
    lambda a, b: np.tensordot(a, b, axes=[[0], [1]]), ["real", "real"], [[(3, 2), (4, 3)]],
    dtypes=NUMERIC, differentiable=True)
row("T.tensordot axes=0", "T.tensordot", lambda a, b: T.tensordot(a, b, axes=0),
    lambda a, b: np.tensordot(a, b, axes=0), ["real", "real"], [[(2, 3), (4,)]], differentiable=True)
# the bad shapes pair lengths (3, 4) with (4, 3): equal products, so only the
# per-axis check catches them
row("T.tensordot axes=[[1, 2], [1, 0]]", "T.tensordot",
    lambda a, b: T.tensordot(a, b, axes=[[1, 2], [1, 0]]),
    lambda a, b: np.tensordot(a, b, axes=[[1, 2], [1, 0]]), ["real", "real"],
    [[(2, 3, 4), (4, 3, 5)], [(2, 1, 4), (4, 1, 5)]], dtypes=NUMERIC, differentiable=True,
    bad_shapes=((2, 3, 4), (3, 4, 5)))


# ----------------------------------------------------------------- runtime checks
row("T.check_and_raise", "T.check_and_raise",
    lambda x: T.check_and_raise(x, x.shape[0] > 1, message="x needs two rows at least"),
    lambda x: x, ["real"], [[(3, 4)], [(2,)]], dtypes=NUMERIC + ("bool",), differentiable=True,
    bad_shapes=((1, 4),))


# ----------------------------------------------------------------- indexing
_IDX = "int64"
row("x[1]", "x[int]", lambda x: x[1], lambda x: x[1], ["real"], [[(3, 4)], [(2, 1, 3)]], dtypes=NUMERIC,
    differentiable=True, bad_shapes=((1, 4),), bad_error=IndexError)
row("x[-1]", "x[int]", lambda x: x[-1], lambda x: x[-1], ["real"], [[(3, 4)], [(5,)]], dtypes=NUMERIC,
    differentiable=True)
row("x[1:3]", "x[slice]", lambda x: x[1:3], lambda x: x[1:3], ["real"], [[(4, 3)], [(5,)], [(3, 1)]],
    dtypes=NUMERIC, differentiable=True)
row("x[::-1]", "x[slice]", lambda x: x[::-1], lambda x: x[::-1], ["real"], [[(4, 3)], [(5,)]],
    dtypes=NUMERIC, differentiable=True)
row("x[1:, ::2]", "x[slice]", lambda x: x[1:, ::2], lambda x: x[1:, ::2], ["real"], [[(4, 5)], [(2, 1)]],
    dtypes=NUMERIC, differentiable=True)
row("x[:, 1]", "x[slice]", lambda x: x[:, 1], lambda x: x[:, 1], ["real"], [[(4, 3)], [(1, 3)]],
    dtypes=NUMERIC, differentiable=True)
row("x[..., 0]", "x[slice]", lambda x: x[..., 0], lambda x: x[..., 0], ["real"], [[(2, 3, 4)]],
    dtypes=NUMERIC, differentiable=True)
row("x[None, :, -2]", "x[slice]", lambda x: x[None, :, -2], lambda x: x[None, :, -2], ["real"],
    [[(3, 4)]], dtypes=NUMERIC, differentiable=True)
row("x[i:j] symbolic", "x[slice]", lambda x, i, j: x[i:j], lambda x, i, j: x[i:j],
    ["real", Arg(value(1), _IDX), Arg(value(3), _IDX)], [[(5, 2), (), ()]], dtypes=NUMERIC,
    differentiable=True)
row("x[[0, 2, 2]]", "x[int array]", lambda x: x[[0, 2, 2]], lambda x: x[[0, 2, 2]], ["real"],
    [[(3, 4)], [(4,)]], dtypes=NUMERIC, differentiable=True)
row("x[idx]", "x[int array]", lambda x, i: x[i], lambda x, i: x[i], ["real", Arg(ints(0, 3), _IDX)],
    [[(3, 4), (5,)], [(3,), (2,)], [(4, 1), (1,)]], dtypes=NUMERIC, differentiable=True,
    bad_shapes=((2, 4), (20,)), bad_error=IndexError)
row("x[:, idx]", "x[int array]", lambda x, i: x[:, i], lambda x, i: x[:, i],
    ["real", Arg(ints(-3, 3), "int32")], [[(2, 3), (4,)]], dtypes=NUMERIC, differentiable=True)
row("x[idx matrix]", "x[int array]", lambda x, i: x[i], lambda x, i: x[i], ["real", Arg(ints(0, 3), _IDX)],
    [[(3, 4), (2, 2)]], dtypes=NUMERIC, differentiable=True)
row("x[idx, 1:3]", "x[int array]", lambda x, i: x[i, 1:3], lambda x, i: x[i, 1:3],
    ["real", Arg(ints(0, 3), _IDX)], [[(3, 4), (5,)]], dtypes=NUMERIC, differentiable=True)
row("x[0, idx]", "x[int array]", lambda x, i: x[0, i], lambda x, i: x[0, i],
    ["real", Arg(ints(0, 4), _IDX)], [[(3, 4), (5,)]], dtypes=NUMERIC, differentiable=True)
row("x[i, :, j] split", "x[int array]", lambda x, i, j: x[i, :, j], lambda x, i, j: x[i, :, j],
    ["real", Arg(ints(0, 2), _IDX), Arg(ints(0, 4), _IDX)], [[(2, 3, 4), (5,), (5,)]],
    dtypes=NUMERIC, differentiable=True)
row("p[y, T.arange(n)]", "p[y, T.arange(n)]", lambda p, y: p[y, T.arange(y.shape[0])],
    lambda p, y: p[y, np.arange(len(y))], ["prob", Arg(ints(0, 4), "int32")],
    [[(4, 5), (5,)], [(4, 1), (1,)]], differentiable=True,
    bad_shapes=((4, 3), (5,)), bad_error=IndexError)
row("p[T.arange(n), y]", "p[y, T.arange(n)]", lambda p, y: p[T.arange(p.shape[0]), y],
    lambda p, y: p[np.arange(len(p)), y], ["prob", Arg(ints(0, 5), "int32")], [[(4, 5), (4,)]],
    differentiable=True)
row("x[mask]", "x[bool mask]", lambda x, m: x[m], lambda x, m: x[m], ["real", Arg("bool", "bool")],
    [[(3, 4), (3, 4)], [(5,), (5,)]], dtypes=NUMERIC, differentiable=True,
    bad_shapes=((3, 4), (3, 5)), bad_error=IndexError)
row("x[x > 0]", "x[bool mask]", lambda x: x[x > 0], lambda x: x[x > 0], ["nonzero"], [[(3, 4)], [(6,)]],
    dtypes=NUMERIC, differentiable=True)
row("x[row mask]", "x[bool mask]", lambda x, m: x[m], lambda x, m: x[m], ["real", Arg("bool", "bool")],
    [[(4, 3), (4,)]], dtypes=NUMERIC, differentiable=True)

row("T.set_subtensor(x[1:3], y)", "T.set_subtensor", lambda x, y: T.set_subtensor(x[1:3], y),
    lambda x, y: _assign(x, slice(1, 3), y), ["real", "real"],
    [[(4, 3), (2, 3)], [(4, 3), (3,)], [(4, 3), ()]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((4, 3), (2, 4)))
row("T.inc_subtensor(x[:, 0], y)", "T.inc_subtensor", lambda x, y: T.inc_subtensor(x[:, 0], y),
    lambda x, y: _increment(x, (slice(None), 0), y), ["real", "real"], [[(4, 3), (4,)], [(4, 3), ()]],
    dtypes=NUMERIC, differentiable=True, bad_shapes=((4, 3), (3,)))
row("T.inc_subtensor(x[idx], y) repeats", "T.inc_subtensor",
    lambda x, y, i: T.inc_subtensor(x[i], y), lambda x, y, i: _increment(x, i, y, at=True),
    ["real", "real", Arg(ints(0, 3), _IDX)], [[(3, 2), (6, 2), (6,)], [(3, 2), (2,), (6,)]],
    dtypes=NUMERIC, differentiable=True)
row("T.set_subtensor(x[idx], y)", "T.set_subtensor", lambda x, y, i: T.set_subtensor(x[i], y),
    lambda x, y, i: _assign(x, i, y), ["real", "real", Arg(distinct(5), _IDX)],
    [[(5, 2), (3, 2), (3,)]], dtypes=NUMERIC, differentiable=True)
row("T.set_subtensor(x[x < 0], 0)", "T.set_subtensor", lambda x: T.set_subtensor(x[x < 0], 0),
    lambda x: np.where(x < 0, 0, x).astype(x.dtype), ["nonzero"], [[(3, 4)]], dtypes=NUMERIC,
    differentiable=True)
row("T.inc_subtensor(p[y, arange], v)", "T.inc_subtensor",
    lambda p, v, y: T.inc_subtensor(p[y, T.arange(y.shape[0])], v),
    lambda p, v, y: _increment(p, (y, np.arange(len(y))), v, at=True),
    ["real", "real", Arg(ints(0, 3), "int32")], [[(3, 4), (4,), (4,)]], differentiable=True)


def _assign(x, index, y):
    out = x.copy()
    out[index] = y
    return out


def _increment(x, index, y, at=False):
    out = x.copy()
    if at:
        np.add.at(out, index, y)
    else:
        out[index] += y
    return out


# ----------------------------------------------------------------- T.nnet
def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(x):
    s = x - x.max(axis=-1, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=-1, keepdims=True))


_MATRIX_SHAPES = [[(3, 5)], [(1, 4)], [(4, 1)]]
unary("T.nnet.sigmoid", "T.nnet.sigmoid", T.nnet.sigmoid, _sigmoid)
row("T.nnet.sigmoid extremes", "T.nnet.sigmoid", T.nnet.sigmoid, scipy.special.expit,
    [uniform(-80, 80)], [[(20,)]], tol={"float32": 1e-5})
row("logistic 1/(1+exp(-x))", "T.exp", lambda x: 1 / (1 + T.exp(-x)), _sigmoid, ["real"], [[(3, 4)]],
    differentiable=True)
unary("T.nnet.softplus", "T.nnet.softplus", T.nnet.softplus, lambda x: np.logaddexp(0, x))
row("T.nnet.softplus extremes", "T.nnet.softplus", T.nnet.softplus, lambda x: np.logaddexp(0, x),
    [uniform(-800, 800)], [[(20,)]], dtypes=("float64",))
unary("T.nnet.elu", "T.nnet.elu", T.nnet.elu, lambda x: np.where(x > 0, x, np.expm1(x)), "nonzero")
unary("T.nnet.elu alpha=0.5", "T.nnet.elu", lambda x: T.nnet.elu(x, 0.5),
      lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)), "nonzero")
unary("T.nnet.relu", "T.nnet.relu", T.nnet.relu, lambda x: np.maximum(x, 0), "nonzero", NUMERIC)
unary("T.nnet.relu alpha=0.1", "T.nnet.relu", lambda x: T.nnet.relu(x, 0.1),
      lambda x: np.where(x > 0, x, 0.1 * x), "nonzero")
row("T.nnet.softmax", "T.nnet.softmax", T.nnet.softmax, _softmax, ["real"], _MATRIX_SHAPES,
    differentiable=True)
row("T.nnet.softmax extremes", "T.nnet.softmax", T.nnet.softmax, _softmax, [uniform(-500, 500)],
    [[(3, 5)]])
row("T.nnet.log_softmax", "T.nnet.log_softmax", T.nnet.log_softmax, _log_softmax, ["real"],
    _MATRIX_SHAPES, differentiable=True)
row("T.nnet.logsoftmax (Theano 1.0)", "T.nnet.logsoftmax", T.nnet.logsoftmax, _log_softmax, ["real"],
    _MATRIX_SHAPES, differentiable=True)
row("T.nnet.log_softmax extremes", "T.nnet.log_softmax", T.nnet.log_softmax, _log_softmax,
    [uniform(-500, 500)], [[(3, 5)]], tol={"float32": 1e-4})
row("T.nnet.softmax(h.T).T", "T.nnet.softmax", lambda h: T.nnet.softmax(h.T).T, lambda h: _softmax(h.T).T,
    ["real"], [[(5, 3)]], differentiable=True)
row("categorical_crossentropy one-hot", "T.nnet.categorical_crossentropy (one-hot)",
    T.nnet.categorical_crossentropy, lambda p, t: -np.sum(t * np.log(p), axis=1),
    ["prob", Arg(onehot)], [[(3, 5), (3, 5)], [(1, 4), (1, 4)]], differentiable=True,
    bad_shapes=((3, 5), (3, 4)))
row("categorical_crossentropy int targets", "T.nnet.categorical_crossentropy (int targets)",
    T.nnet.categorical_crossentropy, lambda p, t: -np.log(p[np.arange(len(t)), t]),
    ["prob", Arg(ints(0, 5), "int32")], [[(3, 5), (3,)], [(1, 5), (1,)]], differentiable=True,
    bad_shapes=((3, 5), (4,)), bad_error=IndexError)
row("categorical_crossentropy of softmax", "T.nnet.categorical_crossentropy (int targets)",
    lambda x, t: T.nnet.categorical_crossentropy(T.nnet.softmax(x), t),
    lambda x, t: -_log_softmax(x)[np.arange(len(t)), t], ["real", Arg(ints(0, 4), "int64")],
    [[(3, 4), (3,)]], differentiable=True)
row("binary_crossentropy", "T.nnet.binary_crossentropy", T.nnet.binary_crossentropy,
    lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)), ["prob", "prob"],
    [[(3, 4), (3, 4)], [(5,), (5,)], [(3, 4), (1, 4)]], differentiable=True, bad_shapes=BINARY_BAD)
row("binary_crossentropy int targets", "T.nnet.binary_crossentropy", T.nnet.binary_crossentropy,
    lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p)), ["prob", Arg(ints(0, 2), "int32")],
    # float64 result, but log(p) of a float32 p is float32: NumPy's float32 log is not
    # correctly rounded, so other backends differ from it by a float32 ulp
    [[(6,), (6,)]], differentiable=True, tol={"float64": 1e-6})
row("nll of the design example", "p[y, T.arange(n)]",
    lambda p, y: -T.mean(T.log(p[y, T.arange(y.shape[0])])),
    lambda p, y: -np.mean(np.log(p[y, np.arange(len(y))])), ["prob", Arg(ints(0, 4), "int32")],
    [[(4, 6), (6,)]], differentiable=True)


# ----------------------------------------------------------------- linear algebra
def _well_conditioned(rng, shape, dtype):
    """A square matrix near n * I: far from singular (other shapes: for bad_shapes)."""
    return rng.uniform(-1, 1, shape) + shape[0] * np.eye(*shape)


def _positive_definite(rng, shape, dtype):
    """A symmetric positive-definite matrix, x x^T + n * I (other shapes: for bad_shapes)."""
    x = rng.uniform(-1, 1, shape)
    return x @ x.T + shape[0] * np.eye(shape[0]) if shape[0] == shape[1] else x


_SQUARE = [[(3, 3)], [(1, 1)]]
_LINALG_TOL = {"float32": 1e-4, "float64": 1e-8}
row("T.eye(3, 4, k=1)", "T.eye", lambda: T.eye(3, 4, 1), lambda: np.eye(3, 4, 1), [], [[]],
    dtypes=("float64",))
row("T.eye(n) int32 dtype", "T.eye", lambda n: T.eye(n, k=-1, dtype="int32"),
    lambda n: np.eye(n, k=-1, dtype="int32"), [Arg(ints(1, 5), "int64")], [[()]],
    dtypes=("float64",))
row("T.diag(vector)", "T.diag", T.diag, np.diag, ["real"], [[(4,)], [(1,)]],
    dtypes=NUMERIC, differentiable=True)
row("T.diag(matrix)", "T.diag", T.diag, np.diag, ["real"], [[(3, 4)], [(4, 2)], [(1, 3)]],
    dtypes=NUMERIC, differentiable=True)
row("T.trace", "T.trace", T.trace, np.trace, ["real"], [[(3, 3)], [(2, 4)]],
    dtypes=NUMERIC, differentiable=True)
row("T.nlinalg.matrix_inverse", "T.nlinalg.matrix_inverse", T.nlinalg.matrix_inverse,
    np.linalg.inv, [_well_conditioned], _SQUARE, differentiable=True, tol=_LINALG_TOL,
    bad_shapes=((3, 4),))
row("matrix_inverse(x.T)", "T.nlinalg.matrix_inverse", lambda x: T.nlinalg.matrix_inverse(x.T),
    lambda x: np.linalg.inv(x.T), [_well_conditioned], [[(3, 3)]], tol=_LINALG_TOL)
row("T.nlinalg.det", "T.nlinalg.det", T.nlinalg.det, np.linalg.det, [_well_conditioned],
    _SQUARE, differentiable=True, tol=_LINALG_TOL, bad_shapes=((2, 3),))
row("T.slinalg.cholesky", "T.slinalg.cholesky", lambda a: T.slinalg.cholesky((a + a.T) * 0.5),
    np.linalg.cholesky, [_positive_definite], _SQUARE, differentiable=True, tol=_LINALG_TOL,
    bad_shapes=((3, 2),))
row("T.slinalg.solve", "T.slinalg.solve", T.slinalg.solve, np.linalg.solve,
    [_well_conditioned, "real"], [[(3, 3), (3,)], [(3, 3), (3, 2)], [(1, 1), (1, 1)]],
    differentiable=True, tol=_LINALG_TOL, bad_shapes=((3, 3), (4,)))
