"""SymPy as the algebra oracle for elementwise clusters the rules leave alone.

A cluster (a tree of arithmetic, exp/log and sin/cos nodes of one float dtype,
each used once, MIN_OPS to MAX_OPS nodes) becomes a SymPy expression over its
inputs, which ``sympy.simplify`` (and ``sympy.factor``) may shorten:
``(a+b)**2 - (a**2 + 2*a*b + b**2) -> 0``, ``a**2 + 2*a*b + b**2 -> (a+b)**2``.
The shorter form replaces the cluster when it has at most half the operations:
a gradient's sum of fractions brought over one common denominator is shorter
to write but can overflow where the original did not, so small wins are not
worth the risk.  Results are cached by the cluster's structure; each
simplification is bounded in time (a timer signal: outside the main thread
the pass does nothing) and so is the pass as a whole.
``sg.config.sympy_simplify = False`` turns the pass off.

SymPy works over the reals: like ``x/x -> 1``, a result may be finite where
the original gave nan or inf (``sqrt(x)**2 -> x`` for x < 0).
"""
import functools
import hashlib
import re
import signal
import threading
import time

import numpy as np

from ..config import config
from ..ops import elemwise as ew
from ..types import is_float
from .engine import adapt
from .fusion import find_groups, steps_and_leaves
from .values import constant_array, scalar_constant
from ..tensor import basic as T

# A 3-op cluster would have to become a single op to count; the rewrite rules
# already catch those (x*y/y, exp(log(x))...), so SymPy, whose import alone
# costs ~0.2 s of a cold start, is not consulted below 4.
MIN_OPS, MAX_OPS = 4, 40
SECONDS_PER_CLUSTER = 0.5
SECONDS_PER_PASS = 3.0

_cache = {}   # cluster structure -> simplified SymPy expression, or None


def _member(node):
    # an op with a SymPy form (Elemwise.sympy_form), on floats
    return getattr(node.op, "sympy_form", None) is not None and is_float(node.outputs[0].dtype)


class _Timeout(Exception):
    pass


_NOT_RUN = object()   # could not bound the time: not tried, not cached


_TIMED_OUT = object()   # ran out of time: remembered in this process, never on disk


