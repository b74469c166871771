"""The graph: Variables produced by Apply nodes, and FunctionGraph which owns a
set of them for rewriting.

A Variable is the result of at most one Apply (its ``owner``); graph inputs and
constants have no owner.  Every Apply records the user's line that built it, so
errors can point there.
"""
import functools
import itertools
import contextlib
import linecache
import os
import sys
import threading

import numpy as np

from .late import late, variable

# test values are computed by the ops, above the graph (late.py)
_testvalues = late("symgraph.testvalues")

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_counter = itertools.count()


@functools.lru_cache(maxsize=None)
def _is_user_file(filename):
    # cached: every node built asks, and abspath is most of the cost
    return not os.path.abspath(filename).startswith(_PACKAGE_DIR) and "importlib" not in filename


def user_frame():
    """(filename, lineno, code) of the innermost caller outside symgraph."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if _is_user_file(filename):
            lineno = frame.f_lineno
            return filename, lineno, linecache.getline(filename, lineno).strip()
        frame = frame.f_back
    return None


def format_trace(trace):
    if not trace:
        return "(no user source line recorded)"
    filename, lineno, code = trace
    return f'File "{filename}", line {lineno}: {code}'


class Tag:
    """``x.tag``: notes attached to a variable, as in Theano.  ``x.tag.test_value``
    is converted to the variable's type when set (see testvalues.py)."""

    def __init__(self, variable):
        object.__setattr__(self, "_variable", variable)

    def __setattr__(self, key, value):
        if key == "test_value":
            var = self._variable
            value = var.type.filter(value, name=f"the test value of {var!r}", allow_downcast=True)
        object.__setattr__(self, key, value)

    def _copy_for(self, variable):
        cp = Tag(variable)
        cp.__dict__.update((k, v) for k, v in self.__dict__.items() if k != "_variable")
        return cp


# How nodes built now treat test values, when not as config.compute_test_value
# says: "off" while compiling (rewrites build nodes of their own), "quiet" while
# copying a graph (computed where the inputs have them, else skipped); see testvalues.py
_test_values_local = threading.local()


@contextlib.contextmanager
def test_values_as(how):
    """Within the block, new nodes treat test values as ``how`` ("off" or "quiet")."""
    before = getattr(_test_values_local, "how", None)
    _test_values_local.how = "off" if before == "off" else how
    try:
        yield
    finally:
        _test_values_local.how = before


def test_values_override():
    """"off", "quiet" or None (then config.compute_test_value decides)."""
    return getattr(_test_values_local, "how", None)


class Variable:
    """A symbolic value of a given type.  Tensor methods live in TensorVariable."""

    def __init__(self, type, owner=None, index=None, name=None):
        self.type = type
        self.owner = owner
        self.index = index
        self.name = name
        self.id = next(_counter)  # creation order, for stable printing and sorting

    def clone(self):
        cp = self.__class__.__new__(self.__class__)
        cp.__dict__.update(self.__dict__)
        cp.owner, cp.index, cp.id = None, None, next(_counter)
        if "_tag" in cp.__dict__:
            cp._tag = self._tag._copy_for(cp)
        return cp

    @property
    def tag(self):
        """Theano's ``x.tag``: ``x.tag.test_value = value`` gives ``x`` a test value."""
        tag = self.__dict__.get("_tag")
        if tag is None:
            tag = self._tag = Tag(self)
        return tag

    def get_test_value(self):
        """The test value (Theano's): ``x.tag.test_value``, a constant's data or a
        shared variable's value; AttributeError when there is none."""
        return _testvalues.get_test_value(self)

    def __repr__(self):
        return self.name if self.name else f"<{self.type} {self.owner.op if self.owner else 'input'}>"

    @property
    def trace(self):
        return self.owner.trace if self.owner else getattr(self, "_trace", None)


class Constant(Variable):
    """A Variable with a fixed value; equal constants are merged by the optimizer."""

    def __init__(self, type, data, name=None):
        super().__init__(type, name=name)
        self.data = data
        self.data.setflags(write=False)

    def signature(self):
        # a small, hashable summary that identifies the value
        d = self.data
        return (self.type, d.shape, d.tobytes() if d.size <= 64 else hash(d.tobytes()))

    def equals(self, other):
        return isinstance(other, Constant) and self.type == other.type and \
            self.data.shape == other.data.shape and np.array_equal(self.data, other.data, equal_nan=True)

    def clone(self):
        return self  # constants are values, sharing them is safe

    def __repr__(self):
        if self.name:
            return self.name
        if self.data.size <= 6:
            return np.array2string(self.data, separator=", ") if self.data.ndim else repr(self.data.item())
        return f"<constant {self.data.dtype}{self.data.shape}>"


