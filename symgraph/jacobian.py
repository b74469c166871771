"""Jacobians, Hessians and the finite-difference gradient check.

A Jacobian is one vector-Jacobian product per output element: row i is
``Lop(expression.flatten(), wrt, e_i)``.  We build that product once, on a
placeholder seed row, and let ``MapRows`` apply it to every row of an identity
matrix.

Why a map rather than one batched product: a batched seed would need every
op's ``grad`` to accept an extra leading axis, and grads written for fixed
ranks (dot, dimshuffle, reductions over numbered axes) do not.  MapRows works
for any differentiable graph, keeps the inner graph visible to backends
(``op.inner_inputs`` / ``op.inner_outputs``), and has a gradient of its own, so
Hessians of Jacobians and Rop through a Jacobian work too.
"""
import functools
from dataclasses import dataclass

import numpy as np

from .graph import Constant, FunctionGraph, toposort, clone_replace
from .ops.base import Op
from .types import TensorType, is_float


# ----------------------------------------------------------------- MapRows
@dataclass(frozen=True)
class MapRows(Op):
    """Evaluate an inner graph once per row (index along axis 0) of the sequences
    and stack the results along a new axis 0.

    Inputs are ``n_sequences`` sequences followed by fixed inputs passed whole to
    every row.  ``inner_inputs`` holds one placeholder per input (a row's type
    for sequences); ``inner_outputs`` are graphs over them alone.  Variables
    compare by identity, so the op hashes and equal ops share one inner graph.
    """
    inner_inputs: tuple
    inner_outputs: tuple
    n_sequences: int

    def make_node(self, *inputs):
        if len(inputs) != len(self.inner_inputs):
            raise TypeError(f"map_rows takes {len(self.inner_inputs)} inputs, got {len(inputs)}")
        if self.n_sequences < 1:
            raise ValueError("map_rows needs at least one sequence")
        for k, (outer, inner) in enumerate(zip(inputs, self.inner_inputs)):
            if k < self.n_sequences:
                ok = (outer.dtype == inner.dtype and outer.ndim == inner.ndim + 1 and
                      all(o or not i for o, i in zip(outer.broadcastable[1:], inner.broadcastable)))
            else:
                ok = outer.type == inner.type
            if not ok:
                raise TypeError(f"map_rows: input {k} is {outer.type}, which does not fit the "
                                f"inner input {inner.type}")
        out_types = [TensorType(o.dtype, (False,) + o.broadcastable) for o in self.inner_outputs]
        return self.apply(list(inputs), out_types)

    @property
    def nout(self):
        return len(self.inner_outputs)

    def inner_fgraph(self):
        return FunctionGraph(list(self.inner_inputs), list(self.inner_outputs))

    @functools.cached_property
    def _program(self):
        from .compile.python import compile_python
        return compile_python(self.inner_fgraph())

    def validate(self, node, values):
        lengths = {np.shape(v)[0] for v in values[:self.n_sequences]}
        if len(lengths) > 1:
            raise ValueError(f"map_rows: the sequences have different lengths {sorted(lengths)}")

    def perform(self, *values):
        seqs, fixed = values[:self.n_sequences], list(values[self.n_sequences:])
        n = np.shape(seqs[0])[0]
        if n == 0:
            # run once on a zero row, only to learn the shape of each result
            probe = self._program([np.zeros(np.shape(s)[1:], s.dtype) for s in seqs] + fixed)
            outs = [np.zeros((0,) + np.shape(p), o.dtype) for p, o in zip(probe, self.inner_outputs)]
        else:
            rows = [self._program([s[i] for s in seqs] + fixed) for i in range(n)]
            outs = []
            for j in range(len(self.inner_outputs)):
                shapes = {np.shape(r[j]) for r in rows}
                if len(shapes) > 1:
                    raise ValueError(f"map_rows: output {j} has different shapes on different "
                                     f"rows: {sorted(shapes)}")
                outs.append(np.stack([r[j] for r in rows]))
        return tuple(outs) if len(outs) > 1 else outs[0]

    def grad(self, inputs, outputs, output_grads):
        # Row i of the outputs depends on row i of the sequences and on all of
        # the fixed inputs, so the gradient is itself a map over (rows, cotangent
        # rows): sequence gradients come out stacked, fixed ones are summed.
        from .grad import grad as _grad
        from . import tensor as T
        k = self.n_sequences
        rows = list(self.inner_inputs[:k])
        cotangents = [TensorType(o.dtype, o.broadcastable)() for o in self.inner_outputs]
        seeds = {}
        for o, c in zip(self.inner_outputs, cotangents):
            if is_float(o.dtype):
                seeds[o] = seeds[o] + c if o in seeds else c
        wanted = [v for v in self.inner_inputs if is_float(v.dtype)]
        if not seeds or not wanted:
            return [None] * len(inputs)
        inner_grads = _grad(None, wanted, known_grads=seeds, disconnected_inputs="ignore",
                            return_disconnected=None)
        by_input = dict(zip(wanted, inner_grads))
        connected = [(i, by_input[v]) for i, v in enumerate(self.inner_inputs)
                     if by_input.get(v) is not None]
        if not connected:
            return [None] * len(inputs)
        # the fixed placeholders become the node's actual fixed inputs again
        outer_fixed = dict(zip(self.inner_inputs[k:], inputs[k:]))
        graphs = clone_replace([g for _, g in connected], outer_fixed)
        stacked = map_rows(graphs, list(inputs[:k]) + list(output_grads), rows + cotangents)
        result = [None] * len(inputs)
        for (i, _), s in zip(connected, stacked):
            result[i] = T.unbroadcast(s if i < k else s.sum(axis=0), inputs[i])
        return result

    def __str__(self):
        return "map_rows"


