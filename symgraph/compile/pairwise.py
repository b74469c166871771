"""Accurate floating-point sums in the generated code: blocked summation.

Adding n numbers one at a time has an error that grows like n * eps (summing
4e7 copies of 0.1 that way was off by 6.4e-10 relative); NumPy's pairwise sum
grows like log2(n) * eps.  The loops written here sum in levels: BLOCK
elements into a block sum, FAN block sums into a level-2 sum, FAN of those
into a level-3 sum, and those one at a time.  No partial sum ever takes more
than 128 terms below 2**28 elements, so the error is NumPy's order (at most
a few hundred eps relative, in practice about 1e-16) where the one-at-a-time
sum was off by 1e-11 from 2e6 elements on.

Fixed levels rather than NumPy's recursion or a stack of pairwise sums: a
level is an ``if`` on a counter, and every loop Numba compiles costs compile
time (a stack's loops cost 0.1 s more per reduction than these).  A block
may end inside an inner loop and continue in the next row of an outer
reduced axis, so a sum over several short axes is as accurate as one over a
long one.

Plain loads are summed in LANES independent accumulators: one accumulator is
a chain of dependent adds that the CPU cannot overlap (LLVM keeps the order
of float adds, so it vectorizes neither form; no vaddpd in the machine code).
A (3, 1e6) sum took 3.7 ms with one, 2.6 ms with two and 1.9 ms with four
(np.sum 1.6 ms), but each lane is another copy of the load and a tail, and
compiling a sum cost 0.39 s with one, 0.47 s with two, 0.57 s with four
(0.17 s for the old one-at-a-time loop).  A computed body (exp, ...) is
written once: it costs more than the adds.

Only sums and means of floats come here; integer sums stay exact one at a
time, and products gain nothing (every order has the same (n-1) * eps bound).
"""

BLOCK = 128
FAN = 128
LANES = 2   # independent accumulators for a plain load (the code below is for 1 or 2)
# the loaded expression (no statements) up to this long is copied per lane
CHEAP_LOAD = 80


def nest(cg, dims, inner, pad=""):
    """Lines of a loop nest over ``dims`` ("1": no loop, index 0) around
    ``inner(index_names)``."""
    idx, lines = [], []
    for d in dims:
        if d == "1":
            idx.append("0")
            continue
        i = cg.fresh("i")
        lines.append(f"{pad}for {i} in range({d}):")
        idx.append(i)
        pad += "    "
    return lines + [pad + line for line in inner(idx)]