def _time_limited(seconds, fn):
    """fn(), _TIMED_OUT when it takes longer than ``seconds``, or _NOT_RUN when
    that cannot be bounded (outside the main thread).  A timer someone else set
    (pytest-timeout, ...) is put back afterwards with its remaining time."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        return _NOT_RUN
    state = {"armed": True}

    def on_alarm(signum, frame):
        if state["armed"]:
            raise _Timeout()

    outer, outer_interval = signal.getitimer(signal.ITIMER_REAL)
    if 0 < outer <= seconds:
        return _NOT_RUN   # the outer deadline comes first: leave it to fire as set
    previous = signal.signal(signal.SIGALRM, on_alarm)
    start = time.monotonic()
    try:
        try:
            # armed inside the try: a short limit can fire before the next line
            signal.setitimer(signal.ITIMER_REAL, seconds)
            return fn()
        finally:
            state["armed"] = False        # from here on a late alarm does nothing
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _Timeout:
        return _TIMED_OUT
    finally:
        signal.signal(signal.SIGALRM, previous)
        if outer > 0:
            left = outer - (time.monotonic() - start)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), outer_interval)


def _leaf_key(v, dtype):
    data = constant_array(v)
    if data is not None and data.size and np.all(data == data.flat[0]) and all(v.broadcastable):
        return ("c", data.flat[0].item())
    return ("v", v.dtype == dtype)


def _simplify(sympy, steps, leaf_keys):
    """The simplified expression of the cluster, or None when it is not worth it."""
    symbols = [sympy.Symbol(f"v{k}", real=True) if kind == "v" else
               sympy.Integer(int(value)) if float(value).is_integer() else sympy.Float(value)
               for k, (kind, value) in enumerate(leaf_keys)]
    uses = [0] * len(leaf_keys)
    for _, refs in steps:
        for r in refs:
            if r < len(uses):
                uses[r] += 1
    transcendental = sum(isinstance(op, (ew.Exp, ew.Log, ew.Sin, ew.Cos)) for op, _ in steps)
    if not any(n > 1 for n, (kind, _) in zip(uses, leaf_keys) if kind == "v") and transcendental < 2:
        return None   # every input used once, at most one function: little for SymPy to find
    values = list(symbols)
    for op, refs in steps:
        values.append(op.to_sympy(sympy, [values[r] for r in refs]))
    original = values[-1]
    budget = sum(max(1, len(refs) - 1) for _, refs in steps) / 2
    best, best_cost = None, budget
    for candidate_of in (sympy.simplify, sympy.factor):
        candidate = candidate_of(original)
        if candidate.has(sympy.I, sympy.zoo, sympy.nan, sympy.oo):
            continue
        cost = _cost(sympy, candidate)
        if cost <= best_cost:
            best, best_cost = candidate, cost
    return best


def _cost(sympy, e):
    """About the number of scalar operations ``to_graph`` builds for ``e``."""
    if e.is_Atom:
        return 0
    inner = sum(_cost(sympy, a) for a in e.args)
    if e.is_Add or e.is_Mul:
        return inner + len(e.args) - 1
    if e.is_Pow and e.exp.is_Integer and abs(int(e.exp)) > 2:
        n = abs(int(e.exp))
        return inner + n.bit_length() + bin(n).count("1") - 2
    return inner + 1


class _Unsupported(Exception):
    pass


def to_graph(sympy, expr, leaves, like):
    """A graph for ``expr`` whose symbols v0, v1, ... are ``leaves``; numbers get
    ``like``'s dtype."""

    def build(e):
        if e.is_Symbol:
            return leaves[int(e.name[1:])]
        if e.is_Number:
            if not e.is_real or not e.is_finite:
                raise _Unsupported(e)
            return scalar_constant(float(e), like)
        if e.is_Add:
            pos, neg = [], []
            for term in e.args:
                if term.could_extract_minus_sign():
                    neg.append(build(-term))
                else:
                    pos.append(build(term))
            total = _nary(ew.Add, pos)
            if not neg:
                return total
            minus = _nary(ew.Add, neg)
            return ew.Neg()(minus) if total is None else ew.Sub()(total, minus)
        if e.is_Mul:
            num, den = [], []
            for f in e.args:
                if f.is_Pow and f.exp.is_Number and f.exp < 0:
                    den.append(build(f.base ** -f.exp))
                else:
                    num.append(build(f))
            top = _nary(ew.Mul, num) if num else scalar_constant(1, like)
            return top if not den else ew.TrueDiv()(top, _nary(ew.Mul, den))
        if e.is_Pow:
            base, power = build(e.base), e.exp
            if power == 2:
                return ew.Sqr()(base)
            if power == sympy.Rational(1, 2):
                return ew.Sqrt()(base)
            if power.is_Number and power < 0:
                return ew.TrueDiv()(scalar_constant(1, like), build(e.base ** -power))
            return ew.Pow()(base, build(power))
        funcs = {sympy.exp: ew.Exp, sympy.log: ew.Log, sympy.sin: ew.Sin, sympy.cos: ew.Cos}
        if e.func in funcs and len(e.args) == 1:
            return funcs[e.func]()(build(e.args[0]))
        raise _Unsupported(e)

    return T.as_tensor_variable(build(expr))


def _nary(op_class, args):
    return None if not args else args[0] if len(args) == 1 else op_class()(*args)


class SympyPass:
    name = "sympy"

    def __init__(self, rewrite_pass):
        self.rewrite_pass = rewrite_pass    # builds the new graph, canonicalizing replacements

    def run(self, outputs, stats=None):
        if not config.sympy_simplify:
            return outputs
        sympy = _LazySympy()
        start = time.perf_counter()
        replacements = {}
        for root, members in find_groups(outputs, _member, copyable=lambda node: False).items():
            if time.perf_counter() - start > SECONDS_PER_PASS:
                break
            dtype = root.outputs[0].dtype
            if not MIN_OPS <= len(members) <= MAX_OPS or any(m.outputs[0].dtype != dtype for m in members):
                continue
            steps, leaves = steps_and_leaves(members)
            keys = tuple(_leaf_key(v, dtype) for v in leaves)
            if any(k == ("v", False) for k in keys):
                continue   # an input of another dtype: a new order could convert it elsewhere
            key = (steps, keys, dtype)
            if key not in _cache and not _disk_lookup(key, sympy):
                if sympy.module is None:
                    continue
                result = _time_limited(SECONDS_PER_CLUSTER, lambda: _simplify(sympy, steps, keys))
                if result is _NOT_RUN:
                    continue
                if result is _TIMED_OUT:
                    # a verdict of the machine's load, not of the algebra: a later
                    # process (or a less busy moment) may still simplify it
                    _cache[key] = None
                    continue
                _cache[key] = result
                _disk_store(key, result, sympy)
            if _cache[key] is not None:
                replacements[root] = (_cache[key], leaves)
        if not replacements:
            return outputs

        def hook(node, rewriter):
            plan = replacements.get(node)
            if plan is None:
                return None
            expr, leaves = plan
            new_leaves = [rewriter.mapped(v) for v in leaves]
            old = node.outputs[0]
            try:
                new = to_graph(sympy, expr, new_leaves, old)
            except _Unsupported:
                return None
            new = adapt(new, old, [v for v in new_leaves if v.ndim == old.ndim])
            if new is not None and stats is not None:
                stats["sympy"] += 1
            return new

        return self.rewrite_pass.run(outputs, stats, hook=hook)



