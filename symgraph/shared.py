"""Shared variables: symbolic inputs with a value that persists between calls
and that compiled functions may update."""
import itertools
import threading

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
        if borrow:
            return self.container.value
        # a function updating this variable in place may be running in another
        # thread: its lock makes the copy show the value before or after that call
        with self.container.lock:
            return np.array(self.container.value, copy=True)

    def set_value(self, value, borrow=False):
        arr = self.type.filter(value, name=f"shared variable {self.name or ''}".strip())
        if arr is value and not borrow:
            arr = np.array(arr, copy=True)
        with self.container.lock:
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


_created = itertools.count()


class _Container:
    """Holds the current value; a function may swap in a backend-specific array.

    ``lock`` is held by a call that updates shared variables, from reading their
    values to writing the new ones, and by get_value/set_value.  A call takes the
    locks of all its shared variables in ``order`` (creation order), so calls of
    different functions that share variables cannot deadlock.  Reentrant, so that
    a call made while holding it (the fallback of a fast call) does not hang.
    """
    __slots__ = ("value", "lock", "order")

    def __init__(self, value):
        self.value = value
        self.lock = threading.RLock()
        self.order = next(_created)

    # pickled and deep-copied without its lock: a copy is a new variable
    def __getstate__(self):
        return self.value

    def __setstate__(self, value):
        self.__init__(value)


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
