"""Shared variables: symbolic inputs with a value that persists between calls
and that compiled functions may update."""
import numpy as np

from .tensor.variable import TensorVariable
from .types import TensorType


class SharedVariable(TensorVariable):
    def __init__(self, type, value, name=None):
        super().__init__(type, name=name)
        self.container = _Container(value)
        # Theano's default_update: applied by every function unless no_default_updates
        self.default_update = None

    def get_value(self, borrow=False, return_internal_type=False):
        value = self.container.value
        return value if borrow else np.array(value, copy=True)

    def set_value(self, value, borrow=False):
        arr = self.type.filter(value, name=f"shared variable {self.name or ''}".strip())
        if arr is value and not borrow:
            arr = np.array(arr, copy=True)
        self.container.value = arr

    @property
    def value(self):
        return self.get_value()

    def clone(self):
        cp = SharedVariable(self.type, self.container.value, self.name)
        cp.container = self.container
        return cp

    def __repr__(self):
        return self.name or "<shared>"


class _Container:
    """Holds the current value; a function may swap in a backend-specific array."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


def shared(value, name=None, borrow=False, broadcastable=None, strict=False, allow_downcast=None):
    """A shared variable holding ``value``.

    Only the axes flagged in ``broadcastable`` may broadcast; they must have
    length 1.  By default no axis is broadcastable (as in Theano).
    """
    if isinstance(value, (int, float, bool, np.number, np.bool_)):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        value = np.asarray(value)
    if value.dtype == object:
        raise TypeError("shared: the value must be numeric")
    if broadcastable is None:
        broadcastable = (False,) * value.ndim
    broadcastable = tuple(bool(b) for b in broadcastable)
    if len(broadcastable) != value.ndim:
        raise ValueError(f"shared {name or ''}: {len(broadcastable)} broadcastable flags given for a "
                         f"{value.ndim}-d value of shape {value.shape}")
    type = TensorType(str(value.dtype), broadcastable)
    problem = type.shape_error(value.shape, f"shared variable {name!r}" if name else "shared value")
    if problem:
        raise ValueError(problem)
    if not borrow:
        value = np.array(value, copy=True)
    return SharedVariable(type, value, name=name)
