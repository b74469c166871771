"""TensorType: a dtype plus one broadcastable flag per axis.

The flags are the single source of truth for broadcasting: an axis may be
stretched only where its flag is True, and a flagged axis always has length 1.
"""
from dataclasses import dataclass

import numpy as np

from .late import variable

# the dtypes symgraph knows, by the one-letter prefixes of T.dmatrix, T.ivector, ...
PREFIX_DTYPES = {"b": "int8", "w": "int16", "i": "int32", "l": "int64",
                 "f": "float32", "d": "float64"}
KNOWN_DTYPES = ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16",
                "uint32", "uint64", "float32", "float64")


def upcast(*dtypes):
    """NumPy's promotion of several dtypes, as a string."""
    return str(np.result_type(*[np.dtype(d) for d in dtypes]))


def is_float(dtype):
    """True for a floating-point dtype (a NumPy dtype or its name)."""
    return np.dtype(dtype).kind == "f"


def is_int(dtype):
    return np.dtype(dtype).kind in "iub"


@dataclass(frozen=True)
class TensorType:
    """The type of a tensor variable: its ``dtype`` and one broadcastable flag per axis.
    Calling it makes a variable: TensorType('float64', (False, True))('c') is a column."""
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
        return variable.TensorVariable(self, name=name)

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

    def device_problem(self, value, name="input"):
        """For an array already on a GPU (never converted: that would copy it):
        the message when its dtype or shape does not fit this type, else None."""
        if np.dtype(value.dtype) != np.dtype(self.dtype):
            return f"{name} is a device array of dtype {value.dtype}, expected {self.dtype}"
        return self.shape_error(tuple(value.shape), name)

    def filter(self, value, name="input", allow_downcast=False):
        """Turn a user value into an ndarray of this type, or raise a clear error."""
        if isinstance(value, np.ndarray) and value.dtype == self.dtype:
            arr = value
        else:
            arr = _as_array(value, name, self)
            if arr.dtype != self.dtype:
                arr = self._convert(arr, value, name, allow_downcast)
        problem = self.shape_error(arr.shape, name)
        if problem:
            raise (TypeError if arr.ndim != self.ndim else ValueError)(problem)
        return arr

    def _convert(self, arr, value, name, allow_downcast):
        if arr.dtype == object:
            raise TypeError(f"{name}: cannot convert {type(value).__name__} to {self.dtype}")
        python_value = not isinstance(value, (np.ndarray, np.generic))
        if python_value and arr.dtype.kind in "iu" and is_int(self.dtype) and self.dtype != "bool":
            _check_range(arr, name, self.dtype)
        if allow_downcast or np.can_cast(arr.dtype, self.dtype, "safe"):
            return arr.astype(self.dtype)
        if python_value:
            # Python numbers and lists: floats may go to any float dtype (as in
            # Theano), other values only when they convert exactly
            converted = arr.astype(self.dtype)
            if (arr.dtype.kind == "f" and is_float(self.dtype)) or np.array_equal(converted, arr):
                return converted
        raise TypeError(
            f"{name} expects dtype {self.dtype} but got {arr.dtype}; converting would lose "
            f"precision. Pass a {self.dtype} array, or compile with allow_input_downcast=True")


