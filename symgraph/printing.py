"""Looking at graphs: ``debugprint`` (indented trees), ``pp`` (infix text) and
``pydotprint`` / ``to_dot`` (graphviz pictures)."""
import os
import sys
import tempfile
import warnings

from .graph import Constant, FunctionGraph, Variable, toposort
from .ops.shape import DimShuffle
from .ops.elemwise import Elemwise
from .ops.print_op import Print  # noqa: F401  (Theano's theano.printing.Print)
from .shared import SharedVariable


# --------------------------------------------------------------------- what to print
def _roots(obj):
    """(variable, note) pairs for a variable, a list, a FunctionGraph or a compiled Function."""
    if isinstance(obj, Variable):
        return [(obj, "")]
    if isinstance(obj, (list, tuple)):
        return [pair for item in obj for pair in _roots(item)]
    if isinstance(obj, FunctionGraph):
        return [(v, "") for v in obj.outputs]
    graph = getattr(obj, "graph", None)
    if isinstance(graph, FunctionGraph):
        n, targets = obj.n_outputs, obj.update_targets
        return [(v, "" if k < n else f"  <- update of {_leaf_text(targets[k - n])}")
                for k, v in enumerate(graph.outputs)]
    raise TypeError(f"cannot print a {type(obj).__name__}; expected a variable, a list of "
                    f"variables, a FunctionGraph or a compiled function")


def _leaf_text(var):
    """An input's name, a constant's value, or the type of an unnamed input."""
    if var.name:
        return var.name
    if isinstance(var, Constant):
        data = var.data
        if data.size <= 6:
            return repr(data.item()) if data.ndim == 0 else str(data.tolist())
        return f"<constant {data.dtype} {data.shape}>"
    return f"<{var.type}>"


def _op_text(var):
    node = var.owner
    return str(node.op) + (f".{var.index}" if len(node.outputs) > 1 else "")


# --------------------------------------------------------------------- debugprint
def _tag(n):
    """A, B, ..., Z, AA, AB, ...: bijective base 26."""
    letters = ""
    n += 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(ord("A") + r) + letters
    return letters


def debugprint(obj, file=None, print_type=False):
    """Print the graph of ``obj`` as an indented tree (Theano's layout).

    ``obj`` is a variable, a list of them, a FunctionGraph or a compiled
    function (whose optimized graph is printed, updates marked).  Each node gets
    an ``[id X]`` tag; a node met again is shown by its tag and ``···``.
    ``file=None`` writes to stdout, ``file='str'`` returns the text, any
    other file-like object is written to and returned.
    """
    tags, lines = {}, []
    # an explicit stack, not recursion: long chains (RNN-like graphs) stay printable
    stack = [(var, "", " ", note) for var, note in reversed(_roots(obj))]
    while stack:
        var, head, below, note = stack.pop()
        key = var.owner if var.owner is not None else var
        seen = key in tags
        if not seen:
            tags[key] = _tag(len(tags))
        text = _op_text(var) if var.owner is not None else _leaf_text(var)
        text += f" [id {tags[key]}]"
        if var.owner is not None and var.name:
            text += f" '{var.name}'"
        if print_type:
            text += f" <{var.type}>"
        if seen and var.owner is not None:
            text += " ···"  # its subtree was printed above
        lines.append(head + text + note)
        if seen or var.owner is None:
            continue
        inputs = var.owner.inputs
        for i in reversed(range(len(inputs))):
            last = i == len(inputs) - 1
            stack.append((inputs[i], below + ("└─ " if last else "├─ "),
                          below + ("   " if last else "│  "), ""))
    text = "".join(line + "\n" for line in lines)
    if file == "str":
        return text
    out = sys.stdout if file is None else file
    out.write(text)
    return out


# --------------------------------------------------------------------- pp
def _is_implicit_broadcast(var):
    """A dimshuffle that only prepends broadcastable axes: what NumPy does unasked."""
    if var.owner is None or not isinstance(var.owner.op, DimShuffle):
        return False
    order = var.owner.op.new_order
    n_new = order.count("x")
    return order[:n_new] == ("x",) * n_new and order[n_new:] == tuple(range(len(order) - n_new))


def _is_infix(var):
    return var.owner is not None and getattr(var.owner.op, "symbol", None) is not None \
        and len(var.owner.inputs) >= 2


