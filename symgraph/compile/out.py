"""``Out(variable, borrow=False)``: Theano's output spec for ``function``.

``borrow=True`` lets Theano return its own internal buffer.  symgraph's
results are fresh arrays on every call (no buffer is kept between calls), so
borrow changes nothing here: it is accepted for Theano code.
"""
from ..graph import Variable


class Out:
    def __init__(self, variable, borrow=False):
        if not isinstance(variable, Variable):
            raise TypeError(f"Out: expected a symbolic variable, got {type(variable).__name__}")
        self.variable = variable
        self.borrow = bool(borrow)

    def __repr__(self):
        return f"Out({self.variable!r}, borrow={self.borrow})"


def unwrap_out(output):
    """The variable of an ``Out``; anything else as it is."""
    return output.variable if isinstance(output, Out) else output
