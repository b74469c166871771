"""Rewrite rules as rows: ``Rule(mul(x, 1), x)  # x*1 -> x``.

A pattern is made of pattern variables (``x``: any variable; the same name
twice must be the same variable, which hash-consing makes a cheap identity
test), numbers (a variable whose every element is that number, through views
and fills) and op patterns (``mul(...)``: a node of that op class).

Add and Mul are commutative and n-ary: ``mul(x, 1)`` matches a product with a
1 anywhere among its inputs, and when the node has more inputs than the
pattern, the last pattern variable stands for the product of the rest.

The right side is a pattern over the same names (built with the ops), or a
function of the bindings where a pattern cannot say it.  ``where`` guards a
rule with a predicate of the bindings; every function gets the matched
variable as ``out`` too.
"""
import itertools
from numbers import Number

from .values import scalar_value
from ..tensor.basic import _operands


class Pattern:
    def match(self, var, bindings):
        """Yield every extension of ``bindings`` under which ``var`` matches."""
        raise NotImplementedError


class Var(Pattern):
    def __init__(self, name):
        self.name = name

    def match(self, var, bindings):
        bound = bindings.get(self.name)
        if bound is None:
            yield {**bindings, self.name: var}
        elif bound is var:
            yield bindings

    def __repr__(self):
        return self.name


class Value(Pattern):
    """A variable every element of which equals ``value``."""

    def __init__(self, value):
        self.value = value

    def match(self, var, bindings):
        v = scalar_value(var)
        if v is not None and v == self.value:
            yield bindings

    def __repr__(self):
        return repr(self.value)


def as_pattern(p):
    if isinstance(p, Pattern):
        return p
    if isinstance(p, Number):
        return Value(p)
    raise TypeError(f"not a pattern: {p!r}")


class OpPattern(Pattern):
    def __init__(self, op_class, args, name=None, where=None):
        self.op_class = op_class
        self.args = [as_pattern(a) for a in args]
        self.name = name                       # binds the matched variable itself
        self.where = where                     # a test of the op's parameters
        self.commutative = getattr(op_class, "nin", 1) is None

    def match(self, var, bindings):
        node = var.owner
        if node is None or not isinstance(node.op, self.op_class) or len(node.outputs) != 1:
            return
        if self.where is not None and not self.where(node.op):
            return
        if self.name is not None:
            if self.name in bindings and bindings[self.name] is not var:
                return
            bindings = {**bindings, self.name: var}
        inputs, k = node.inputs, len(self.args)
        if not self.commutative:
            if len(inputs) == k:
                yield from _match_all(self.args, inputs, bindings)
            return
        if len(inputs) == k:
            orders = itertools.permutations(inputs) if k <= 3 else [inputs]
            for order in orders:
                yield from _match_all(self.args, list(order), bindings)
            return
        # more inputs than patterns: the last pattern variable takes the rest
        rest = self.args[-1]
        if len(inputs) < k or not isinstance(rest, Var) or rest.name in bindings:
            return
        for chosen in itertools.permutations(range(len(inputs)), k - 1):
            for b in _match_all(self.args[:-1], [inputs[i] for i in chosen], bindings):
                if rest.name in b:
                    continue   # the rest is a new product: it cannot be a bound variable
                others = [v for i, v in enumerate(inputs) if i not in chosen]
                yield {**b, rest.name: others[0] if len(others) == 1 else node.op(*others)}

    def instantiate(self, bindings):
        args = [instantiate(a, bindings) for a in self.args]
        return self.op_class()(*_operands(*args))

    def __repr__(self):
        return f"{self.op_class.__name__.lower()}({', '.join(map(repr, self.args))})"


def _match_all(patterns, inputs, bindings):
    if not patterns:
        yield bindings
        return
    for b in patterns[0].match(inputs[0], bindings):
        yield from _match_all(patterns[1:], inputs[1:], b)


def instantiate(template, bindings):
    if isinstance(template, Var):
        return bindings[template.name]
    if isinstance(template, Value):
        return template.value
    if isinstance(template, OpPattern):
        return template.instantiate(bindings)
    if isinstance(template, Number):
        return template
    return template(**bindings)


def op(op_class):
    """The pattern builder for an op class: ``mul = op(Mul)``; ``mul(x, 1)``."""
    def build(*args, name=None, where=None):
        return OpPattern(op_class, args, name=name, where=where)
    build.__name__ = op_class.__name__.lower()
    return build


class Rule:
    """``lhs`` rewritten to ``rhs`` (a template or a function of the bindings)."""
    asks_graph = False

    def __init__(self, lhs, rhs, where=None, name=None):
        self.lhs, self.rhs, self.where = lhs, rhs, where
        self.root = lhs.op_class
        self.name = name or f"{lhs!r} -> {_describe(rhs)}"

    def apply(self, out, graph=None):
        """(replacement, shape sources) for the first match, or None."""
        for b in self.lhs.match(out, {}):
            b = {**b, "out": out}
            if self.where is not None and not self.where(**b):
                continue
            new = instantiate(self.rhs, b)
            if new is not None:
                # shape sources, should the result have lost a length: the bound
                # variables (the original graph computes them anyway), then the
                # matched node's inputs
                return new, [v for k, v in b.items() if k != "out"] + list(out.owner.inputs)
        return None

    def __repr__(self):
        return f"Rule({self.name})"


def _describe(rhs):
    return rhs.__name__ if callable(rhs) and not isinstance(rhs, Pattern) else repr(rhs)


class FnRule:
    """A rule that is a function of the matched variable: for rewrites that a
    pattern cannot say (n-ary canonical forms, walks through views)."""

    def __init__(self, root, fn, name=None, asks_graph=False):
        self.root, self.fn = root, fn
        self.name = name or fn.__name__
        self.asks_graph = asks_graph   # fn(out, graph) may ask graph.existing(op, inputs)

    def apply(self, out, graph=None):
        result = self.fn(out, graph) if self.asks_graph else self.fn(out)
        if result is None:
            return None
        return result if isinstance(result, tuple) else (result, list(out.owner.inputs))

    def __repr__(self):
        return f"FnRule({self.name})"


def keeps_dtype(name):
    """``where`` for rules that are exact only when ``name`` has the output's dtype."""
    return lambda out, **b: b[name].dtype == out.dtype
