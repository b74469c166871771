"""Sigmoids and exponentials in products, rewritten so that nothing overflows.

A hand-written logistic ``1 / (1 + exp(-z))`` and its gradient are products
of factors that all belong to one family for each argument t:

    sigmoid(t)      s(t)
    exp(t)          e(t)
    1 + exp(t)      1 / s(-t)
    sqr(f), f**n    f twice, n times

tied by one identity, s(t) = e(t) * s(-t).  A product over one t,
s(t)^a s(-t)^b e(t)^c, therefore depends only on a + b and a + c, and may be
written with any a.  We pick the a that leaves the fewest exponentials and no
sigmoid in a denominator (sigmoids lie in [0, 1]; exp(t) and 1/s(t) overflow
for large |t|): the derivative of the hand-written logistic,
``exp(-z) / (1 + exp(-z))**2``, becomes ``s(z) * s(-z)``, where the original
gives inf/inf = nan once exp(-z) overflows.

Gradients also multiply such factors onto sums (``(a/p - b/(1-p)) * p*(1-p)``):
``distribute_over_sigmoids`` distributes a product over a sum when that lets
the terms absorb its exponentials and sigmoids, as counted by the same
measure.  And sums meet the other identity, s(t) + s(-t) = 1:
``combine_complements`` joins terms that differ by one sigmoid factor,
``a - a*s(t) -> a*s(-t)`` (``1 - s(t) -> s(-t)`` is its row for a = 1).
"""
from ..ops import elemwise as ew
from ..types import is_float
from .canonical import _MINUS_ONE, _product_visit, _same, _sum_visit, _walk
from .values import constant_array, scalar_constant, scalar_value

PRODUCT_OPS = (ew.Mul, ew.TrueDiv, ew.Neg)
SUM_OPS = (ew.Add, ew.Sub, ew.Neg)
# a sum with more terms than this is not distributed (each term gets a copy of the product)
MAX_DISTRIBUTED_TERMS = 8
# sums with more terms than this are not searched for complements (pairs: quadratic)
MAX_COMBINED_TERMS = 32
# f ** n is read as n factors f up to this n
MAX_POWER = 16


# ------------------------------------------------------------------ reading factors
def _exp_argument(var):
    node = var.owner
    if node is not None and isinstance(node.op, ew.Exp):
        return node.inputs[0]
    return None


def _one_plus_exp(var):
    """t when ``var`` is 1 + exp(t), else None."""
    node = var.owner
    if node is None or not isinstance(node.op, ew.Add) or len(node.inputs) != 2:
        return None
    a, b = node.inputs
    for one, other in ((a, b), (b, a)):
        t = _exp_argument(other)
        if t is not None and scalar_value(one) == 1:
            return t
    return None


def _integer_power(node):
    """n when ``node`` is sqr(f) or f ** n for a small integer n, else None."""
    if isinstance(node.op, ew.Sqr):
        return 2
    if isinstance(node.op, ew.Pow):
        n = scalar_value(node.inputs[1])
        if n is not None and n == int(n) and 0 < abs(n) <= MAX_POWER:
            return int(n)
    return None


def read_factor(var, dtype):
    """(t, (a, b, c), exps) when ``var`` is s(t)^a s(-t)^b e(t)^c, with ``exps``
    the exponentials it computes; else None."""
    if var.dtype != dtype:
        return None
    node = var.owner
    if node is None:
        return None
    times = _integer_power(node)
    if times is not None:
        inner = read_factor(node.inputs[0], dtype)
        if inner is None:
            return None
        t, (a, b, c), exps = inner
        return t, (times * a, times * b, times * c), abs(times) * exps
    if isinstance(node.op, ew.Sigmoid):
        t, power = node.inputs[0], (1, 0, 0)
        exps = 0
    elif isinstance(node.op, ew.Exp):
        t, power, exps = node.inputs[0], (0, 0, 1), 1
    else:
        t = _one_plus_exp(var)
        if t is None:
            return None
        power, exps = (0, -1, 0), 1
    return (t, power, exps) if t.dtype == dtype else None


def _strip_negs(t):
    sign = 1
    while t.owner is not None and isinstance(t.owner.op, ew.Neg):
        sign, t = -sign, t.owner.inputs[0]
    return sign, t


def _negations(a, b):
    """a == -b for a sub and the sub of the swapped operands (canonical sums
    write -(p - q) as q - p, with no neg to strip)."""
    na, nb = a.owner, b.owner
    return na is not None and nb is not None and isinstance(na.op, ew.Sub) and \
        isinstance(nb.op, ew.Sub) and na.inputs[0] is nb.inputs[1] and na.inputs[1] is nb.inputs[0]


