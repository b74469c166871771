"""``import symgraph.tensor as T``: the Theano-style namespace."""
import importlib

from . import nlinalg, nnet, slinalg  # noqa: F401  (T.nlinalg, T.slinalg)
from .basic import *  # noqa: F401,F403
from .basic import abs, pow, round  # noqa: F401  (names shadowing builtins)
from .reductions import *  # noqa: F401,F403
from .reductions import all, any, max, min, sum  # noqa: F401  (names shadowing builtins)
from .indexing import *  # noqa: F401,F403
from .shapes import *  # noqa: F401,F403
from .flags import *  # noqa: F401,F403
from .nlinalg import diag, eye, trace  # noqa: F401  (Theano's T.eye, T.diag, T.trace)
from .variable import TensorVariable  # noqa: F401
from ..types import TensorType  # noqa: F401

# T also offers what is built on the tensors (Theano's T.grad, T.shared): those
# modules import this package, so their names are looked up when first used
# (the late binding of late.py, as a module __getattr__)
_ABOVE = {"grad": "symgraph.grad", "Lop": "symgraph.grad", "Rop": "symgraph.grad",
          "jacobian": "symgraph.jacobian", "hessian": "symgraph.jacobian",
          "shared": "symgraph.shared", "pp": "symgraph.printing",
          "debugprint": "symgraph.printing"}


def __getattr__(name):
    if name in _ABOVE:
        value = getattr(importlib.import_module(_ABOVE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'symgraph.tensor' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ABOVE))
