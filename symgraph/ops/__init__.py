"""Ops by family.  Each op is a frozen dataclass with make_node, perform and grad."""
from . import base, blas, check, elemwise, indexing, nnet, reduce, shape  # noqa: F401
from .base import Op  # noqa: F401
