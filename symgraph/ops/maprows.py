"""MapRows: an inner graph evaluated once per row of its sequences, the results
stacked along a new axis 0 (what jacobian.py builds Jacobians from).

Why a map rather than one batched product: a batched seed would need every
op's ``grad`` to accept an extra leading axis, and grads written for fixed
ranks (dot, dimshuffle, reductions over numbered axes) do not.  MapRows works
for any differentiable graph, keeps the inner graph visible to backends
(``op.inner_inputs`` / ``op.inner_outputs``), and has a gradient of its own, so
Hessians of Jacobians and Rop through a Jacobian work too.
"""
from dataclasses import dataclass

import numpy as np

from ..graph import clone_replace, close_over
from ..late import late, tensor as T
from ..types import TensorType, is_float
from .. import testvalues
from .base import InnerGraphOp

# MapRows' gradient is a map of the inner graph's gradient, which sits above
# the ops (see late.py)
_grad = late("symgraph.grad")


@dataclass(frozen=True)
class MapRows(InnerGraphOp):
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

    def infer_shape(self, node, input_shapes):
        # one row per row of the sequences; a row's own shape comes from the
        # inner graph at run time
        rows = input_shapes[0][0]
        return [(rows,) + (None,) * (out.ndim - 1) for out in node.outputs]

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
        inner_grads = _grad.grad(None, wanted, known_grads=seeds, disconnected_inputs="ignore",
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
    placeholder = TensorType(sequence.dtype, sequence.broadcastable[1:])(name)
    # the body's code then computes test values too (config.compute_test_value)
    testvalues.give_first_row(sequence, placeholder)
    return placeholder


def map_rows(outputs, sequences, rows):
    """``outputs`` evaluated once per row of ``sequences``, stacked along axis 0.

    ``rows[k]`` is a placeholder for one row of ``sequences[k]``.  ``outputs``
    may use the placeholders and any other variables: the parts that do not
    depend on a row are computed once, outside, and passed in whole.
    """
    inner_rows = [r.type(r.name) for r in rows]
    fixed, inner_fixed, outputs = close_over(list(outputs), rows)
    inner_outputs = clone_replace(outputs, dict(zip(rows, inner_rows)))
    op = MapRows(tuple(inner_rows + inner_fixed), tuple(inner_outputs), len(rows))
    return op.make_node(*sequences, *fixed).outputs


