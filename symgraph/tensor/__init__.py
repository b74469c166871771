"""``import symgraph.tensor as T``: the Theano-style namespace."""
from . import nnet
from .basic import *  # noqa: F401,F403
from .basic import (abs, all, any, max, min, pow, round, sum)  # noqa: F401  (names shadowing builtins)
from .variable import TensorVariable
from ..types import TensorType
from ..grad import grad, jacobian, hessian, Lop, Rop
from ..shared import shared
from ..printing import pp, debugprint
