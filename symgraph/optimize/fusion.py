"""Fusion: trees of elementwise ops become one ``Fused`` node (one loop).

Groups form from the outputs backwards: an elementwise node joins the group
of its consumer when that consumer is its only client and has the same
broadcastable flags (a producer that is broadcast by its consumer, like a row
added to a matrix, stays its own loop: fused, it would be recomputed for every
row), and the node's output has no name (a variable the user named stays
visible in the compiled graph, for debugprint and pictures).  A cheap node
(one add, a comparison, a cast, ...) used by several fused consumers is copied
into each of them instead of being stored; any other shared node is the
output of its own group.
"""
from ..graph import toposort
from ..ops.elemwise import Elemwise
from ..ops.fused import Fused

MAX_COPIES = 4
MAX_GROUP = 128

_has_code = {}


def fusable(node):
    """A plain single-output elementwise op with a scalar expression."""
    op = node.op
    if not isinstance(op, Elemwise) or isinstance(op, Fused) or len(node.outputs) != 1:
        return False
    key = (op, len(node.inputs))
    if key not in _has_code:
        try:
            _has_code[key] = isinstance(op.scalar_code([f"a{i}" for i in range(len(node.inputs))]), str)
        except Exception:
            _has_code[key] = False
    return _has_code[key]


def find_groups(outputs, member=fusable, copyable=None):
    """{root node: member nodes in topological order} for groups of two or more.

    ``member`` says which nodes may be grouped; ``copyable`` which of them may
    be copied into several groups (None: the cheap ones)."""
    nodes = toposort(outputs)
    order = {n: k for k, n in enumerate(nodes)}
    clients = {}
    for n in nodes:
        for i in n.inputs:
            clients.setdefault(i, []).append(n)
    is_output = set(outputs)
    group_of, groups = {}, {}

    def joins(node, client):
        root = group_of.get(client)
        return root is not None and client.outputs[0].broadcastable == node.outputs[0].broadcastable \
            and node.outputs[0].name is None and len(groups[root]) < MAX_GROUP

    for node in reversed(nodes):
        if not member(node):
            continue
        out = node.outputs[0]
        users = clients.get(out, [])
        if out not in is_output and len(users) == 1 and joins(node, users[0]):
            root = group_of[users[0]]
            group_of[node] = root
            groups[root].append(node)
        elif out not in is_output and 1 < len(users) <= MAX_COPIES and _copyable(node, copyable) \
                and all(joins(node, u) for u in users):
            for root in {group_of[u] for u in users}:
                groups[root].append(node)
        else:
            group_of[node] = node
            groups[node] = [node]
    return {root: sorted(members, key=order.get) for root, members in groups.items() if len(members) > 1}


def _copyable(node, copyable):
    if copyable is not None:
        return copyable(node)
    return node.op.cheap and len(node.inputs) <= 3


def steps_and_leaves(members):
    """The ``Fused`` steps of a group and the variables it reads (its leaves)."""
    inside = {m.outputs[0]: k for k, m in enumerate(members)}
    leaves, leaf_index = [], {}
    for m in members:
        for i in m.inputs:
            if i not in inside and i not in leaf_index:
                leaf_index[i] = len(leaves)
                leaves.append(i)
    n = len(leaves)
    steps = tuple((m.op, tuple(n + inside[i] if i in inside else leaf_index[i] for i in m.inputs))
                  for m in members)
    return steps, leaves


class FusionPass:
    name = "fusion"

    def __init__(self, rewrite_pass):
        self.rewrite_pass = rewrite_pass    # builds the new graph (merging as it goes)

    def run(self, outputs, stats=None):
        groups = find_groups(outputs)
        if not groups:
            return outputs
        plans = {root: steps_and_leaves(members) for root, members in groups.items()}

        def hook(node, rewriter):
            plan = plans.get(node)
            if plan is None:
                return None
            steps, leaves = plan
            fused = Fused(len(leaves), steps)(*[rewriter.mapped(v) for v in leaves])
            if fused.type != node.outputs[0].type:
                return None
            # errors in the fused loop point at the user's line of its last op
            fused.owner.trace = node.trace
            if stats is not None:
                stats["fusion"] += 1
            return fused

        return self.rewrite_pass.run(outputs, stats, hook=hook)
