"""Indexing in the Numba program.

Basic ``x[i, a:b]`` becomes a Numba view.  Advanced indexing and
inc/set_subtensor become one loop nest over the indexed region, following
NumPy: integer and boolean indices broadcast together; their axes stay in
place when the advanced indices are adjacent, otherwise they come first; an
increment at a repeated position accumulates (``np.add.at``).  Every integer
index is bounds-checked, since compiled code does not check by itself.
"""
from ..ops.indexing import IncSubtensor, Subtensor
from .codegen import Array, View, registrar
from .lower_shape import broadcast_steps

LOWERINGS = {}     # op class -> lowering (generate.py merges the tables)
register = registrar(LOWERINGS)


def _items(spec, refs, ndim):
    """(kind, axis, refs) per index item; the axes not named are full slices."""
    it, axis, items = iter(refs), 0, []
    for entry in spec:
        kind = entry[0]
        if kind == "x":
            items.append(("new", None, None))
        elif kind == "s":
            items.append(("slice", axis, [next(it) if given else None for given in entry[1:]]))
            axis += 1
        elif kind == "i":
            items.append(("int", axis, next(it)))
            axis += 1
        else:
            ref = next(it)
            items.append(("mask" if ref.dtype == "bool" else "array", axis, ref))
            axis += ref.ndim if ref.dtype == "bool" else 1
    items += [("slice", a, [None, None, None]) for a in range(axis, ndim)]
    return items


def checked_index(cg, expr, length):
    """Lines normalizing a possibly negative index and checking it; its name."""
    q = cg.fresh("q")
    return q, [f"{q} = np.int64({expr})",
               f"if {q} < 0:",
               f"    {q} += {length}",
               f"if {q} < 0 or {q} >= {length}:",
               "    " + cg.fail("IndexError", "index out of bounds")]


def slice_params(cg, length, parts):
    """Python's slice.indices for an axis of ``length``: names (start, step, count)."""
    start, stop, step = parts
    st, en, sp, n = cg.fresh("st"), cg.fresh("en"), cg.fresh("sp"), cg.fresh("n")
    lo, hi = cg.fresh("lo"), cg.fresh("hi")
    if step is None:
        cg.emit(f"{sp} = 1", f"{lo} = 0", f"{hi} = np.int64({length})")
    else:
        cg.emit(f"{sp} = np.int64({step.at([])})")
        cg.check(f"{sp} == 0", "ValueError", "slice step cannot be zero")
        cg.emit(f"{lo} = -1 if {sp} < 0 else 0",
                f"{hi} = np.int64({length}) - 1 if {sp} < 0 else np.int64({length})")
    for name, part, default in ((st, start, f"{hi} if {sp} < 0 else {lo}"),
                                (en, stop, f"{lo} if {sp} < 0 else {hi}")):
        if part is None:
            cg.emit(f"{name} = {default}")
            continue
        cg.emit(f"{name} = np.int64({part.at([])})",
                f"if {name} < 0:",
                f"    {name} += {length}",
                f"    if {name} < {lo}:",
                f"        {name} = {lo}",
                f"elif {name} > {hi}:",
                f"    {name} = {hi}")
    # for a negative step, (en - st + 1) // sp is (st - en - 1) // -sp without
    # negating sp, which wraps for -2**63
    cg.emit(f"if {sp} < 0:",
            f"    {n} = ({en} - {st} + 1) // {sp} + 1 if {en} < {st} else 0",
            "else:",
            f"    {n} = ({en} - {st} - 1) // {sp} + 1 if {st} < {en} else 0")
    return st, sp, n


