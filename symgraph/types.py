"""TensorType: a dtype plus one broadcastable flag per axis.

The flags are the single source of truth for broadcasting: an axis may be
stretched only where its flag is True, and a flagged axis always has length 1.
"""
from dataclasses import dataclass

import numpy as np

# the dtypes symgraph knows, by the one-letter prefixes of T.dmatrix, T.ivector, ...
PREFIX_DTYPES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
                 "f": "float32", "d": "float64"}
KNOWN_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "float32", "float64")


def upcast(*dtypes):
    """NumPy's promotion of several dtypes, as a string."""
    return str(np.result_type(*[np.dtype(d) for d in dtypes]))


def is_float(dtype):
    return np.dtype(dtype).kind == "f"


def is_int(dtype):
    return np.dtype(dtype).kind in "iub"


@dataclass(frozen=True)
class TensorType:
    dtype: str
    broadcastable: tuple

    def __post_init__(self):
        dtype = str(np.dtype(self.dtype))
        if dtype not in KNOWN_DTYPES:
            raise TypeError(f"unsupported dtype {dtype!r}")
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "broadcastable", tuple(bool(b) for b in self.broadcastable))

    @property
    def ndim(self):
        return len(self.broadcastable)

    def __call__(self, name=None):
        from .tensor.variable import TensorVariable
        return TensorVariable(self, name=name)

    def __str__(self):
        kind = {0: "Scalar", 1: "Vector", 2: "Matrix"}.get(self.ndim, f"Tensor{self.ndim}")
        if self.ndim == 2 and self.broadcastable == (True, False):
            kind = "Row"
        elif self.ndim == 2 and self.broadcastable == (False, True):
            kind = "Col"
        return f"Tensor{{{self.dtype}, {self.broadcastable}}}" if kind.startswith("Tensor") \
            else f"{kind}({self.dtype})"

    def shape_error(self, shape, what):
        """The message for a shape that breaks the flags, or None."""
        if len(shape) != self.ndim:
            return f"{what} has {len(shape)} dimensions, expected {self.ndim}"
        for axis, (n, flag) in enumerate(zip(shape, self.broadcastable)):
            if flag and n != 1:
                return (f"{what} has length {n} on axis {axis}, but that axis is "
                        f"flagged broadcastable, so its length must be 1")
        return None

    def filter(self, value, name="input", allow_downcast=False):
        """Turn a user value into an ndarray of this type, or raise a clear error."""
        if isinstance(value, np.ndarray) and value.dtype == self.dtype:
            arr = value
        else:
            arr = np.asarray(value)
            if arr.dtype != self.dtype:
                arr = self._convert(arr, value, name, allow_downcast)
        problem = self.shape_error(arr.shape, name)
        if problem:
            raise (TypeError if arr.ndim != self.ndim else ValueError)(problem)
        return arr

    def _convert(self, arr, value, name, allow_downcast):
        if arr.dtype == object:
            raise TypeError(f"{name}: cannot convert {type(value).__name__} to {self.dtype}")
        if allow_downcast or np.can_cast(arr.dtype, self.dtype, "safe"):
            return arr.astype(self.dtype)
        if not isinstance(value, (np.ndarray, np.generic)):
            # Python numbers and lists: floats may go to any float dtype (as in
            # Theano), other values only when they convert exactly
            converted = arr.astype(self.dtype)
            if (arr.dtype.kind == "f" and is_float(self.dtype)) or np.array_equal(converted, arr):
                return converted
        raise TypeError(
            f"{name} expects dtype {self.dtype} but got {arr.dtype}; converting would lose "
            f"precision. Pass a {self.dtype} array, or compile with allow_input_downcast=True")