class Apply:
    """One application of an op to input variables, producing output variables."""

    def __init__(self, op, inputs, output_types, trace=None):
        self.op = op
        self.inputs = list(inputs)
        self.outputs = [_variable_for(t, self, i) for i, t in enumerate(output_types)]
        self.trace = trace if trace is not None else user_frame()

    @property
    def out(self):
        (out,) = self.outputs
        return out

    def clone_with_new_inputs(self, inputs):
        """A new node of the same op on other inputs (types re-derived by the op)."""
        with test_values_as("quiet"):   # a copy, not the user's new expression
            node = self.op.make_node(*inputs)
        node.trace = self.trace
        return node

    def __repr__(self):
        return f"{self.op}({', '.join(map(repr, self.inputs))})"


def _variable_for(type, owner, index):
    return variable.TensorVariable(type, owner=owner, index=index)


# --------------------------------------------------------------------- walking
def toposort(outputs):
    """The Apply nodes needed for ``outputs``, each after the nodes it depends on."""
    if isinstance(outputs, Variable):
        outputs = [outputs]
    order, done = [], set()
    for out in outputs:
        stack = [(out.owner, False)] if out.owner is not None else []
        while stack:
            node, expanded = stack.pop()
            if node in done:
                continue
            if expanded:
                done.add(node)
                order.append(node)
                continue
            stack.append((node, True))
            for inp in reversed(node.inputs):
                if inp.owner is not None and inp.owner not in done:
                    stack.append((inp.owner, False))
    return order


def ancestors(outputs, blockers=()):
    """Every variable that ``outputs`` depend on (including themselves)."""
    seen, stack, blockers = [], list(outputs), set(blockers)
    seen_set = set()
    while stack:
        v = stack.pop()
        if v in seen_set:
            continue
        seen_set.add(v)
        seen.append(v)
        if v.owner is not None and v not in blockers:
            stack.extend(v.owner.inputs)
    return seen


def graph_inputs(outputs, blockers=()):
    """The ownerless, non-constant variables that ``outputs`` depend on, in order of creation."""
    found = [v for v in ancestors(outputs, blockers)
             if (v.owner is None or v in blockers) and not isinstance(v, Constant)]
    return sorted(found, key=lambda v: v.id)


def clone_replace(outputs, replace=None):
    """Copies of ``outputs`` with the variables of ``replace`` (old -> new) swapped in.

    Nodes that do not depend on a replaced variable are kept as they are.
    """
    single = isinstance(outputs, Variable)
    outs = [outputs] if single else list(outputs)
    memo = dict(replace or {})
    for node in toposort(outs):
        new_inputs = [memo.get(i, i) for i in node.inputs]
        if any(a is not b for a, b in zip(new_inputs, node.inputs)):
            new_node = node.clone_with_new_inputs(new_inputs)
            for old, new in zip(node.outputs, new_node.outputs):
                new.name = old.name
                memo.setdefault(old, new)  # a replaced variable stays replaced
    result = [memo.get(o, o) for o in outs]
    return result[0] if single else result


def close_over(outputs, placeholders):
    """For an inner graph (a scan's step, a map's row): the variables
    ``outputs`` read that are neither ``placeholders`` nor computed from them,
    a fresh placeholder for each, and ``outputs`` rewritten over those.  Work
    that does not depend on the placeholders is so left outside, done once."""
    varying = set(placeholders)
    nodes = toposort(outputs)
    for node in nodes:
        if any(i in varying for i in node.inputs):
            varying.update(node.outputs)
    fixed, seen = [], set()

    def pass_in(v):
        if v not in varying and not isinstance(v, Constant) and v not in seen:
            seen.add(v)
            fixed.append(v)

    for node in nodes:
        if node.outputs[0] in varying:
            for i in node.inputs:
                pass_in(i)
    for o in outputs:
        pass_in(o)
    inner = [v.type(v.name) for v in fixed]
    return fixed, inner, clone_replace(list(outputs), dict(zip(fixed, inner)))


# --------------------------------------------------------------------- FunctionGraph
class FunctionGraph:
    """A graph with fixed inputs and outputs, and the client lists rewrites need.

    Rewrites call ``replace(old, new)``; it checks that the type is kept, so a
    faulty rule is caught where it happens.
    """

    def __init__(self, inputs, outputs):
        self.inputs = list(inputs)
        # Nodes are never mutated: a replace builds new nodes downstream of the
        # change, so graphs handed to a FunctionGraph stay valid for the user.
        self.outputs = list(outputs)
        self._rebuild()

    def _rebuild(self):
        self.clients = {}
        for node in toposort(self.outputs):
            for i, inp in enumerate(node.inputs):
                self.clients.setdefault(inp, []).append((node, i))
        for i, out in enumerate(self.outputs):
            self.clients.setdefault(out, []).append(("output", i))
        given = set(self.inputs)
        missing = [v for v in graph_inputs(self.outputs) if v not in given]
        if missing:
            raise ValueError(f"graph depends on inputs that were not given: {missing}")

    def toposort(self):
        return toposort(self.outputs)

    @property
    def apply_nodes(self):
        return self.toposort()

    def variables(self):
        return ancestors(self.outputs)

    def __repr__(self):
        return f"FunctionGraph({len(self.toposort())} nodes, outputs={self.outputs})"