def pp(var, max_length=None):
    """Infix text of a graph: ``sg.pp(x + y) == '(x + y)'``.

    ``max_length`` cuts every sub-expression's text, which keeps the work linear
    on graphs that reuse subexpressions (error messages use it).
    """
    memo = {}

    def text(v):
        if v not in memo:
            s = _leaf_text(v) if v.owner is None else node_text(v)
            memo[v] = s if max_length is None or len(s) <= max_length else s[:max_length] + "..."
        return memo[v]

    def node_text(v):
        op, inputs = v.owner.op, v.owner.inputs
        if isinstance(op, Elemwise):
            # show x + 1, not x + dimshuffle{x,x}(1): elementwise ops broadcast like NumPy
            inputs = [i.owner.inputs[0] if _is_implicit_broadcast(i) else i for i in inputs]
        args = [text(i) for i in inputs]
        symbol = getattr(op, "symbol", None)
        if symbol and len(args) >= 2:
            return "(" + f" {symbol} ".join(args) + ")"
        if symbol and len(args) == 1:
            return symbol + args[0]
        result = op.pp_text(args, inputs)
        if result is not None:
            return result
        # commas already separate call arguments: f(x + y), not f((x + y))
        bare = [a[1:-1] if _is_infix(i) else a for a, i in zip(args, inputs)]
        return f"{_op_text(v)}({', '.join(bare)})"

    return text(var)


pprint = pp


# --------------------------------------------------------------------- graphviz
_COLOURS = {"input": "palegreen", "shared": "lightskyblue", "constant": "lightgrey",
            "output": "gold", "apply": "white"}
_NO_DOT = ("graphviz's 'dot' program was not found on the PATH; symgraph needs it to draw "
           "graphs. Install it with 'apt-get install graphviz' (Debian/Ubuntu), 'brew install "
           "graphviz' (macOS) or 'conda install -c conda-forge graphviz', then retry. "
           "sg.printing.to_dot(...) gives the DOT text without it.")
# Jupyter draws every displayed variable; past this size a picture is slow and unreadable
_MAX_REPR_NODES = 200


def _import_graphviz():
    try:
        import graphviz  # optional: only pictures need it
    except ImportError as e:
        raise RuntimeError("the 'graphviz' Python package is needed: pip install graphviz") from e
    return graphviz


def _graphviz_graph(obj, compact=True, with_ids=False, var_with_name_simple=False):
    """A graphviz.Digraph: apply nodes as boxes, graph inputs and outputs as
    ellipses; ``compact=False`` also draws each intermediate variable as an
    ellipse, ``with_ids`` prefixes labels with their DOT ids, and
    ``var_with_name_simple`` labels named variables by their name alone."""
    graphviz = _import_graphviz()
    roots = _roots(obj)
    g = graphviz.Digraph("symgraph")
    ids = {}

    def node_id(key, prefix):
        if key not in ids:
            ids[key] = f"{prefix}{len(ids)}"
        return ids[key]

    def with_id(key, text):
        return f"[{ids[key]}] {text}" if with_ids else text

    def typed(text, var):
        return text if var_with_name_simple and var.name else f"{text}\n{var.type}"

    def source(var, direct=False):
        """The DOT node an edge carrying ``var`` starts from (and an edge label part)."""
        if var.owner is not None:
            where = f"out {var.index}" if len(var.owner.outputs) > 1 else ""
            if compact or direct:
                return node_id(var.owner, "n"), where
            if var not in ids:   # the variable as a node of its own
                g.node(node_id(var, "v"), with_id(var, typed(var.name or "", var).lstrip("\n")),
                       shape="ellipse")
                g.edge(ids[var.owner], ids[var], label=where or None)
            return ids[var], ""
        if var not in ids:
            kind = ("constant" if isinstance(var, Constant) else
                    "shared" if isinstance(var, SharedVariable) else "input")
            text = _leaf_text(var) if isinstance(var, Constant) else typed(_leaf_text(var), var)
            g.node(node_id(var, "v"), with_id(var, text), shape="ellipse", style="filled",
                   fillcolor=_COLOURS[kind], tooltip=kind)
        return ids[var], ""

    def edge(var, target, parts):
        tail, where = source(var, direct=target.startswith("out"))
        name = (var.name if compact and var.owner is not None and not target.startswith("out")
                else "")
        label = " ".join(p for p in [*parts, where, name] if p)
        g.edge(tail, target, label=label or None)

    for node in toposort([v for v, _ in roots]):
        node_id(node, "n")
        g.node(ids[node], with_id(node, str(node.op)), shape="box", style="filled",
               fillcolor=_COLOURS["apply"])
        for i, inp in enumerate(node.inputs):
            edge(inp, ids[node], [str(i)] if len(node.inputs) > 1 else [])
    for k, (var, note) in enumerate(roots):
        label = (note.replace("<-", "").strip() if note else (var.name or f"output {k}"))
        g.node(f"out{k}", f"{label}\n{var.type}", shape="ellipse", style="filled",
               fillcolor=_COLOURS["output"])
        edge(var, f"out{k}", [])
    return g


