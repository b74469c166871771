"""Large programs become a few compiled functions called in turn.

Numba's compile time grows faster than linearly with the size of a function
(LLVM and Numba's own passes over one body with hundreds of loops): a
1,600-line program took a minute, the same code in chunks of about 150 lines
takes seconds.  The split falls between nodes; a plain Python ``program``
calls the chunks and holds the values that flow between them, so small
programs (one chunk) keep their single call.

The generated names (``v12``, ``s30``, ``arg0`` ...) are unique, so the values
a chunk needs are the names it uses that appear earlier, and the values it
hands on are the names it introduces that appear later.
"""
import re

# lines of generated code per compiled function (not a hard limit: chunks end between nodes)
CHUNK_LINES = 120
_NAME = re.compile(r"(?<![\w.])([a-z_]+\d+)\b")
_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# Numba returns scalars as Python numbers: these are the types they come back as
_NATIVE = ("float64", "int64", "bool")


def split(body, protect_from):
    """Start indices of the chunks of ``body`` (lines at indent 1); the lines from
    ``protect_from`` on (the in-place updates and the return) stay together."""
    starts = [0]
    for i, line in enumerate(body[:protect_from]):
        if line.startswith("    # node ") and i - starts[-1] >= CHUNK_LINES:
            starts.append(i)
    return starts


def chunked_source(decorator, params, body, protect_from, scalar_dtypes):
    """Module source for ``body``: one ``program`` function, or chunks and a
    Python ``program`` calling them.  The module also defines ``CHUNKS``:
    (function, names in, names out) in call order (empty for one function)."""
    starts = split(body, protect_from)
    if len(starts) == 1:
        return "\n".join([decorator, f"def program({', '.join(params)}):"] + body
                         + ["", "CHUNKS = []"])
    parts = [body[a:b] for a, b in zip(starts, starts[1:] + [len(body)])]
    first = {p: -1 for p in params}
    used = []
    for k, part in enumerate(parts):
        names = set()
        for line in part:
            code = "" if line.lstrip().startswith("#") else _STRING.sub("''", line)
            for name in _NAME.findall(code):
                names.add(name)
                first.setdefault(name, k)
        used.append(names)
    order = {name: i for i, name in enumerate(first)}
    out, driver, table = [], [], []
    for k, part in enumerate(parts):
        needs = sorted((n for n in used[k] if first[n] < k), key=order.get)
        gives = sorted((n for n in first if first[n] == k and any(n in u for u in used[k + 1:])),
                       key=order.get)
        last = k == len(parts) - 1
        out += ["", "", decorator, f"def chunk{k}({', '.join(needs)}):"]
        # scalars come back from a chunk as Python numbers: restore their dtype
        out += [f"    {n} = np.{scalar_dtypes[n]}({n})" for n in needs
                if scalar_dtypes.get(n, "float64") not in _NATIVE]
        out += part
        call = f"chunk{k}({', '.join(needs)})"
        if last:
            driver.append(f"    return {call}")
        else:
            out.append("    return (" + "".join(n + ", " for n in gives) + ")")
            targets = "".join(n + ", " for n in gives)
            driver.append(f"    {targets}= {call}" if gives else f"    {call}")
        table.append(f"    (chunk{k}, {tuple(needs)!r}, {tuple(gives)!r}),")
    return "\n".join(out + ["", "", f"def program({', '.join(params)}):"] + driver
                     + ["", "", "CHUNKS = ["] + table + ["]"])