class Group:
    """The factors over one argument t (up to sign): s(t)^a s(-t)^b e(t)^c."""

    def __init__(self, key):
        self.key = key            # t
        self.negated = None       # a variable of the graph equal to -t, if seen
        self.power = [0, 0, 0]
        self.cost = 0             # the factors' cost as they are written now
        self.leaves = []

    def add(self, sign, power, cost, leaf):
        a, b, c = power
        if sign < 0:
            a, b, c = b, a, -c
        self.power = [self.power[0] + a, self.power[1] + b, self.power[2] + c]
        self.cost += cost
        self.leaves.append(leaf)

    def best(self):
        """(a, b, c) with the same a + b and a + c and the lowest cost."""
        a, b, c = self.power
        n, m = a + b, a + c
        best_a = min(max(m, min(0, n)), max(0, n))
        return best_a, n - best_a, m - best_a

    def best_cost(self):
        return cost_of(*self.best())


def cost_of(a, b, c):
    """Factors that can overflow: exponentials, and sigmoids in the denominator."""
    return abs(c) + max(0, -a) + max(0, -b)


def group_factors(leaves, dtype):
    """(groups, other leaves): ``leaves`` (power, variable) of a product read as
    sigmoid-family factors, grouped by argument."""
    groups, others = [], []
    for p, v in leaves:
        read = None if v is _MINUS_ONE else read_factor(v, dtype)
        if read is None:
            others.append((p, v))
            continue
        t, power, exps = read
        power = tuple(p * k for k in power)
        # 1 + exp(t) counts once, as the exponential it computes
        cost = abs(p) * exps if exps else cost_of(*power)
        sign, base = _strip_negs(t)
        for g in groups:
            if g.key is base:
                break
            if _negations(g.key, base):
                g.negated, sign = base, -sign
                break
        else:
            g = Group(base)
            groups.append(g)
        if sign < 0 and t is not base and g.negated is None:
            g.negated = t
        g.add(sign, power, cost, (p, v))
    return groups, others


def best_total(leaves, dtype):
    groups, _ = group_factors(leaves, dtype)
    return sum(g.best_cost() for g in groups)


# ------------------------------------------------------------------ building
def _factors_of(group):
    """(power, variable) factors for the group's best form."""
    a, b, c = group.best()
    t = group.key
    minus_t = group.negated
    if (b or c < 0) and minus_t is None:
        minus_t = ew.Neg()(t)
    factors = []
    if a:
        factors += [(1 if a > 0 else -1, ew.Sigmoid()(t))] * abs(a)
    if b:
        factors += [(1 if b > 0 else -1, ew.Sigmoid()(minus_t))] * abs(b)
    if c:
        factors += [(1, ew.Exp()(t if c > 0 else minus_t))] * abs(c)
    return factors


def build_product(leaves, like):
    """The product of ``leaves`` (power +-1, variable, or the factor -1)."""
    num = [v for p, v in leaves if p > 0 and v is not _MINUS_ONE]
    den = [v for p, v in leaves if p < 0 and v is not _MINUS_ONE]
    negate = sum(1 for _, v in leaves if v is _MINUS_ONE) % 2 == 1
    if not num:
        num = [scalar_constant(1, like)]
    top = num[0] if len(num) == 1 else ew.Mul()(*num)
    result = top if not den else ew.TrueDiv()(top, den[0] if len(den) == 1 else ew.Mul()(*den))
    return ew.Neg()(result) if negate else result


def _product_leaves(out):
    if not is_float(out.dtype):
        return None
    return _walk(out, PRODUCT_OPS, _product_visit)


# ------------------------------------------------------------------ the rules
def simplify_sigmoid_product(out):
    """s(t)^a s(-t)^b e(t)^c in a product -> the equal form that overflows least:
    exp(-z) / sqr(1 + exp(-z)) -> sigmoid(z) * sigmoid(-z)."""
    leaves = _product_leaves(out)
    if leaves is None:
        return None
    groups, others = group_factors(leaves, out.dtype)
    better = [g for g in groups if g.best_cost() < g.cost]
    if not better:
        return None
    kept = list(others)
    for g in groups:
        kept += _factors_of(g) if g in better else g.leaves
    return build_product(kept, out), [v for _, v in leaves if v is not _MINUS_ONE]


def _sum_terms(var, dtype):
    node = var.owner
    if var.dtype != dtype or node is None or not isinstance(node.op, (ew.Add, ew.Sub)):
        return None
    terms = _walk(var, SUM_OPS, _sum_visit)
    return terms if len(terms) <= MAX_DISTRIBUTED_TERMS else None


def distribute_over_sigmoids(out):
    """p * (u - v) -> p*u - p*v when the terms absorb p's exponentials and
    sigmoids: (a*(1+exp(-z)) - b/s(-z)) * s(z)*s(-z) -> a*s(-z) - b*s(z)."""
    leaves = _product_leaves(out)
    if leaves is None:
        return None
    dtype = out.dtype
    for k, (p, s) in enumerate(leaves):
        terms = None if p != 1 else _sum_terms(s, dtype)
        if terms is None:
            continue
        rest = leaves[:k] + leaves[k + 1:]
        if not group_factors(rest, dtype)[0]:
            continue
        term_leaves = [_walk(t, PRODUCT_OPS, _product_visit) for _, t in terms]
        before = best_total(rest, dtype) + sum(best_total(tl, dtype) for tl in term_leaves)
        after = sum(best_total(tl + rest, dtype) for tl in term_leaves)
        if after >= before:
            continue
        products = [(sign, build_product(rest + [(1, t)], out)) for sign, t in terms]
        return build_sum(products, out), [v for _, v in leaves if v is not _MINUS_ONE]
    return None


