"""The rewrite driver: bottom-up sweeps that build a new graph, to a fixed point.

A sweep visits the nodes of the old graph in topological order and builds
each one again on its already-rewritten inputs, through a hash-cons table (so
identical subgraphs merge as they are built), then tries the rules on it.  A
rule's replacement is built the same way, and its new nodes are rewritten in
turn, so a replacement is normalised before the sweep moves on.  Nodes are
never mutated: an unchanged node is reused, a changed one is a new Apply.
The new graph is installed once per sweep; sweeps repeat until nothing
changes.  Everything is one pass over the graph per sweep: near linear.

Every replacement must keep the type (dtype and broadcastable flags) of what
it replaces.  ``adapt`` restores a lost length with ``fill`` from a shape
source, re-flags with a rebroadcast and converts the dtype with a cast; a rule
whose result cannot be adapted does not fire.
"""
import warnings
from collections import Counter

from ..graph import Apply, Constant, toposort
from ..ops.elemwise import Cast, Second
from ..ops.shape import DimShuffle, Rebroadcast
from .merge import HashCons

# rewrites nested inside one rewrite (a rule's result rewritten by another ...)
MAX_DEPTH = 40
MAX_SWEEPS = 12


class RuleError(TypeError):
    pass


class Rewriter:
    """One sweep's state: the hash-cons table and the old -> new map."""

    def __init__(self, rules, index, hook=None, stats=None, settled=None):
        self.rules = rules
        self.index = index          # op class -> rules for it (shared between sweeps)
        # nodes no rule changed in an earlier sweep of this pass: rules look only
        # at a node and what it depends on, so an unchanged node stays unchanged
        self.settled = settled if settled is not None else set()
        self.hook = hook            # node -> replacement built over mapped inputs, or None
        self.table = HashCons()
        self.canonical = set()      # the variables of the graph being built
        self.memo = {}              # old variable -> new variable
        self.interned = {}          # variable built by a rule -> its canonical variable
        self.stats = stats if stats is not None else Counter()
        self.changed = False
        self.depth = 0
        self.fresh = set()          # nodes that rules built in this sweep

    # ------------------------------------------------------------ the sweep
    def sweep(self, outputs):
        for node in toposort(outputs):
            inputs = [self.mapped(i) for i in node.inputs]
            if self.hook is not None:
                new = self.hook(node, self)
                if new is not None:
                    old = node.outputs[0]
                    new = self.intern(adapt_or_fail(new, old, "hook"), node.trace)
                    self.memo[old] = self._named(new, old)
                    self.changed = True
                    continue
            if self.table.lookup(node.op, inputs) is not None:
                self.changed = True   # a node identical to one already built: merged
            self.memo.update(zip(node.outputs, self.build(node.op, inputs, node)))
        return [self.mapped(o) for o in outputs]

    def mapped(self, var):
        """The new variable for ``var`` of the old graph (visited earlier)."""
        new = self.memo.get(var)
        if new is not None:
            return new
        new = self.leaf(var)
        if new is not var:
            self.changed = True
        self.memo[var] = new
        return new

    def existing(self, op, inputs):
        """The output of ``op`` on ``inputs`` if the new graph has that node already."""
        outs = self.table.lookup(op, inputs)
        return None if outs is None else outs[0]

    def leaf(self, var):
        if isinstance(var, Constant):
            var = self.table.constant(var)
        self.canonical.add(var)
        return var

    # ------------------------------------------------------------ building
    def build(self, op, inputs, like, trace=None):
        """The outputs of ``op`` on ``inputs`` (canonical variables): an existing
        node if there is one, else ``like`` or a copy of it, rewritten."""
        hit = self.table.lookup(op, inputs)
        if hit is not None:
            return hit
        if len(inputs) == len(like.inputs) and all(a is b for a, b in zip(inputs, like.inputs)):
            node = like
        else:
            node = _copy_node(like, inputs)
        if trace is not None:
            node.trace = trace
            self.fresh.add(node)
        outs = list(node.outputs)
        self.table.store(op, inputs, outs)
        self.canonical.update(outs)
        if len(outs) == 1 and node not in self.settled:
            final = self.rewrite(outs[0])
            if final is not outs[0]:
                outs = [final]
                self.table.store(op, inputs, outs)
            elif not any(r.asks_graph for r in self.rules_for(op)):
                self.settled.add(node)
        return outs

    def intern(self, var, trace):
        """The canonical variable for ``var``, which a rule built (new nodes are
        hash-consed and rewritten; variables of the new graph stay as they are)."""
        if var in self.canonical:
            return var
        done = self.interned.get(var)
        if done is not None:
            return done
        if var.owner is None:
            result = self.leaf(var)
        else:
            node = var.owner
            inputs = [self.intern(i, trace) for i in node.inputs]
            result = self.build(node.op, inputs, node, trace)[var.index]
        self.interned[var] = result
        return result

    # ------------------------------------------------------------ rewriting
    def rewrite(self, var):
        """``var`` after the first rule that changes it (and the rewrites of what
        that rule built), or ``var`` itself."""
        node = var.owner
        rules = self.rules_for(node.op)
        if not rules or self.depth > MAX_DEPTH:
            return var
        for rule in rules:
            try:
                new = self._apply(rule, var)
            except Exception as exc:
                # a faulty rule costs an optimization, not the user's function
                warnings.warn(f"optimizer rule {rule.name} failed on {node.op} and was skipped: "
                              f"{type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
                continue
            if new is None:
                continue
            self.stats[rule.name] += 1
            self.changed = True
            return self._named(new, var)
        return var

    def _apply(self, rule, var):
        """The canonical replacement ``rule`` gives for ``var``, or None."""
        result = rule.apply(var, self)
        if result is None:
            return None
        new, sources = result
        new = adapt(new, var, sources)
        if new is None or new is var:
            return None
        self.depth += 1
        try:
            new = self.intern(new, var.owner.trace)
        finally:
            self.depth -= 1
        if new is var:
            return None
        if new.type != var.type:
            raise RuleError(f"rule {rule.name} changed the type of {var!r}: {var.type} -> {new.type}")
        return new

    def rules_for(self, op):
        rules = self.index.get(type(op))
        if rules is None:
            rules = self.index[type(op)] = [r for r in self.rules if issubclass(type(op), r.root)]
        return rules

    def _named(self, new, old):
        # a node built to replace a named variable takes its name (for printing);
        # variables that existed before keep theirs
        if old.name is not None and new.name is None and new.owner in self.fresh:
            new.name = old.name
        return new


def _copy_node(node, inputs):
    """``node`` on other inputs of the same types: same op, same output types."""
    new = Apply.__new__(Apply)
    new.op, new.inputs, new.trace = node.op, list(inputs), node.trace
    new.outputs = []
    for old in node.outputs:
        out = old.clone()
        out.owner, out.index = new, old.index
        new.outputs.append(out)
    return new


# ------------------------------------------------------------------ types
def adapt(new, old, sources=()):
    """``new`` made to have exactly ``old``'s type, or None where that is not
    possible.  ``sources`` are variables of ``old``'s shape (or broadcastable to
    it) to take a length from when ``new`` lost it."""
    if new.type == old.type:
        return new
    if new.ndim > old.ndim:
        return None
    if new.ndim < old.ndim:
        pad = old.ndim - new.ndim
        new = DimShuffle(new.broadcastable, ("x",) * pad + tuple(range(new.ndim)))(new)
    want = old.broadcastable
    for src in sources:
        missing = [a for a in range(old.ndim) if new.broadcastable[a] and not want[a]]
        if not missing:
            break
        if src.ndim != old.ndim or any(w and not s for w, s in zip(want, src.broadcastable)):
            continue
        if any(not src.broadcastable[a] for a in missing):
            new = Second()(src, new)
    if any(n and not w for n, w in zip(new.broadcastable, want)):
        return None
    if new.dtype != old.dtype:
        new = Cast(old.dtype)(new)
    if new.broadcastable != want:
        new = Rebroadcast(want)(new)
    return new


def adapt_or_fail(new, old, what):
    result = adapt(new, old)
    if result is None:
        raise RuleError(f"{what} cannot keep the type {old.type} of {old!r} (got {new.type})")
    return result


# ------------------------------------------------------------------ passes
class RewritePass:
    """Rules applied in sweeps until a sweep changes nothing."""

    def __init__(self, name, rules, max_sweeps=MAX_SWEEPS):
        self.name, self.rules, self.max_sweeps = name, list(rules), max_sweeps
        self.index = {}

    def run(self, outputs, stats=None, hook=None):
        settled = set()
        for _ in range(self.max_sweeps):
            rewriter = Rewriter(self.rules, self.index, hook=hook, stats=stats, settled=settled)
            outputs = rewriter.sweep(outputs)
            hook = None   # a hook replaces nodes of the graph it was made for
            if not rewriter.changed:
                break
        return outputs

    def __repr__(self):
        return f"RewritePass({self.name}, {len(self.rules)} rules)"