def _tree(terms):
    while len(terms) > 1:
        odd = terms[len(terms) // 2 * 2:]
        terms = [f"({a} + {b})" for a, b in zip(terms[::2], terms[1::2])] + odd
    return terms[0]


def scalar_sum(cg, acc, dims, load):
    """Lines that leave in ``acc`` (float64) the sum over the loop nest ``dims``
    of ``load(index_names) -> (lines, expression)``."""
    c1, c2, c3, j, end, k = (cg.fresh(p) for p in ("c", "c", "c", "j", "e", "k"))
    s2, s3, s4 = cg.fresh("s"), cg.fresh("s"), cg.fresh("s")
    n = dims[-1]
    probe_lines, probe = load([cg.fresh("i") for _ in dims])
    lanes = LANES if not probe_lines and len(probe) <= CHEAP_LOAD else 1
    acc_names = [cg.fresh("a") for _ in range(lanes)]

    def fold(idx, pos, lane):
        name = cg.fresh("x")
        lines, expr = load(idx + [pos])
        return lines + [f"{name} = {expr}", f"{lane} += {name}"]

    def rows(idx):
        body = [f"{j} = 0", f"while {j} < {n}:",
                f"    {end} = {j} + {BLOCK} - {c1}",
                f"    if {end} > {n}:",
                f"        {end} = {n}"]
        if lanes == 1:
            body.append(f"    for {k} in range({j}, {end}):")
            body += ["        " + line for line in fold(idx, k, acc_names[0])]
        else:
            body.append(f"    for {k} in range({j}, {end} - 1, 2):")
            for u, lane in enumerate(acc_names):
                # unsigned: Numba then leaves out the negative-index wraparound
                # (these names only ever subscript)
                pos = cg.fresh("k")
                body.append(f"        {pos} = np.uint64({k} + {u})")
                body += ["        " + line for line in fold(idx, pos, lane)]
            last = cg.fresh("k")
            body += [f"    if ({end} - {j}) & 1:", f"        {last} = {end} - 1"]
            body += ["        " + line for line in fold(idx, last, acc_names[0])]
        body += [f"    {c1} += {end} - {j}",
                 f"    {j} = {end}",
                 f"    if {c1} == {BLOCK}:",
                 f"        {c1} = 0",
                 f"        {s2} += {_tree(acc_names)}"]
        body += [f"        {a} = 0.0" for a in acc_names]
        body += [f"        {c2} += 1",
                 f"        if {c2} == {FAN}:",
                 f"            {c2} = 0",
                 f"            {s3} += {s2}",
                 f"            {s2} = 0.0",
                 f"            {c3} += 1",
                 f"            if {c3} == {FAN}:",
                 f"                {c3} = 0",
                 f"                {s4} += {s3}",
                 f"                {s3} = 0.0"]
        return body

    lines = [f"{v} = 0" for v in (c1, c2, c3)] + [f"{v} = 0.0" for v in [s2, s3, s4] + acc_names]
    lines += nest(cg, dims[:-1], rows)
    lines.append(f"{acc} = {s4} + ({s3} + ({s2} + {_tree(acc_names)}))")
    return lines


def array_sum(cg, lead, red, trail, load, store):
    """A reduction whose reduced axes ``red`` lie between kept axes ``lead``
    (outer) and ``trail`` (inner, walked in memory order): per lead index, the
    trail-shaped sums of ``load(lead_idx + red_idx + trail_idx)``, each
    finished by the lines of ``store(lead_idx + trail_idx, sum_expression)``.
    The levels of ``scalar_sum``, one sum per trail position; a block is
    BLOCK consecutive reduced indices, and two levels over it suffice (the
    third sums (rows / 16384) terms one at a time)."""
    shape = "(" + "".join(d + ", " for d in trail) + ")"
    s1, s2, s3, c1, c2 = cg.fresh("w"), cg.fresh("w"), cg.fresh("w"), cg.fresh("c"), cg.fresh("c")
    cg.emit(*[f"{s} = np.empty({shape}, np.float64)" for s in (s1, s2, s3)])

    def at(arr, idx):
        return f"{arr}[{', '.join(idx)}]"

    def per_lead(lidx):
        lines = nest(cg, trail, lambda t: [f"{at(s, t)} = 0.0" for s in (s1, s2, s3)])
        lines += [f"{c1} = 0", f"{c2} = 0"]

        def per_row(ridx):
            def add(t):
                load_lines, expr = load(lidx + ridx + t)
                return load_lines + [f"{at(s1, t)} += {expr}"]

            def up(low, high):
                return lambda t: [f"{at(high, t)} += {at(low, t)}", f"{at(low, t)} = 0.0"]
            return (nest(cg, trail, add)
                    + [f"{c1} += 1", f"if {c1} == {BLOCK}:", f"    {c1} = 0", f"    {c2} += 1"]
                    + nest(cg, trail, up(s1, s2), "    ")
                    + [f"    if {c2} == {FAN}:", f"        {c2} = 0"]
                    + nest(cg, trail, up(s2, s3), "        "))

        def finish(t):
            return store(lidx + t, f"({at(s3, t)} + ({at(s2, t)} + {at(s1, t)}))")
        lines += nest(cg, red, per_row)
        lines += nest(cg, trail, finish)
        return lines

    cg.loops(lead, per_lead)
