"""The one late binding in symgraph: the operator-overloading knot.

Variables build graphs with ops (``x + y`` makes an Add node); ops build their
gradients with the tensor functions (``T.switch``, ``T.unbroadcast``); and the
graph's type objects make tensor variables.  Each needs the other only when it
runs, never while its module is imported, so the modules below ``symgraph.tensor``
name it through ``late(...)``: a stand-in that imports the module on first
use.  Everything else in the package imports downwards at module level.
"""
import importlib


class late:
    """``late("symgraph.tensor")``: the module, imported when first used."""

    __slots__ = ("_name", "_module")

    def __init__(self, name):
        self._name, self._module = name, None

    def __getattr__(self, attr):
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attr)

    def __repr__(self):
        return f"late({self._name!r})"


tensor = late("symgraph.tensor")
variable = late("symgraph.tensor.variable")
