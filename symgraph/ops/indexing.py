"""Indexing: basic (ints and slices), advanced (integer and boolean arrays), and
the inc/set ops that are their gradients.

An index is described by a static ``spec`` (one entry per item of the Python
index) while its numbers are graph inputs, so ``x[i:j]`` with symbolic ``i`` and
``j`` works and equal specs make equal ops:
    ("i",)                   a scalar integer
    ("s", start, stop, step) a slice; each flag says whether that part is given
    ("a",)                   an integer or boolean array (advanced indexing)
    ("x",)                   a new axis (None)
"""
from dataclasses import dataclass

import numpy as np

from ..types import TensorType, upcast
from .base import Op
from .infer import broadcast_shape, length, slice_length
from ..late import tensor as T




def parse_index(ndim, index):
    """Python index -> (spec, list of index values to become inputs)."""
    index = index if isinstance(index, tuple) else (index,)
    n_used = sum(1 for i in index if i is not None and i is not Ellipsis
                 and not _is_bool_array(i)) + sum(_bool_ndim(i) for i in index)
    if sum(i is Ellipsis for i in index) > 1:
        raise IndexError("an index can only have one ellipsis ('...')")
    if n_used > ndim:
        raise IndexError(f"too many indices: {n_used} for a {ndim}-d tensor")
    spec, values = [], []
    for item in index:
        if item is Ellipsis:
            spec.extend([("s", False, False, False)] * (ndim - n_used))
        elif item is None:
            spec.append(("x",))
        elif isinstance(item, slice):
            parts = (item.start, item.stop, item.step)
            spec.append(("s",) + tuple(p is not None for p in parts))
            values.extend(p for p in parts if p is not None)
        elif _is_scalar(item):
            spec.append(("i",))
            values.append(item)
        else:
            spec.append(("a",))
            values.append(item)
    return tuple(spec), values


def _is_scalar(item):
    return np.ndim(item) == 0 if not hasattr(item, "ndim") else item.ndim == 0


def _is_bool_array(item):
    dtype = getattr(item, "dtype", None)
    if dtype is None and isinstance(item, (list, np.ndarray)):
        dtype = np.asarray(item).dtype
    return dtype is not None and str(dtype) == "bool" and not _is_scalar(item)


def _bool_ndim(item):
    return (item.ndim if hasattr(item, "ndim") else np.ndim(item)) if _is_bool_array(item) else 0


def build_index(spec, values):
    """The NumPy index for ``spec`` given the runtime index values."""
    values = iter(values)
    out = []
    for entry in spec:
        kind = entry[0]
        if kind == "i":
            out.append(int(next(values)))
        elif kind == "s":
            out.append(slice(*[int(next(values)) if given else None for given in entry[1:]]))
        elif kind == "a":
            out.append(np.asarray(next(values)))
        else:
            out.append(None)
    return tuple(out)


def n_index_inputs(spec):
    return sum(sum(e[1:]) if e[0] == "s" else int(e[0] in "ia") for e in spec)


def indexed_type(x, spec, index_vars):
    """The type of x[index]: NumPy's rules, with flags derived from x's flags."""
    if any(e[0] == "a" for e in spec):
        return _advanced_type(x, spec, index_vars)
    flags, axis = [], 0
    for entry in spec:
        if entry[0] == "x":
            flags.append(True)
            continue
        if entry[0] == "s":
            # a full slice of a broadcastable axis stays broadcastable
            flags.append(x.broadcastable[axis] and not any(entry[1:]))
        axis += 1
    flags.extend(x.broadcastable[axis:])
    return TensorType(x.dtype, tuple(flags))