# ------------------------------------------------------------------ user values
# What np.asarray makes of values that are not arrays of numbers, said in the
# user's terms (which input, what is wrong, what to pass instead)
def _as_array(value, name, ttype):
    try:
        arr = np.asarray(value)
    except ValueError as exc:
        where = _ragged_where(value)
        if where is not None:
            raise ValueError(f"{name} is a ragged nested list: {where}. Every row must have "
                             f"the same length: pad or trim the rows (or pass a "
                             f"{ttype.ndim}-d NumPy array)") from None
        raise ValueError(f"{name}: cannot make an array of this {type(value).__name__}: "
                         f"{exc}") from exc
    kind = arr.dtype.kind
    wanted = f"a {ttype.ndim}-d array of {ttype.dtype}"
    if kind in "US":
        text = repr(arr.reshape(-1)[0].item()) if arr.size else "''"
        raise TypeError(f"{name} got text ({text}), not numbers; {name} takes {wanted}: "
                        f"convert the text first, e.g. np.asarray(values, dtype={ttype.dtype!r})")
    if kind == "c" and not np.dtype(ttype.dtype).kind == "c":
        raise TypeError(f"{name} got complex values, but {ttype.dtype} has no imaginary part; "
                        f"pass np.real(value) (or np.abs(value)) explicitly")
    if kind in "mMV":
        raise TypeError(f"{name} got an array of {arr.dtype} ({arr.dtype.kind!r} kind), not "
                        f"numbers; {name} takes {wanted}")
    if kind == "O":
        return _from_objects(arr, value, name, ttype, wanted)
    return arr


def _is_real_number(v):
    return isinstance(v, (bool, int, float, np.bool_, np.integer, np.floating))


def _from_objects(arr, value, name, ttype, wanted):
    """An object array (None, a dict, a list holding None, Python ints too large
    for int64, an array of dtype=object) as numbers, or a clear error."""
    if arr.ndim == 0:
        obj = arr[()]
        if obj is None:
            raise TypeError(f"{name} is None; pass {wanted} (or give {name} a default "
                            f"value with sg.In(variable, value=...))")
        if not _is_real_number(obj):
            raise TypeError(f"{name} got a {type(obj).__name__}, which is not an array; pass "
                            f"{wanted} (a NumPy array, a number or a nested list of numbers)")
    else:
        for index in np.ndindex(arr.shape):
            item = arr[index]
            if not _is_real_number(item):
                text = repr(item)
                text = text if len(text) <= 40 else text[:37] + "..."
                raise TypeError(f"{name}: the element at index {index} is {text} (a "
                                f"{type(item).__name__}), not a number; pass {wanted}")
    # numbers only: Python ints beyond 64 bits, or a dtype=object array of numbers
    numbers = arr.tolist()
    if is_int(ttype.dtype) and ttype.dtype != "bool":
        _check_range(np.asarray(numbers, dtype=object), name, ttype.dtype)
    out = np.asarray(numbers)
    if out.dtype == object:
        try:
            out = np.asarray(numbers, dtype=ttype.dtype)
        except OverflowError:
            raise OverflowError(f"{name} holds an integer too large for {ttype.dtype}") from None
    return out


def _check_range(arr, name, dtype):
    """Python integers must fit the input's integer dtype (NumPy 2 refuses to wrap them)."""
    if arr.size == 0:
        return
    info = np.iinfo(dtype)
    low, high = int(arr.min()), int(arr.max())
    if low < info.min or high > info.max:
        bad = low if low < info.min else high
        raise OverflowError(f"{name}: {bad} is out of range for {dtype} ({info.min} to "
                            f"{info.max}); pass a value in that range, or declare the input "
                            f"with a wider integer type")


def _ragged_where(value):
    """Where a nested list stops being rectangular, in words (None: it does not)."""
    level = [((), value)]
    while level:
        seqs = [isinstance(v, (list, tuple)) or (isinstance(v, np.ndarray) and v.ndim > 0)
                for _, v in level]
        if not any(seqs):
            return None
        if not all(seqs):
            (i, v), (j, w) = level[seqs.index(True)], level[seqs.index(False)]
            return f"item {list(j)} is {w!r}, a single value, where item {list(i)} is a sequence"
        lengths = [len(v) for _, v in level]
        if len(set(lengths)) > 1:
            k = next(k for k, n in enumerate(lengths) if n != lengths[0])
            return (f"item {list(level[k][0])} has {lengths[k]} entries where item "
                    f"{list(level[0][0])} has {lengths[0]}")
        level = [(index + (k,), item) for index, v in level for k, item in enumerate(v)]
    return None
