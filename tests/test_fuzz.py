"""Differential fuzzing: random graphs, compiled in mode='numba' and in
mode='python' (the NumPy reference), give the same values, dtypes and shapes,
raise the same kind of error when they fail, and leave their inputs alone; and
random differentiable graphs have gradients that match finite differences
(sg.verify_grad) and agree between the two modes.

Hypothesis draws each graph step by step from a pool of values: elementwise
ops (broadcasting along flagged axes), reductions, dimshuffle, reshape,
slicing, advanced indexing and dot.  Values stay where both backends are well
defined and smooth: logarithms and square roots see 1 + x**2, divisors are
1 + x**2, exp sees tanh(x); no op reads floor, sign or a comparison of
computed values, where one rounding apart would flip the result.

The example budget is fixed and derandomized (the same graphs on every run,
no example database), small enough for CI.  A longer local run:

    SYMGRAPH_FUZZ_EXAMPLES=250 pytest tests/test_fuzz.py

(docs/guide.md, "Testing").  A failure prints the graph (sg.debugprint) and
the inputs; Hypothesis then shrinks it to a small one.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symgraph as sg
import symgraph.tensor as T
from symgraph.graph import clone_replace

EXAMPLES = int(os.environ.get("SYMGRAPH_FUZZ_EXAMPLES", "25"))
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))

FLOATS = ("float64", "float32")
MAX_NDIM = 3
MIN_STEPS, MAX_STEPS = 3, 8


# ----------------------------------------------------------------- ops
# unary: name -> (build, smooth); smooth ones are drawn for gradients too
UNARY = {
    "neg": (lambda x: -x, True),
    "sqr": (T.sqr, True),
    "tanh": (T.tanh, True),
    "sin": (T.sin, True),
    "cos": (T.cos, True),
    "sigmoid": (T.nnet.sigmoid, True),
    "softplus": (T.nnet.softplus, True),
    "exp_tanh": (lambda x: T.exp(T.tanh(x)), True),
    "log_1p_sqr": (lambda x: T.log(1 + T.sqr(x)), True),
    "sqrt_1p_sqr": (lambda x: T.sqrt(1 + x * x), True),
    "abs": (abs, False),
    "relu": (T.nnet.relu, False),
}
BINARY = {
    "add": (lambda a, b: a + b, True),
    "sub": (lambda a, b: a - b, True),
    "mul": (lambda a, b: a * b, True),
    "div": (lambda a, b: a / (1 + T.sqr(b)), True),
    "maximum": (T.maximum, False),
    "minimum": (T.minimum, False),
}
REDUCE = {
    "sum": (T.sum, True),
    "mean": (T.mean, True),
    "prod": (T.prod, True),
    "max": (T.max, False),
    "min": (T.min, False),
    "argmax": (T.argmax, False),
}


def _isfloat(var):
    return np.dtype(var.dtype).kind == "f"


def broadcast(a, b):
    """The result shape of an elementwise op on pool entries a and b, or None
    when their flags do not allow it (right-aligned, as NumPy aligns)."""
    (va, sa), (vb, sb) = a, b
    n = max(len(sa), len(sb))
    fa = (True,) * (n - len(sa)) + va.broadcastable
    fb = (True,) * (n - len(sb)) + vb.broadcastable
    sa, sb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    out = []
    for la, lb, ba, bb in zip(sa, sb, fa, fb):
        if la == lb:
            out.append(la)
        elif ba:
            out.append(lb)
        elif bb:
            out.append(la)
        else:
            return None
    return tuple(out)


class Graph:
    """A random graph under construction: ``pool`` holds (variable, shape)."""

    def __init__(self, data, smooth):
        self.data, self.smooth = data, smooth
        self.inputs, self.values, self.pool = [], [], []
        self.rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))

    def draw(self, strategy, label=None):
        return self.data.draw(strategy, label=label)

    def pick(self, entries, label):
        return entries[self.draw(st.integers(0, len(entries) - 1), label)] if entries else None

    def ops(self, table):
        return sorted(k for k, (_, smooth) in table.items() if smooth or not self.smooth)

    # -- inputs
    def new_input(self, shape, dtype=None, flags=None):
        if dtype is None:
            dtypes = ["float64"] if self.smooth else ["float64", "float32", "int32"]
            dtype = self.pick(dtypes, "dtype")
        if flags is None:
            # a length-1 axis broadcasts only when flagged; verify_grad flags them all
            flags = tuple(n == 1 and (self.smooth or self.draw(st.booleans(), "flag"))
                          for n in shape)
        var = T.tensor(dtype, flags, name=f"in{len(self.inputs)}")
        if np.dtype(dtype).kind == "f":
            value = self.rng.uniform(-2, 2, shape).astype(dtype)
        else:
            value = self.rng.integers(-5, 6, shape).astype(dtype)
        self.inputs.append(var)
        self.values.append(value)
        self.pool.append((var, tuple(shape)))
        return self.pool[-1]

    def random_shape(self):
        ndim = self.draw(st.integers(0, MAX_NDIM), "ndim")
        return tuple(self.draw(st.integers(1, 4), "length") for _ in range(ndim))

    # -- steps: each returns a new pool entry, or None where it does not apply
    def unary(self, entry):
        name = self.pick(self.ops(UNARY), "unary")
        var, shape = entry
        if name in ("abs", "relu", "neg", "sqr") or _isfloat(var):
            return UNARY[name][0](var), shape
        return UNARY[name][0](T.cast(var, "float64")), shape

    def binary(self, entry):
        name = self.pick(self.ops(BINARY), "binary")
        partners = [e for e in self.pool if broadcast(entry, e) is not None]
        if not partners or not self.draw(st.booleans(), "partner from the pool"):
            var, shape = entry
            # a new input broadcasting against this one along some axes
            k = self.draw(st.integers(0, len(shape)), "partner ndim")
            other = tuple(1 if self.draw(st.booleans(), "partner bcast") else n
                          for n in shape[len(shape) - k:])
            partner = self.new_input(other, flags=tuple(n == 1 for n in other))
        else:
            partner = self.pick(partners, "partner")
        a, b = (entry, partner) if self.draw(st.booleans(), "order") else (partner, entry)
        return BINARY[name][0](a[0], b[0]), broadcast(a, b)

    def reduce(self, entry):
        var, shape = entry
        name = self.pick(self.ops(REDUCE), "reduce")
        if not shape:
            return None
        if self.smooth and name == "prod" and not _isfloat(var):
            return None
        kind = self.draw(st.sampled_from(["all", "one", "some"]), "axes")
        if kind == "all":
            axis = None
        elif kind == "one":
            axis = self.draw(st.integers(-len(shape), len(shape) - 1), "axis")
        else:
            axes = st.sets(st.integers(0, len(shape) - 1), min_size=1)
            axis = tuple(sorted(self.draw(axes, "axes")))
        if name == "argmax":
            if kind == "some":
                return None
            out = T.argmax(var, axis=axis)
            keep = False
        else:
            keep = self.draw(st.booleans(), "keepdims")
            out = REDUCE[name][0](var, axis=axis, keepdims=keep)
        axes = range(len(shape)) if axis is None else [a % len(shape) for a in np.atleast_1d(axis)]
        new = tuple(1 if k in axes else n for k, n in enumerate(shape) if keep or k not in axes)
        return out, new

    def dimshuffle(self, entry):
        var, shape = entry
        kept = [k for k in range(len(shape))
                if not (var.broadcastable[k] and self.draw(st.booleans(), "drop"))]
        order = list(self.draw(st.permutations(kept), "perm"))
        if len(order) < MAX_NDIM and self.draw(st.booleans(), "new axis"):
            order.insert(self.draw(st.integers(0, len(order)), "where"), "x")
        return var.dimshuffle(*order), tuple(1 if k == "x" else shape[k] for k in order)

    def reshape(self, entry):
        var, shape = entry
        size = int(np.prod(shape))
        # an empty value (a slice can make one) takes any factors besides its 0
        divisors = [d for d in range(1, max(size, 3) + 1) if size % d == 0]
        ndim = self.draw(st.integers(0 if size == 1 else 1, 3), "new ndim")
        new = []
        rest = size
        for _ in range(ndim - 1):
            d = self.pick([d for d in divisors if rest % d == 0], "factor")
            new.append(d)
            rest //= d
        if ndim:
            new.append(rest)
        spec = list(new)
        if new and size and self.draw(st.booleans(), "minus one"):
            spec[self.draw(st.integers(0, len(new) - 1), "which")] = -1
        return var.reshape(tuple(spec)), tuple(new)

    def slice(self, entry):
        var, shape = entry
        if not shape:
            return None
        k = self.draw(st.integers(0, len(shape) - 1), "slice axis")
        n = shape[k]
        if self.draw(st.booleans(), "integer index"):
            i = self.draw(st.integers(-n, n - 1), "index")
            return var[(slice(None),) * k + (i,)], shape[:k] + shape[k + 1:]
        bound = st.one_of(st.none(), st.integers(-n - 1, n + 1))
        sl = slice(self.draw(bound, "start"), self.draw(bound, "stop"),
                   self.draw(st.sampled_from([None, 1, 2, -1, -2, 3]), "step"))
        return var[(slice(None),) * k + (sl,)], shape[:k] + (len(range(n)[sl]),) + shape[k + 1:]

    def advanced(self, entry):
        var, shape = entry
        if not shape or 0 in shape[:2]:
            return None
        m = self.draw(st.integers(1, 4), "index length")
        pair = len(shape) >= 2 and self.draw(st.booleans(), "pair")
        index = []
        for n in shape[:2 if pair else 1]:
            idx = self.rng.integers(-n, n, m)
            if self.draw(st.booleans(), "index input"):
                # an int64 input, as p[y, T.arange(n)] reads it; its values are in range
                before = len(self.pool)
                ivar = self.new_input((m,), dtype="int64", flags=(m == 1,))[0]
                self.values[-1] = idx
                del self.pool[before:]   # not a value to compute with
                index.append(ivar)
            else:
                index.append(T.constant(idx))
        return var[tuple(index)], (m,) + shape[len(index):]

    def dot(self, entry):
        var, shape = entry
        if len(shape) not in (1, 2) or not _isfloat(var):
            return None
        k = self.draw(st.integers(1, 4), "dot length")
        if self.draw(st.booleans(), "dot left"):
            w, ws = self.new_input((k, shape[0]), dtype=var.dtype)
            return T.dot(w, var), (k,) + shape[1:]
        other = (shape[-1],) + ((k,) if self.draw(st.booleans(), "dot matrix") else ())
        w, ws = self.new_input(other, dtype=var.dtype)
        return T.dot(var, w), shape[:-1] + other[1:]

    STEPS = ("unary", "binary", "reduce", "dimshuffle", "reshape", "slice", "advanced", "dot")

    def build(self, n_outputs=2):
        while len(self.pool) < 1:
            self.new_input(self.random_shape())
        for _ in range(self.draw(st.integers(MIN_STEPS, MAX_STEPS), "steps")):
            # the simplest draw (0) takes the latest value: graphs grow deep, not wide
            entry = self.pick(self.pool[::-1], "operand")
            made = getattr(self, self.draw(st.sampled_from(self.STEPS), "step"))(entry)
            if made is not None and made[0].ndim <= MAX_NDIM + 1:
                assert made[0].ndim == len(made[1]), (made, entry)
                self.pool.append(made)
        computed = [e for e in self.pool if e[0].owner is not None] or self.pool
        outputs = [computed[-1]]
        if n_outputs > 1 and len(computed) > 1 and self.draw(st.booleans(), "second output"):
            outputs.append(self.pick(computed[:-1], "output"))
        return [v for v, _ in outputs], [s for _, s in outputs]


# ----------------------------------------------------------------- checks
def _tolerance(dtype):
    return 1e-4 if dtype in ("float32", "float16") else 1e-8


def _run(f, values):
    args = [v.copy() for v in values]
    try:
        out = f(*args)
    except Exception as exc:   # noqa: BLE001 (the two modes must fail alike)
        return exc
    for a, v in zip(args, values):
        assert a.dtype == v.dtype and np.array_equal(a, v, equal_nan=True), "an input was mutated"
    return [np.asarray(o) for o in out]


def _describe(outputs, values):
    text = sg.debugprint(outputs, file="str")
    return text + "\ninputs:\n" + "\n".join(f"  {v.dtype}{v.shape}: {v!r}" for v in values)


def compare_modes(inputs, outputs, values, shapes=None):
    results = {mode: _run(sg.function(inputs, outputs, mode=mode, on_unused_input="ignore"), values)
               for mode in ("python", "numba")}
    ref, got = results["python"], results["numba"]
    where = _describe(outputs, values)
    if isinstance(ref, Exception) or isinstance(got, Exception):
        same = isinstance(ref, Exception) and isinstance(got, type(ref))
        assert same, f"python: {ref!r}\nnumba: {got!r}\n{where}"
        return None
    for k, (g, r) in enumerate(zip(got, ref)):
        assert g.dtype == r.dtype, f"output {k}: dtype {g.dtype}, python {r.dtype}\n{where}"
        assert g.shape == r.shape, f"output {k}: shape {g.shape}, python {r.shape}\n{where}"
        if shapes is not None:
            assert r.shape == shapes[k], f"output {k}: the fuzzer expected {shapes[k]}\n{where}"
        if np.dtype(r.dtype).kind == "f":
            tol = _tolerance(str(r.dtype))
            np.testing.assert_allclose(g, r, rtol=tol, atol=tol, equal_nan=True,
                                       err_msg=f"output {k}\n{where}")
        else:
            np.testing.assert_array_equal(g, r, err_msg=f"output {k}\n{where}")
    return ref


@FUZZ
@given(st.data())
def test_numba_agrees_with_python(data):
    graph = Graph(data, smooth=False)
    outputs, shapes = graph.build()
    compare_modes(graph.inputs, outputs, graph.values, shapes)


@FUZZ
@given(st.data())
def test_gradients_match_finite_differences(data):
    graph = Graph(data, smooth=True)
    graph.new_input(graph.random_shape())
    if data.draw(st.booleans(), "two inputs"):
        graph.new_input(graph.random_shape())
    points = list(graph.values)
    n_given = len(points)
    built = {}

    def fn(*variables):
        # verify_grad makes its own inputs (length-1 axes flagged): build on them
        graph.inputs[:n_given] = variables
        graph.pool[:n_given] = [(v, p.shape) for v, p in zip(variables, points)]
        built["outputs"] = graph.build(n_outputs=1)[0]
        return built["outputs"][0]

    # the extra inputs (dot operands, partners) are made inside fn: check them
    # as constants there, the given ones by finite differences
    def fixed(*variables):
        out = fn(*variables)
        extra = dict(zip(graph.inputs[n_given:], graph.values[n_given:]))
        return clone_replace(out, {v: T.constant(x) for v, x in extra.items()}) if extra else out

    sg.verify_grad(fixed, points, rng=np.random.default_rng(0), mode="python")
    # the same gradient graph, compiled in both modes
    out = built["outputs"][0]
    cost = T.sum(out * np.float64(0.5)) if out.ndim else out
    wrt = graph.inputs[:n_given]
    grads = sg.grad(cost, wrt, disconnected_inputs="ignore")
    compare_modes(graph.inputs, grads, graph.values)