def _advanced_type(x, spec, index_vars):
    it = iter(index_vars)
    pieces, axis = [], 0   # ("adv", flags) or ("basic", flag)
    adv_flags = []
    for entry in spec:
        kind = entry[0]
        used = [next(it) for _ in range(n_index_inputs((entry,)))]
        if kind == "x":
            pieces.append(("basic", True))
        elif kind == "s":
            pieces.append(("basic", x.broadcastable[axis] and not any(entry[1:])))
            axis += 1
        else:
            var = used[0]
            if var.dtype == "bool":
                if var.ndim == 0:
                    raise IndexError("a boolean scalar index is not supported")
                adv_flags.append((False,))
                axis += var.ndim
            else:
                if not var.dtype.startswith(("int", "uint")):
                    raise IndexError(f"index arrays must be integers or booleans, got {var.dtype}")
                adv_flags.append(var.broadcastable)
                axis += 1
            pieces.append(("adv",))
    ndim_adv = max(len(f) for f in adv_flags)
    padded = [(True,) * (ndim_adv - len(f)) + tuple(f) for f in adv_flags]
    broadcast = [all(col) for col in zip(*padded)] if padded else []
    kinds = [p[0] for p in pieces]
    first = kinds.index("adv")
    last = len(kinds) - 1 - kinds[::-1].index("adv")
    contiguous = all(k == "adv" for k in kinds[first:last + 1])
    basic = [p[1] for p in pieces if p[0] == "basic"]
    rest = list(x.broadcastable[axis:])
    if contiguous:
        n_before = sum(1 for p in pieces[:first] if p[0] == "basic")
        flags = basic[:n_before] + broadcast + basic[n_before:] + rest
    else:
        flags = broadcast + basic + rest
    return TensorType(x.dtype, tuple(flags))


def indexed_shape(spec, x, x_shape, index_vars, index_shapes, flags):
    """The shape of x[index] as int64 scalars (None where it depends on values:
    the number of True entries of a boolean mask, a slice whose step's sign is
    not known): the rule of indexed_type, applied to lengths."""
    values, shapes = iter(index_vars), iter(index_shapes)
    pieces, adv, axis = [], [], 0      # ("basic", length) or ("adv",)
    for entry in spec:
        kind = entry[0]
        used = [(next(values), next(shapes)) for _ in range(n_index_inputs((entry,)))]
        if kind == "x":
            pieces.append(("basic", length(1)))
        elif kind == "i":
            axis += 1
        elif kind == "s":
            bounds = iter(v for v, _ in used)
            start, stop, step = (next(bounds) if given else None for given in entry[1:])
            pieces.append(("basic", slice_length(x_shape[axis], start, stop, step)))
            axis += 1
        else:
            var, shape = used[0]
            adv.append((var, shape))
            pieces.append(("adv",))
            axis += var.ndim if var.dtype == "bool" else 1
    rest = list(x_shape[axis:])
    if not adv:
        shape = [p[1] for p in pieces] + rest
    else:
        if any(var.dtype == "bool" for var, _ in adv):
            ndim_adv = max(1 if var.dtype == "bool" else var.ndim for var, _ in adv)
            adv_shape = [None] * ndim_adv
        else:
            ndim_adv = max(var.ndim for var, _ in adv)
            # the index arrays broadcast together, as operands of an elementwise op
            padded = [(length(1),) * (ndim_adv - var.ndim) + tuple(s) for var, s in adv]
            pad_flags = [(True,) * (ndim_adv - var.ndim) + var.broadcastable for var, _ in adv]
            adv_shape = list(broadcast_shape(padded, pad_flags, ndim_adv))
        kinds = [p[0] for p in pieces]
        first = kinds.index("adv")
        last = len(kinds) - 1 - kinds[::-1].index("adv")
        basic = [p[1] for p in pieces if p[0] == "basic"]
        if all(k == "adv" for k in kinds[first:last + 1]):
            n_before = sum(1 for p in pieces[:first] if p[0] == "basic")
            shape = basic[:n_before] + adv_shape + basic[n_before:] + rest
        else:
            shape = adv_shape + basic + rest
    return tuple(length(1) if f else n for n, f in zip(shape, flags))


def _check_index_vars(spec, index_vars):
    for var, entry in zip(index_vars, [e for e in spec for _ in range(n_index_inputs((e,)))]):
        if entry[0] != "a" and (var.ndim != 0 or not var.dtype.startswith(("int", "uint"))):
            raise IndexError(f"slice bounds and scalar indices must be integer scalars, got {var.type}")


def index_text(spec, index_args):
    """The ``[...]`` text of an indexing spec, for printing."""
    it, items = iter(index_args), []
    for entry in spec:
        if entry[0] == "s":
            parts = [next(it) if given else "" for given in entry[1:]]
            items.append(":".join(parts[:2] if not entry[3] else parts))
        else:
            items.append("None" if entry[0] == "x" else next(it))
    return "[" + ", ".join(items) + "]"