class IndexWalk:
    """The region ``x[index]``: its dims, and for a position in it the source index."""

    def __init__(self, cg, x, spec, refs, index_vars):
        self.cg, self.x = cg, x
        # the broadcastable flags of the index arrays, by Ref
        self.flags = {id(r): v.type.broadcastable for r, v in zip(refs, index_vars)}
        items = []
        for kind, axis, ref in _items(spec, refs, x.ndim):
            if kind == "mask":
                items += [("array", axis + j, r) for j, r in enumerate(self._nonzero(ref, axis))]
            else:
                items.append((kind, axis, ref))
        adv = [k for k, it in enumerate(items) if it[0] in ("int", "array")]
        self.nb = max((items[k][2].ndim for k in adv), default=0)
        self.bdims, self.bsteps = self._broadcast([items[k] for k in adv])
        layout = []   # per result axis: ("slice", item index) | ("new",) | ("b", d)
        contiguous = adv == list(range(adv[0], adv[-1] + 1)) if adv else True
        b_entries = [("b", d) for d in range(self.nb)]
        if adv and not contiguous:
            layout += b_entries
        for k, it in enumerate(items):
            if adv and contiguous and k == adv[0]:
                layout += b_entries
            if it[0] == "slice":
                layout.append(("slice", k))
            elif it[0] == "new":
                layout.append(("new",))
        self.items, self.layout, self.slices = items, layout, {}
        for k, it in enumerate(items):
            if it[0] == "slice":
                self.slices[k] = slice_params(cg, x.dim(it[1]), it[2])
        self.dims = []
        for entry in layout:
            if entry[0] == "slice":
                self.dims.append(self.slices[entry[1]][2])
            elif entry[0] == "new":
                self.dims.append("1")
            else:
                self.dims.append(self.bdims[entry[1]])

    def _nonzero(self, mask, axis):
        """The integer arrays of a boolean mask's True positions (C order)."""
        cg = self.cg
        for j in range(mask.ndim):
            cg.check_same(mask.dim(j), self.x.dim(axis + j), "IndexError",
                          f"boolean index did not match the indexed array along axis {axis + j}")
        count = cg.fresh("c")
        cg.emit(f"{count} = 0")
        dims = [mask.dim(j) for j in range(mask.ndim)]
        cg.loops(dims, lambda idx: [f"if {mask.at(idx)}:", f"    {count} += 1"])
        arrays = [cg.alloc([count], "int64", prefix="nz") for _ in range(mask.ndim)]
        cg.emit(f"{count} = 0")
        cg.loops(dims, lambda idx: [f"if {mask.at(idx)}:"]
                 + [f"    {a.name}[{count}] = {i}" for a, i in zip(arrays, idx)]
                 + [f"    {count} += 1"])
        return arrays

    def _broadcast(self, adv_items):
        """NumPy's broadcasting of the advanced indices (lengths equal or 1):
        static where the flags or equal lengths decide it, else at run time."""
        cg, dims, steps = self.cg, [], {}
        for d in range(self.nb):
            axes = [(ref, d - (self.nb - ref.ndim)) for _, _, ref in adv_items
                    if d - (self.nb - ref.ndim) >= 0]
            flagged = [(r, j) for r, j in axes if r.ndim and self._flag(r, j)]
            free = [(r, j) for r, j in axes if (r, j) not in flagged]
            for r, j in flagged:
                steps[(id(r), j)] = "0"
            lengths = {r.dim(j) for r, j in free}
            if len(lengths) <= 1:
                for r, j in free:
                    steps[(id(r), j)] = "1"
                dims.append(lengths.pop() if lengths else "1")
                continue
            b = cg.fresh("nb")
            cg.emit(f"{b} = 1")
            for r, j in free:
                length = r.dim(j)
                cg.emit(f"if {length} != 1:",
                        f"    if {b} != 1 and {b} != {length}:",
                        "        " + cg.fail("IndexError", "shape mismatch: indexing arrays could "
                                                           "not be broadcast together"),
                        f"    {b} = {length}")
                st = cg.fresh("st")
                cg.emit(f"{st} = 0 if {length} == 1 else 1")
                steps[(id(r), j)] = st
            dims.append(b)
        return dims, steps

    def _flag(self, ref, j):
        return self.flags.get(id(ref), (False,) * ref.ndim)[j]

    def source(self, res_idx):
        """(lines, source index expressions) for the result position ``res_idx``."""
        lines, src = [], [None] * self.x.ndim
        bnames = {}
        for entry, i in zip(self.layout, res_idx):
            if entry[0] == "slice":
                start, step, _ = self.slices[entry[1]]
                src[self.items[entry[1]][1]] = f"{start} + {step} * {i}"
            elif entry[0] == "b":
                bnames[entry[1]] = i
        for kind, axis, ref in self.items:
            if kind not in ("int", "array"):
                continue
            idx = [_times(bnames[self.nb - ref.ndim + j], self.bsteps[(id(ref), j)])
                   for j in range(ref.ndim)]
            q, check = checked_index(self.cg, ref.at(idx), self.x.dim(axis))
            lines += check
            src[axis] = q
        return lines, src


