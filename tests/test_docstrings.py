"""Every public callable of T and T.nnet says what it does: ``help(T.dot)`` and
the generated API reference are never empty."""
import inspect
import re

import pytest

import symgraph.tensor as T


def public_callables(module):
    return {name: getattr(module, name) for name in dir(module)
            if not name.startswith("_") and callable(getattr(module, name))}


def own_docstring(obj):
    """The docstring, or None where there is none or only the one ``dataclass``
    writes for a class without one (its constructor signature: 'Sigmoid()')."""
    doc = inspect.getdoc(obj)
    cls = obj if isinstance(obj, type) else type(obj)
    if not doc or re.fullmatch(rf"{re.escape(cls.__name__)}\(.*\)", doc):
        return None
    return doc


@pytest.mark.parametrize("module", [T, T.nnet], ids=["T", "T.nnet"])
def test_every_public_callable_has_a_docstring(module):
    undocumented = sorted(name for name, obj in public_callables(module).items()
                          if own_docstring(obj) is None)
    assert not undocumented, f"{module.__name__}: no docstring for {undocumented}"


def test_generated_functions_describe_themselves():
    # the elementwise functions and type constructors are made in loops: each one's
    # docstring must be its own, not a neighbour's
    assert T.exp.__doc__.startswith("exp(x)") and "``exp``" in T.exp.__doc__
    assert T.where is T.switch and T.switch.__doc__.startswith("switch(cond, a, b)")
    assert "int32 matrix" in T.imatrix.__doc__ and T.imatrix.__name__ == "imatrix"
    assert "float64 vectors" in T.dvectors.__doc__ and T.dvectors.__name__ == "dvectors"
    assert "floatX" in T.matrix.__doc__
    assert T.nnet.sigmoid.__doc__.startswith("The logistic function")