def to_dot(obj):
    """The DOT source of the graph of ``obj`` (needs no ``dot`` program)."""
    return _graphviz_graph(obj).source


def _render(dot_source, fmt):
    graphviz = _import_graphviz()
    try:
        return graphviz.Source(dot_source).pipe(format=fmt)
    except graphviz.ExecutableNotFound as e:
        raise RuntimeError(_NO_DOT) from e


# Theano's pydotprint arguments that only change colours and label lengths
_COSMETIC = ("high_contrast", "colorCodes", "cond_highlight", "max_label_size")


def pydotprint(obj, outfile=None, format=None, compact=True, with_ids=False,
               var_with_name_simple=False, scan_graphs=False, print_output_file=False,
               return_image=False, **cosmetic):
    """Draw the graph of ``obj`` with graphviz into ``outfile`` and return its path.

    The format comes from ``format``, else the file's suffix (``.svg``,
    ``.png``, ...), else SVG.  Without ``outfile`` the picture goes to the
    temporary directory.  Theano's arguments: ``compact=False`` draws every
    intermediate variable as a node, ``with_ids`` labels nodes with their ids,
    ``var_with_name_simple`` labels named variables by name alone,
    ``scan_graphs`` also draws each scan's (map_rows') step into
    ``<outfile>_<name>_<k>.<format>``, ``print_output_file`` prints the path,
    ``return_image`` returns the picture's bytes and writes no file.  The
    cosmetic ones (``high_contrast``, ``colorCodes``, ``cond_highlight``,
    ``max_label_size``) are ignored with a warning.
    """
    unknown = sorted(set(cosmetic) - set(_COSMETIC))
    if unknown:
        raise TypeError(f"pydotprint got unexpected keyword arguments {', '.join(unknown)}")
    if cosmetic:
        warnings.warn(f"pydotprint ignores {', '.join(cosmetic)}: symgraph's pictures have "
                      f"fixed colours and full labels", stacklevel=2)
    suffix = os.path.splitext(outfile)[1].lstrip(".").lower() if outfile else ""
    fmt = format or suffix or "svg"
    source = _graphviz_graph(obj, compact, with_ids, var_with_name_simple).source
    data = _render(source, fmt)
    if return_image:
        return data
    if outfile is None:
        outfile = os.path.join(tempfile.gettempdir(), f"symgraph.pydotprint.{fmt}")
    with open(outfile, "wb") as fh:
        fh.write(data)
    if print_output_file:
        print(f"The output file is available at {outfile}")
    if scan_graphs:
        base = os.path.splitext(outfile)[0]
        inner = [n.op for n in toposort([v for v, _ in _roots(obj)])
                 if hasattr(n.op, "inner_fgraph")]
        for k, op in enumerate(inner):
            name = getattr(op, "name", None) or type(op).__name__.lower()
            pydotprint(op.inner_fgraph(), f"{base}_{name}_{k}.{fmt}", fmt, compact, with_ids,
                       var_with_name_simple, True, print_output_file)
    return outfile


def _repr_svg(var):
    """SVG text for Jupyter, or None (then Jupyter shows the text repr)."""
    if len(toposort(var)) > _MAX_REPR_NODES:
        return None
    try:
        return _render(to_dot(var), "svg").decode("utf-8")
    except RuntimeError:
        return None


__all__ = ["debugprint", "pp", "pprint", "pydotprint", "to_dot"]