# ------------------------------------------------------------------ sums
def _signed_factors(sign, term):
    """(sign, coefficient, factors) of a term of a sum: its constant factors
    multiplied into a positive coefficient, their sign into ``sign``."""
    coefficient, factors = 1.0, []
    for p, v in _walk(term, PRODUCT_OPS, _product_visit):
        value = -1 if v is _MINUS_ONE else scalar_value(v) if constant_array(v) is not None else None
        if value is None or value == 0:
            factors.append((p, v))
        else:
            coefficient = coefficient * value if p > 0 else coefficient / value
    if coefficient < 0:
        sign, coefficient = -sign, -coefficient
    return sign, coefficient, factors


def _with_coefficient(coefficient, factors, like):
    if coefficient == 1:
        return factors
    return [(1, scalar_constant(coefficient, like))] + factors


def _minus(xs, ys):
    """The factors of ``xs`` left after taking out those of ``ys`` one for one."""
    left = list(xs)
    for p, v in ys:
        for k, (q, w) in enumerate(left):
            if p == q and _same(v, w):
                del left[k]
                break
    return left


def _sigmoid_argument(factors, dtype):
    """t when ``factors`` is the one factor sigmoid(t) (of ``dtype``), else None."""
    if len(factors) != 1:
        return None
    p, v = factors[0]
    node = v.owner
    if p != 1 or v.dtype != dtype or node is None or not isinstance(node.op, ew.Sigmoid):
        return None
    return node.inputs[0]


def _are_negations(a, b):
    sa, a = _strip_negs(a)
    sb, b = _strip_negs(b)
    return (a is b and sa != sb) or (sa == sb and _negations(a, b))


def _negated(t):
    return t.owner.inputs[0] if t.owner is not None and isinstance(t.owner.op, ew.Neg) else ew.Neg()(t)


def _complement(first, second, dtype):
    """The sum of two signed terms as one (sign, factors) by sigmoid(t) + sigmoid(-t) = 1,
    or None."""
    (s1, c1, f1), (s2, c2, f2) = first, second
    if c1 != c2:
        return None
    only1, only2 = _minus(f1, f2), _minus(f2, f1)
    t1, t2 = _sigmoid_argument(only1, dtype), _sigmoid_argument(only2, dtype)
    if s1 == s2 and t1 is not None and t2 is not None and _are_negations(t1, t2):
        return s1, _minus(f1, only1)               # a*s(t) + a*s(-t) -> a
    if s1 != s2 and not only1 and t2 is not None:
        return s1, f1 + [(1, ew.Sigmoid()(_negated(t2)))]   # a - a*s(t) -> a*s(-t)
    if s1 != s2 and not only2 and t1 is not None:
        return s2, f2 + [(1, ew.Sigmoid()(_negated(t1)))]
    return None


def _has_sigmoid(factors):
    return any(v.owner is not None and isinstance(v.owner.op, ew.Sigmoid) for _, v in factors)


def combine_complements(out):
    """Two terms of a sum that differ by sigmoid(t) <-> sigmoid(-t), or by a
    factor sigmoid(t), become one: a - a*sigmoid(t) -> a*sigmoid(-t),
    a*sigmoid(t) + a*sigmoid(-t) -> a."""
    dtype = out.dtype
    if not is_float(dtype):
        return None
    terms = _walk(out, SUM_OPS, _sum_visit)
    if len(terms) < 2 or len(terms) > MAX_COMBINED_TERMS:
        return None
    signed = [_signed_factors(s, t) if t.dtype == dtype else None for s, t in terms]
    for i, first in enumerate(signed):
        if first is None or not _has_sigmoid(first[2]):
            continue
        for j, second in enumerate(signed):
            if j == i or second is None:
                continue
            combined = _complement(first, second, dtype)
            if combined is None:
                continue
            sign, factors = combined
            factors = _with_coefficient(first[1], factors, out)
            rest = [terms[k] for k in range(len(terms)) if k not in (i, j)]
            return build_sum(rest + [(sign, build_product(factors, out))], out), \
                [t for _, t in terms]
    return None


def build_sum(terms, like):
    """The sum of signed ``terms`` (sign, variable)."""
    pos = [v for sign, v in terms if sign > 0]
    neg = [v for sign, v in terms if sign < 0]
    if not pos and not neg:
        return scalar_constant(0, like)
    total = None if not pos else pos[0] if len(pos) == 1 else ew.Add()(*pos)
    if neg:
        subtracted = neg[0] if len(neg) == 1 else ew.Add()(*neg)
        total = ew.Neg()(subtracted) if total is None else ew.Sub()(total, subtracted)
    return total