class _LazySympy:
    """SymPy, imported only when a cluster is in neither cache (its import is a
    good part of a warm start)."""

    def __getattr__(self, name):
        if self.module is None:
            raise ImportError("sympy is not installed")
        return getattr(self.module, name)

    @functools.cached_property
    def module(self):
        try:
            import sympy  # late: ~0.2 s, and a warm start never needs it
        except ImportError:
            return None
        return sympy


# Results also live on disk (in the cache folder), so that a new process that
# compiles a model compiled before does not run SymPy again.  They are stored
# as a tree of whitelisted heads, symbols and numbers, signed by the cache
# (compile/cache.py) and rebuilt with SymPy's constructors: never evaluated.
_DISK_FILE = "sympy_clusters.json"
_disk = None
_FUNCTIONS = ("exp", "log", "sin", "cos")


def _disk_key(key):
    return hashlib.sha256(repr(key).encode()).hexdigest()


def _disk_lookup(key, sympy):
    global _disk
    from ..compile import cache   # late: the compile package imports the optimizer
    if _disk is None:
        _disk = cache.load_signed(_DISK_FILE)
    name = _disk_key(key)
    if name not in _disk or (_disk[name] is not None and sympy.module is None):
        return False
    try:
        _cache[key] = None if _disk[name] is None else _from_tree(sympy, _disk[name])
    except (TypeError, ValueError, RecursionError):
        del _disk[name]     # signed by this cache yet not a tree: simplify again
        return False
    return True


def _disk_store(key, result, sympy):
    from ..compile import cache  # late: compile/ sits above optimize/
    try:
        tree = None if result is None else _to_tree(sympy, result)
    except _Unsupported:
        tree = None    # to_graph could not build it either: same as no simplification
    _disk[_disk_key(key)] = tree
    cache.store_signed(_DISK_FILE, _disk_key(key), tree)


def _to_tree(sympy, e):
    """``e`` as JSON data: [head, args...] for the forms ``to_graph`` builds."""
    if e.is_Symbol:
        return ["Symbol", e.name]
    if e.is_Integer:
        return ["Integer", int(e)]
    if e.is_Rational:
        return ["Rational", int(e.p), int(e.q)]
    if e.is_Float:
        return ["Float", float(e)]     # to_graph reads float(e) only
    head = "Add" if e.is_Add else "Mul" if e.is_Mul else "Pow" if e.is_Pow else \
        next((n for n in _FUNCTIONS if e.func is getattr(sympy, n)), None)
    if head is None:
        raise _Unsupported(e)
    return [head] + [_to_tree(sympy, a) for a in e.args]


def _from_tree(sympy, tree):
    """The expression of a tree from ``_to_tree``; ValueError for anything else."""
    if not isinstance(tree, list) or not tree or not isinstance(tree[0], str):
        raise ValueError(f"not an expression tree: {tree!r}")
    head, args = tree[0], tree[1:]

    def numbers(*kinds):
        if len(args) != len(kinds) or not all(isinstance(a, k) and not isinstance(a, bool)
                                              for a, k in zip(args, kinds)):
            raise ValueError(f"bad {head}: {args!r}")
        return args

    if head == "Symbol":
        if len(args) != 1 or not isinstance(args[0], str) or not re.fullmatch(r"v\d+", args[0]):
            raise ValueError(f"bad symbol: {args!r}")
        return sympy.Symbol(args[0], real=True)
    if head == "Integer":
        return sympy.Integer(numbers(int)[0])
    if head == "Rational":
        p, q = numbers(int, int)
        if q == 0:
            raise ValueError("zero denominator")
        return sympy.Rational(p, q)
    if head == "Float":
        value = float(numbers((int, float))[0])
        if not np.isfinite(value):
            raise ValueError("not finite")
        return sympy.Float(value)
    parts = [_from_tree(sympy, a) for a in args]
    if head in ("Add", "Mul") and len(parts) >= 2:
        return getattr(sympy, head)(*parts, evaluate=False)
    if head == "Pow" and len(parts) == 2:
        return sympy.Pow(*parts, evaluate=False)
    if head in _FUNCTIONS and len(parts) == 1:
        return getattr(sympy, head)(parts[0], evaluate=False)
    raise ValueError(f"unknown head {head!r}")