def _times(index, step):
    return {"1": index, "0": "0"}.get(step, f"{index} * {step}")


@register(Subtensor)
def lower_subtensor(cg, node, refs):
    x, *index = refs
    out_var = node.outputs[0]
    if node.op.advanced:
        walk = IndexWalk(cg, x, node.op.spec, index, node.inputs[1:])
        out = cg.alloc(walk.dims, out_var.dtype)

        def body(r):
            lines, src = walk.source(r)
            return lines + [f"{out.at(r)} = {x.at(src)}"]
        cg.loops(walk.dims, body)
        return [out]
    if x.ndim == 0:   # only new axes
        return [View(x, [None] * out_var.ndim)]
    base = cg.as_array(x)
    parts = []
    for kind, axis, ref in _items(node.op.spec, index, x.ndim):
        if kind == "new":
            parts.append("None")
        elif kind == "int":
            q, lines = checked_index(cg, ref.at([]), base.dim(axis))
            cg.emit(*lines)
            parts.append(q)
        else:
            start, stop, step = (p.at([]) if p is not None else "" for p in ref)
            if step:
                cg.check(f"{step} == 0", "ValueError", "slice step cannot be zero")
            parts.append(f"{start}:{stop}" + (f":{step}" if step else ""))
    expr = f"{base.name}[{', '.join(parts)}]"
    if out_var.ndim == 0:
        return [cg.assign(expr, out_var.dtype)]
    name = cg.fresh("v")
    cg.emit(f"{name} = {expr}")
    return [Array(name, out_var.dtype, out_var.ndim, root=x.root, buffer=base.buffer, layout="A")]


@register(IncSubtensor)
def lower_inc_subtensor(cg, node, refs):
    x, y, *index = refs
    out = writable_copy(cg, node, x)
    walk = IndexWalk(cg, out, node.op.spec, index, node.inputs[2:])
    lead = len(walk.dims) - y.ndim
    steps = broadcast_steps(cg, y, node.inputs[1], walk.dims[lead:])
    set_ = node.op.set_instead_of_inc

    def body(r):
        lines, src = walk.source(r)
        vidx = [_times(i, s) for i, s in zip(r[lead:], steps)]
        load_lines, value = y.load(vidx)
        target = out.at(src)
        new = value if set_ else f"{target} + {value}"
        return lines + load_lines + [f"{target} = {new}"]
    cg.loops(walk.dims, body)
    return [out]


def writable_copy(cg, node, x):
    """x itself when it is a fresh array nothing else reads, else a fresh copy."""
    var = node.inputs[0]
    clients = cg.fgraph.clients.get(var, [])
    if (isinstance(x, Array) and x.owned and len(clients) == 1
            and not cg.options.get("debug")):
        return x
    if isinstance(x, Array):
        name = cg.fresh("v")
        cg.emit(f"{name} = {x.name}.copy()")
        return Array(name, x.dtype, x.ndim, owned=True)
    arr = cg.as_array(x)
    if arr.owned:
        return arr
    name = cg.fresh("v")
    cg.emit(f"{name} = {arr.name}.copy()")
    return Array(name, x.dtype, x.ndim, owned=True)