@dataclass(frozen=True)
class Subtensor(Op):
    """x[index] with ints, slices, new axes and integer/boolean arrays."""
    spec: tuple

    @property
    def advanced(self):
        return any(e[0] == "a" for e in self.spec)

    @property
    def view_of(self):
        # basic indexing is a view of x; integer/boolean arrays make a copy
        return None if self.advanced else 0

    def pp_text(self, args, inputs):
        return args[0] + index_text(self.spec, args[1:])

    def make_node(self, x, *index_vars):
        _check_index_vars(self.spec, index_vars)
        return self.apply([x, *index_vars], [indexed_type(x, self.spec, index_vars)])

    def perform(self, x, *index_values):
        return np.asarray(x[build_index(self.spec, index_values)])

    def infer_shape(self, node, input_shapes):
        return [indexed_shape(self.spec, node.inputs[0], input_shapes[0], node.inputs[1:],
                              input_shapes[1:], node.outputs[0].broadcastable)]

    def grad(self, inputs, outputs, grads):
        x, *idx = inputs
        g = IncSubtensor(self.spec, set_instead_of_inc=False)(T.zeros_like(x), grads[0], *idx)
        return [g] + [None] * len(idx)

    def __str__(self):
        return "advanced_subtensor" if self.advanced else "subtensor"


def _may_repeat(index_vars):
    """Only integer index arrays can name a position twice (slices, scalars and
    boolean masks cannot)."""
    return any(v.ndim > 0 and v.dtype != "bool" for v in index_vars)


@dataclass(frozen=True)
class IncSubtensor(Op):
    """A copy of x with x[index] set to (or incremented by) y.

    With advanced indices repeated positions accumulate (NumPy's ``add.at``),
    which is what the gradient of advanced indexing needs.
    """
    spec: tuple
    shape_of = 0

    def pp_text(self, args, inputs):
        name = "set_subtensor" if self.set_instead_of_inc else "inc_subtensor"
        return f"{name}({args[0]}{index_text(self.spec, args[2:])}, {args[1]})"
    set_instead_of_inc: bool = False

    @property
    def advanced(self):
        return any(e[0] == "a" for e in self.spec)

    def make_node(self, x, y, *index_vars):
        _check_index_vars(self.spec, index_vars)
        region = indexed_type(x, self.spec, index_vars)
        if y.ndim > region.ndim:
            raise ValueError(f"{self}: the value has {y.ndim} dimensions, more than the "
                             f"{region.ndim} of the indexed region")
        if upcast(x.dtype, y.dtype) != x.dtype and not np.can_cast(y.dtype, x.dtype, "same_kind"):
            raise TypeError(f"{self}: cannot write {y.dtype} values into a {x.dtype} tensor")
        return self.apply([x, y, *index_vars], [x.type])

    def perform(self, x, y, *index_values):
        out = np.array(x, copy=True)
        index = build_index(self.spec, index_values)
        if self.set_instead_of_inc:
            out[index] = y
        elif self.advanced:
            np.add.at(out, index, y)
        else:
            out[index] += y
        return out

    def grad(self, inputs, outputs, grads):
        x, y, *idx = inputs
        g = grads[0]
        gx = IncSubtensor(self.spec, True)(g, T.zeros_like(y), *idx) if self.set_instead_of_inc else g
        gy = Subtensor(self.spec)(g, *idx)
        if self.set_instead_of_inc and _may_repeat(idx):
            gy = gy * self._last_writes(gy, x, idx)
        gy = gy.sum(axis=list(range(gy.ndim - y.ndim))) if gy.ndim > y.ndim else gy
        return [gx if x.dtype.startswith("float") else None,
                T.unbroadcast(gy, y) if y.dtype.startswith("float") else None] + [None] * len(idx)

    def _last_writes(self, region, x, idx):
        """True where an entry of the indexed region is the write the forward pass
        keeps: a[[0, 0]] = [s0, s1] keeps s1, so only s1 gets a[0]'s gradient.
        Asked of the set itself (each write stores its ordinal, the survivors are
        read back), so it is whatever rule both backends follow."""
        size = T.prod_of_shape(region, range(region.ndim))
        ordinal = T.reshape(T.arange(size, dtype="int64"), T.shape(region))
        kept = Subtensor(self.spec)(IncSubtensor(self.spec, True)(
            T.zeros_like(x, dtype="int64"), ordinal, *idx), *idx)
        return T.eq(kept, ordinal)

    def __str__(self):
        name = "set_subtensor" if self.set_instead_of_inc else "inc_subtensor"
        return ("advanced_" + name) if self.advanced else name
