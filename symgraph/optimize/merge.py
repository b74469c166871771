"""Hash-consing: one node per (op, inputs) and one constant per value.

Ops are frozen dataclasses, so equal parameters hash equal; inputs are
compared by identity, which is exact once the inputs themselves were merged.
Building every node of a sweep through this table makes identical subgraphs
one node, so the merge pass costs one dictionary lookup per node.
"""


class HashCons:
    def __init__(self):
        self.nodes = {}        # (op, inputs) -> output variables
        self._constants = {}   # signature -> constants with that signature

    def lookup(self, op, inputs):
        return self.nodes.get((op, tuple(inputs)))

    def store(self, op, inputs, outputs):
        self.nodes[(op, tuple(inputs))] = outputs

    def constant(self, const):
        """The first stored constant equal to ``const`` (same type and value)."""
        bucket = self._constants.setdefault(const.signature(), [])
        for other in bucket:
            if other is const or other.equals(const):
                return other
        bucket.append(const)
        return const
