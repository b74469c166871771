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
            # after a mode='cuda' update, the device array itself (no copy)
            device = self.container.newer_on_device()
            return device if device is not None else self.container.value
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
            self.container.mirror = None

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

    ``mirror``: (host array, device array) when a mode='cuda' function keeps a
    copy on the GPU: the copy is current while ``value`` is that host array.  A
    cuda update stores (None, new device array) and drops ``value``; reading
    ``value`` then copies the device array back (``__getattr__`` runs only for
    a missing slot, so the CPU backends' reads stay plain attribute reads).
    """
    __slots__ = ("value", "lock", "order", "mirror")

    def __init__(self, value):
        self.value = value
        self.lock = threading.RLock()
        self.order = next(_created)
        self.mirror = None

    def __getattr__(self, name):
        if name != "value":
            raise AttributeError(name)
        device = self.mirror[1]
        host = device.copy_to_host()
        self.value = host
        self.mirror = (host, device)
        return host

    def device_value(self, to_device):
        """The device copy, made with ``to_device`` when there is none current."""
        mirror = self.mirror
        if mirror is not None and (mirror[0] is None or mirror[0] is self.value):
            return mirror[1]
        host = self.value
        device = to_device(host)
        self.mirror = (host, device)
        return device

    def set_device(self, device):
        """A new value computed on the device: the host copy is gone."""
        if not hasattr(device, "copy_to_host"):   # a 0-d value comes back as a host array
            self.value, self.mirror = device, None
            return
        self.mirror = (None, device)
        try:
            del self.value
        except AttributeError:
            pass

    def newer_on_device(self):
        mirror = self.mirror
        return mirror[1] if mirror is not None and mirror[0] is None else None

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
