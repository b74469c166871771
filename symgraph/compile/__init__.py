"""function(): from symbolic graph to a callable, through one backend per mode."""
from .function import Function, In, function  # noqa: F401
from .out import Out  # noqa: F401
from .mode import Mode, get_mode  # noqa: F401
from .monitormode import MonitorMode  # noqa: F401
from .nanguardmode import NanGuardError, NanGuardMode  # noqa: F401
