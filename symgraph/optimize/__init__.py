"""Graph rewrites applied before compilation (see issue: optimize)."""


def optimize_fgraph(fgraph, optimizer="fast_run"):
    """Rewrite ``fgraph`` according to ``optimizer`` and return it (no passes yet)."""
    return fgraph
