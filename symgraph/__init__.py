"""symgraph: a Theano-style symbolic computation-graph compiler.

    import symgraph as sg            # or: import symgraph as theano
    import symgraph.tensor as T
"""
from .config import config
from . import graph, tensor, printing  # noqa: F401
from .graph import Apply, Constant, FunctionGraph, Variable  # noqa: F401
from .shared import SharedVariable, shared
from .grad import grad
from .gradcheck import GradientError, verify_grad  # noqa: F401
from .compile import In, Function, function
from .printing import debugprint, pp
from .optimize import optimize_fgraph


def optimize(outputs, optimizer=None):
    """The outputs after the graph passes, without compiling (to see what they do)."""
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    fg = FunctionGraph(graph.graph_inputs(outs), outs)
    fg = optimize_fgraph(fg, optimizer or config.optimizer)
    return fg.outputs[0] if single else fg.outputs


__version__ = "0.1.0"
__all__ = ["config", "shared", "SharedVariable", "grad", "verify_grad", "function", "In",
           "Function", "debugprint", "pp", "optimize", "tensor", "printing", "graph"]
from . import scan_module  # noqa: E402,F401
from .scan_module import scan, until, map, reduce, foldl, foldr  # noqa: E402,F401
from . import ifelse  # noqa: E402,F401
from . import gradient  # noqa: E402,F401
from .compile.out import Out  # noqa: E402,F401
from .compile.mode import Mode  # noqa: E402,F401
from .tensor.shared_randomstreams import RandomStreams  # noqa: E402,F401
from . import sandbox  # noqa: E402,F401