def row_placeholder(sequence, name=None):
    """A variable standing for one row of ``sequence`` (to build a map_rows body)."""
    return TensorType(sequence.dtype, sequence.broadcastable[1:])(name)


def map_rows(outputs, sequences, rows):
    """``outputs`` evaluated once per row of ``sequences``, stacked along axis 0.

    ``rows[k]`` is a placeholder for one row of ``sequences[k]``.  ``outputs``
    may use the placeholders and any other variables: the parts that do not
    depend on a row are computed once, outside, and passed in whole.
    """
    outputs = list(outputs)
    varying = set(rows)
    nodes = toposort(outputs)
    for node in nodes:
        if any(i in varying for i in node.inputs):
            varying.update(node.outputs)
    fixed, seen = [], set()

    def pass_in(v):
        if v not in varying and not isinstance(v, Constant) and v not in seen:
            seen.add(v)
            fixed.append(v)

    for node in nodes:
        if node.outputs[0] in varying:
            for i in node.inputs:
                pass_in(i)
    for o in outputs:
        pass_in(o)
    inner_rows = [r.type(r.name) for r in rows]
    inner_fixed = [v.type(v.name) for v in fixed]
    inner_outputs = clone_replace(outputs, dict(zip(rows, inner_rows)) | dict(zip(fixed, inner_fixed)))
    op = MapRows(tuple(inner_rows + inner_fixed), tuple(inner_outputs), len(rows))
    return op.make_node(*sequences, *fixed).outputs


# ----------------------------------------------------------------- jacobian, hessian
def jacobian(expression, wrt, consider_constant=None, disconnected_inputs="raise"):
    """d expression / d wrt, of shape expression.shape + wrt.shape (a list for a list)."""
    from . import tensor as T
    from .grad import Lop, grad, _as_list
    expression = T.as_tensor_variable(expression)
    if not is_float(expression.dtype):
        raise TypeError(f"jacobian: the expression must be float, got {expression.dtype}")
    if expression.ndim == 0:
        return grad(expression, wrt, consider_constant=consider_constant,
                    disconnected_inputs=disconnected_inputs)
    wrt_list, single = _as_list(wrt)
    flat = expression.flatten()
    n = T.shape_i(flat, 0)
    index = T.arange(n)
    identity = T.cast(T.eq(index.dimshuffle(0, "x"), index.dimshuffle("x", 0)), flat.dtype)
    seed = row_placeholder(identity, "seed")
    vjps = Lop(flat, wrt_list, seed, consider_constant=consider_constant,
               disconnected_inputs=disconnected_inputs)
    stacked = map_rows(vjps, [identity], [seed])
    out = []
    for w, s in zip(wrt_list, stacked):
        if expression.ndim != 1:
            shape = [T.shape_i(expression, i) for i in range(expression.ndim)] + \
                    [T.shape_i(w, i) for i in range(w.ndim)]
            s = T.reshape(s, shape)
        out.append(s)
    return out[0] if single else out


def hessian(cost, wrt, consider_constant=None, disconnected_inputs="raise"):
    """The matrix of second derivatives of the scalar ``cost``: jacobian(grad(cost, w), w)."""
    from .grad import grad, _as_list
    wrt_list, single = _as_list(wrt)
    out = []
    for w in wrt_list:
        g = grad(cost, w, consider_constant=consider_constant,
                 disconnected_inputs=disconnected_inputs)
        # a cost linear in w has a gradient that does not depend on w: the Hessian is zero
        out.append(jacobian(g, w, consider_constant=consider_constant,
                            disconnected_inputs="ignore"))
    return out[0] if single else out


