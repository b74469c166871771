"""IfElse: one of two inner graphs, chosen at run time by a scalar condition.

Why inner graphs rather than the branch results as inputs (as Theano does): the
backends evaluate every input of a node before the node, so a branch given as
an input would always run.  Held inside the op, only the branch taken is
evaluated, by the reference (``perform``) and by the Numba lowering
(compile/lower_ifelse.py) alike, and a branch that would fail (an index out of
range, a failing check) does no harm when it is not taken.
"""
import functools
from dataclasses import dataclass

import numpy as np

from ..graph import Constant, FunctionGraph, clone_replace, graph_inputs, ancestors
from ..late import late, tensor as T
from ..types import TensorType, is_float
from .base import Op

# the gradient is built with grad and run by the reference backend: both sit
# above the ops (see late.py)
_grad = late("symgraph.grad")
_python = late("symgraph.compile.python")


@dataclass(frozen=True)
class IfElse(Op):
    """``then_outputs`` when the condition (input 0, a scalar) is nonzero, else
    ``else_outputs``.  Inputs 1.. are the branches' free variables; both
    branches are graphs over the placeholders ``inner_inputs`` (one per free
    variable; a branch may use only some of them)."""
    inner_inputs: tuple
    then_outputs: tuple
    else_outputs: tuple

    def make_node(self, cond, *inputs):
        if cond.ndim != 0:
            raise TypeError(f"ifelse: the condition must be a scalar, got {cond.type}")
        if len(inputs) != len(self.inner_inputs):
            raise TypeError(f"ifelse takes {len(self.inner_inputs)} inputs after the "
                            f"condition, got {len(inputs)}")
        for k, (outer, inner) in enumerate(zip(inputs, self.inner_inputs)):
            if outer.type != inner.type:
                raise TypeError(f"ifelse: input {k} is {outer.type}, which does not fit the "
                                f"inner input {inner.type}")
        out_types = []
        for k, (a, b) in enumerate(zip(self.then_outputs, self.else_outputs)):
            if a.dtype != b.dtype or a.ndim != b.ndim:
                raise TypeError(f"ifelse: output {k}: the then branch gives {a.type} and the "
                                f"else branch {b.type}; they need the same dtype and ndim")
            # an axis is known to be length 1 only when it is in both branches
            out_types.append(TensorType(a.dtype, tuple(x and y for x, y in
                                                       zip(a.broadcastable, b.broadcastable))))
        return self.apply([cond, *inputs], out_types)

    @property
    def nout(self):
        return len(self.then_outputs)

    def infer_shape(self, node, input_shapes):
        # which branch's shape it is is known only once the condition is: declined
        return None

    @functools.cached_property
    def _programs(self):
        return tuple(_python.compile_python(FunctionGraph(list(self.inner_inputs), list(outs)))
                     for outs in (self.then_outputs, self.else_outputs))

    def perform(self, cond, *values):
        # only the branch taken runs: that is the point of the op
        program = self._programs[0 if bool(np.asarray(cond)) else 1]
        outs = program(list(values))
        return tuple(outs) if len(outs) > 1 else outs[0]

    def grad(self, inputs, outputs, output_grads):
        # Each branch's gradient is taken inside that branch, and the two are
        # chosen by the same condition: a lazy ifelse again, so the gradient of
        # the branch not taken is never computed.  An input the taken branch
        # does not use gets zeros.  The condition only chooses: no gradient.
        # typed as the node's outputs, which the output gradients have
        cotangents = [o.type() for o in outputs]
        wanted = [v for v in self.inner_inputs if is_float(v.dtype)]
        branch_grads = []
        for outs in (self.then_outputs, self.else_outputs):
            seeds = {}
            for o, c in zip(outs, cotangents):
                if is_float(o.dtype) and not isinstance(o, Constant):
                    seeds[o] = seeds[o] + c if o in seeds else c
            gs = _grad.grad(None, wanted, known_grads=seeds, disconnected_inputs="ignore",
                            return_disconnected=None) if seeds and wanted else [None] * len(wanted)
            branch_grads.append(dict(zip(wanted, gs)))
        result = [None] * len(inputs)
        picked = [(k, v) for k, v in enumerate(self.inner_inputs)
                  if any(g.get(v) is not None for g in branch_grads)]
        if not picked:
            return result
        pairs = []
        for _, v in picked:
            # zeros built on the placeholder, so they stay inside the branch
            then_g, else_g = (g.get(v) if g.get(v) is not None else T.zeros_like(v)
                              for g in branch_grads)
            pairs.append((then_g, else_g))
        bound = dict(zip(self.inner_inputs, inputs[1:])) | dict(zip(cotangents, output_grads))
        grads = _build(inputs[0], [a for a, _ in pairs], [b for _, b in pairs], bound)
        for (k, _), g in zip(picked, grads):
            result[k + 1] = T.unbroadcast(g, inputs[k + 1])
        return result

    def __str__(self):
        return "ifelse"


def _build(cond, then_outs, else_outs, bound):
    """The IfElse outputs for branch graphs ``then_outs`` / ``else_outs``.

    ``bound``: {variable: outer variable}: stand-ins the branches use for
    values computed outside (the gradient's placeholders and cotangents).
    Every other ownerless variable the branches use is passed in too; the
    nodes between them and the branch outputs go inside the op.  What the
    condition needs is computed before the choice anyway, so it is passed in
    rather than computed again inside a branch.
    """
    blockers = set(bound) | set(ancestors([cond]))
    free = [v for v in graph_inputs(list(then_outs) + list(else_outs), blockers)]
    placeholders = [v.type(v.name) for v in free]
    memo = dict(zip(free, placeholders))
    then_inner = clone_replace(list(then_outs), memo)
    else_inner = clone_replace(list(else_outs), memo)
    op = IfElse(tuple(placeholders), tuple(then_inner), tuple(else_inner))
    outer = [bound.get(v, v) for v in free]
    return op.make_node(cond, *outer).outputs
