"""Global settings: ``sg.config.floatX``, ``mode``, ``optimizer`` ...

``SYMGRAPH_FLAGS="mode=cuda,floatX=float32"`` sets them at import, like
Theano's THEANO_FLAGS.
"""
import os

_CHOICES = {
    "floatX": ("float64", "float32"),
    "mode": ("numba", "python", "debug", "cuda"),
    "optimizer": ("fast_run", "fast_compile", "None"),
}


def _default_compiledir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "symgraph")


class Config:
    def __init__(self):
        object.__setattr__(self, "_values", {
            "floatX": "float64",
            "mode": "numba",
            "optimizer": "fast_run",
            "compiledir": _default_compiledir(),
            # the SymPy pass may be switched off; it is bounded in size and time anyway
            "sympy_simplify": True,
            # compiled-code errors re-run the reference backend to name the failing node
            "exception_verbosity": "low",
        })

    def __getattr__(self, key):
        try:
            return self._values[key]
        except KeyError:
            raise AttributeError(f"symgraph.config has no option {key!r}") from None

    def __setattr__(self, key, value):
        if key not in self._values:
            raise AttributeError(f"symgraph.config has no option {key!r}")
        if key in _CHOICES and value not in _CHOICES[key]:
            raise ValueError(f"config.{key} must be one of {_CHOICES[key]}, got {value!r}")
        if key == "sympy_simplify" and isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        self._values[key] = value

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in self._values.items()) + ")"

    def load_flags(self, flags):
        for item in filter(None, (part.strip() for part in flags.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"SYMGRAPH_FLAGS entry {item!r} is not of the form key=value")
            setattr(self, key.strip(), value.strip())


config = Config()
config.load_flags(os.environ.get("SYMGRAPH_FLAGS", ""))
