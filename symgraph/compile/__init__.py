"""function(): from symbolic graph to a callable, through one backend per mode."""
from .function import Function, In, function  # noqa: F401
from .out import Out  # noqa: F401
