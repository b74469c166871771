"""debugprint, pp and graphviz pictures."""
from .graph import Constant


def pp(var):
    """Infix text of a graph: ``(x + y)``."""
    if var.owner is None:
        return repr(var) if not isinstance(var, Constant) else repr(var)
    op, args = var.owner.op, [pp(i) for i in var.owner.inputs]
    symbol = getattr(op, "symbol", None)
    if symbol and len(args) >= 2:
        return "(" + f" {symbol} ".join(args) + ")"
    if symbol and len(args) == 1:
        return f"{symbol}{args[0]}"
    return f"{op}({', '.join(args)})"


pprint = pp


def debugprint(obj, file=None):
    raise NotImplementedError
