"""The Op protocol.

An op is a small frozen dataclass: its fields are its parameters, so equal ops
compare and hash equal (the merge pass relies on it).  Side by side, each op
has its type rule (``make_node``), its NumPy reference (``perform``) and its
gradient (``grad``).
"""
import functools
from dataclasses import dataclass

from ..graph import Apply, FunctionGraph, Variable
from ..late import late, tensor as T
from .. import testvalues

# an inner graph's reference run is the reference backend, above the ops (late.py)
_python = late("symgraph.compile.python")


@dataclass(frozen=True)
class Op:
    # number of outputs; ops with several outputs return a tuple from perform
    nout = 1
    # Facts the optimizer and the backends read from the op itself:
    # the input position whose memory output 0 may share (a view), or None
    view_of = None
    # the input position whose shape output 0 always has (elementwise ops aside), or None
    shape_of = None
    # worth recomputing in every consumer rather than storing (fusion)
    cheap = False
    # runs for an effect besides its result (Print): never folded into a constant
    has_effect = False

    def pp_text(self, args, inputs):
        """How ``sg.pp`` prints this op on argument texts ``args``; None: ``name(args)``."""
        return None

    def make_node(self, *inputs):
        raise NotImplementedError

    def perform(self, *inputs):
        """NumPy reference: input arrays in, output array (or tuple) out."""
        raise NotImplementedError

    def grad(self, inputs, outputs, output_grads):
        """Symbolic gradient: one entry per input; None where no gradient flows."""
        raise NotImplementedError(f"{self} has no gradient")

    def validate(self, node, values):
        """Check runtime input values against the node's types (override where needed)."""

    def infer_shape(self, node, input_shapes):
        """The outputs' shapes without running the op: given one tuple of int64
        scalar variables per input (its lengths, the constant 1 on a broadcastable
        axis), one tuple per output, where an entry may be None (not known before
        run time); None declines for the whole node.  The default reads the
        ``shape_of`` fact; an op without it defines its own."""
        if self.shape_of is not None:
            return [tuple(input_shapes[self.shape_of])]
        return None

    def __call__(self, *inputs, name=None):
        node = self.make_node(*[T.as_tensor_variable(i) for i in inputs])
        if len(node.outputs) == 1:
            node.outputs[0].name = name
            return node.outputs[0]
        return node.outputs

    def __str__(self):
        return type(self).__name__.lower()

    def __getstate__(self):
        # what a cached_property keeps (an inner graph's reference program) is
        # made again when needed: a pickled op holds its fields only
        cls = type(self)
        return {k: v for k, v in self.__dict__.items()
                if not isinstance(getattr(cls, k, None), functools.cached_property)}

    def apply(self, inputs, output_types):
        """Helper for make_node: the Apply of this op on ``inputs``."""
        for i in inputs:
            if not isinstance(i, Variable):
                raise TypeError(f"{self}: expected symbolic inputs, got {type(i).__name__}")
        node = Apply(self, inputs, output_types)
        testvalues.compute(node)   # when config.compute_test_value is on
        return node


class InnerGraphOp(Op):
    """An op holding a graph over placeholders of its own, ``inner_inputs`` ->
    ``inner_outputs`` (map_rows, scan), which its ``perform`` runs through the
    reference backend."""

    def inner_fgraph(self):
        return FunctionGraph(list(self.inner_inputs), list(self.inner_outputs))

    @functools.cached_property
    def _program(self):
        return _python.compile_python(self.inner_fgraph())