# ----------------------------------------------------------------- verify_grad
class GradientError(AssertionError):
    """The symbolic gradient disagrees with finite differences."""

    def __init__(self, input_index, input_name, analytic, numeric, abs_err, rel_err, tol):
        self.input_index, self.input_name = input_index, input_name
        self.analytic, self.numeric = analytic, numeric
        self.abs_err, self.rel_err, self.tol = abs_err, rel_err, tol
        super().__init__(
            f"verify_grad: the gradient for input {input_index} ({input_name}) disagrees with "
            f"finite differences along a random direction: analytic {analytic!r}, numeric "
            f"{numeric!r}, abs error {abs_err:.3g}, rel error {rel_err:.3g} (tolerance {tol:.3g})")


# (finite-difference step, tolerance) by the least precise float dtype involved
_DEFAULTS = {"float64": (1e-7, 1e-4), "float32": (1e-3, 2e-2)}


def verify_grad(fn, points, rng=None, eps=None, tol=None, mode="python"):
    """Check the symbolic gradient of ``fn`` at ``points`` against central differences.

    ``fn`` takes one symbolic input per point and returns a symbolic scalar or
    tensor (a tensor is projected onto a fixed random tensor).  For each float
    input, the derivative along a random direction from ``grad`` is compared with
    ``(f(x + eps d) - f(x - eps d)) / (2 eps)``.  Raises GradientError on mismatch.
    """
    from . import tensor as T
    from .compile.function import function
    from .grad import grad
    rng = rng if rng is not None else np.random.default_rng(0)
    points = [np.asarray(p) for p in points]
    inputs = [T.tensor(str(p.dtype), tuple(n == 1 for n in p.shape), name=f"input{k}")
              for k, p in enumerate(points)]
    differentiable = [k for k, p in enumerate(points) if is_float(p.dtype)]
    if not differentiable:
        raise TypeError("verify_grad: none of the points is a float array")
    out = T.as_tensor_variable(fn(*inputs))
    if not is_float(out.dtype):
        raise TypeError(f"verify_grad: fn must return a float result, got {out.dtype}")
    least = "float32" if "float32" in [out.dtype] + [points[k].dtype for k in differentiable] \
        else "float64"
    eps = _DEFAULTS[least][0] if eps is None else eps
    tol = _DEFAULTS[least][1] if tol is None else tol

    cost = out
    if out.ndim:
        shape = np.shape(function(inputs, out, mode=mode, on_unused_input="ignore")(*points))
        projection = T.constant(rng.standard_normal(shape).astype(out.dtype))
        cost = (out * projection).sum()
    f_cost = function(inputs, cost, mode=mode, on_unused_input="ignore")
    grads = grad(cost, [inputs[k] for k in differentiable], disconnected_inputs="ignore")
    analytic_grads = function(inputs, grads, mode=mode, on_unused_input="ignore")(*points)
    tiny = np.finfo(least).eps

    for k, g in zip(differentiable, analytic_grads):
        p = points[k]
        direction = rng.standard_normal(p.shape)
        # perturbed points rounded to the input dtype; the step actually taken is
        # their difference, so rounding does not count as gradient error
        plus, minus = (p + eps * direction).astype(p.dtype), (p - eps * direction).astype(p.dtype)
        step = plus.astype("float64") - minus.astype("float64")
        f_plus = float(f_cost(*[plus if j == k else q for j, q in enumerate(points)]))
        f_minus = float(f_cost(*[minus if j == k else q for j, q in enumerate(points)]))
        numeric = (f_plus - f_minus) / (2 * eps)
        analytic = float(np.sum(np.asarray(g, "float64") * step)) / (2 * eps)
        abs_err = abs(analytic - numeric)
        # errors are measured against the size of the gradient (|g| |d|, which a
        # directional derivative can fall far below by cancellation), plus the
        # rounding noise of the two cost values amplified by the division
        scale = max(abs(analytic), abs(numeric),
                    float(np.linalg.norm(g) * np.linalg.norm(step)) / (2 * eps))
        rel_err = abs_err / scale if scale else 0.0
        noise = 10 * tiny * max(abs(f_plus), abs(f_minus)) / (2 * eps)
        if not np.isfinite(analytic) or abs_err > tol * scale + noise:
            name = getattr(inputs[k], "name", None)
            raise GradientError(k, name, analytic, numeric, abs_err, rel_err, tol)

