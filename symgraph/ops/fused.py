"""Fused elementwise op: a chain of elementwise ops run as one loop.

The fusion pass builds it; backends compile ``scalar_lines`` into the body of
a single loop, and the reference backend runs the steps with NumPy.
"""
from dataclasses import dataclass

import numpy as np

from .elemwise import Elemwise
from ..late import late

_grad = late("symgraph.grad")     # a fused op's gradient is that of its steps


@dataclass(frozen=True)
class Fused(Elemwise):
    """``steps`` is a tuple of (op, refs): ref k < n_inputs names input k, larger
    refs name the result of step k - n_inputs.  The last step is the output."""
    n_inputs: int = 0
    steps: tuple = ()
    nin = None

    def output_dtype(self, dtypes):
        values = [np.ones((), d) for d in dtypes]
        with np.errstate(all="ignore"):   # log1p(-1) and the like: only the dtype matters
            return str(np.asarray(self._run(values)).dtype)

    def _run(self, values):
        results = list(values)
        for op, refs in self.steps:
            args = [results[r] for r in refs]
            out = np.asarray(op.perform(*args))
            dtype = op.output_dtype([str(np.asarray(a).dtype) for a in args])
            results.append(out if out.dtype == dtype else out.astype(dtype))
        return results[-1]

    def perform(self, *values):
        return self._run(list(values))

    def scalar_lines(self, args, prefix="t"):
        """Statements computing the steps from the scalar expressions ``args``,
        and the name holding the result."""
        names, lines = list(args), []
        for j, (op, refs) in enumerate(self.steps):
            name = f"{prefix}{j}"
            lines.append(f"{name} = {op.scalar_code([names[r] for r in refs])}")
            names.append(name)
        return lines, names[-1]

    def scalar_code(self, args):
        names = list(args)
        for op, refs in self.steps:
            names.append(op.scalar_code([names[r] for r in refs]))
        return names[-1]

    def expand(self, inputs):
        """The unfused graph of this op applied to symbolic ``inputs``."""
        results = list(inputs)
        for op, refs in self.steps:
            results.append(op(*[results[r] for r in refs]))
        return results[-1]

    def grad(self, inputs, outputs, output_grads):
        return _grad.Lop(self.expand(inputs), list(inputs), output_grads[0], disconnected_inputs="ignore")

    def __str__(self):
        return "fused{" + ",".join(str(op) for op, _ in self.steps) + "}"

