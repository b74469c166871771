"""Errors at call time that point at the user's line that built the failing node."""
import re

from ..graph import format_trace
from ..printing import pp


def describe_node(node):
    try:
        text = pp(node.outputs[0], max_length=100)
    except Exception:
        text = f"{node.op}(...)"
    if len(text) > 100:
        text = text[:97] + "..."
    return text


def node_message(message, node):
    return (f"{message}\n  while computing: {describe_node(node)}"
            f"\n  built at: {format_trace(node.trace)}")


def reraise_with_node(exc, node):
    """Re-raise ``exc`` (same type when possible) with the node and user line added."""
    message = node_message(str(exc), node)
    try:
        new = type(exc)(message)
    except Exception:
        new = RuntimeError(message)
    new.node = node
    raise new from exc


def locator(fgraph, program):
    """``locate(exc, values)``: after a compiled program failed, run the
    reference on the same values to name the node and the user's line."""
    reference = []

    def locate(exc, values):
        """Raise ``exc`` again, naming the node and the user's line."""
        if not reference:
            from .python import compile_python   # late: the reference backend imports this module
            reference.append(compile_python(fgraph))
        try:
            reference[0](list(values))
        except Exception as located:  # noqa: BLE001
            if getattr(located, "node", None) is not None:
                raise located from exc
        match = re.search(r"\[node (\d+)\]", str(exc))
        if match:
            reraise_with_node(exc, program.nodes[int(match.group(1))])
    return locate
