"""Global settings: ``sg.config.floatX``, ``mode``, ``optimizer`` ...

``SYMGRAPH_FLAGS="mode=cuda,floatX=float32"`` sets them at import, like
Theano's THEANO_FLAGS.  ``with sg.config.change(optimizer='None'): ...`` sets
them for a block and restores them after it.

Each option is a data descriptor on the class, so the object behaves like an
ordinary settings object under tools that save and restore attributes
(pytest's ``monkeypatch`` reads the value and writes it back); deleting an
option resets it to its default.
"""
import contextlib
import os


def _default_compiledir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "symgraph")


def _flag(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _positive_number(value):
    value = float(value)
    if value <= 0:
        raise ValueError("must be positive")
    return value


class _Option:
    """One setting: its default, the values it may take, and how a string converts."""

    def __init__(self, default, choices=None, convert=None, doc=""):
        self.default, self.choices, self.convert, self.__doc__ = default, choices, convert, doc

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        values = obj.__dict__["_values"]
        if self.name not in values:
            values[self.name] = self.default() if callable(self.default) else self.default
        return values[self.name]

    def __set__(self, obj, value):
        if self.convert is not None:
            try:
                value = self.convert(value)
            except (TypeError, ValueError) as e:
                raise ValueError(f"config.{self.name}: {value!r} {e}") from None
        if self.choices is not None and value not in self.choices:
            raise ValueError(f"config.{self.name} must be one of {self.choices}, got {value!r}")
        obj.__dict__["_values"][self.name] = value

    def __delete__(self, obj):
        obj.__dict__["_values"].pop(self.name, None)


class Config:
    floatX = _Option("float64", ("float64", "float32"), doc="dtype of T.scalar/vector/matrix")
    # a backend, or one of Theano's mode names (compile/mode.py says what each stands for)
    mode = _Option("numba", ("numba", "python", "debug", "cuda", "FAST_RUN", "FAST_COMPILE",
                             "DebugMode", "DEBUG_MODE", "NanGuardMode"), doc="default mode")
    optimizer = _Option("fast_run", ("fast_run", "fast_compile", "None"))
    compiledir = _Option(_default_compiledir, convert=str, doc="folder of compiled programs")
    # the SymPy pass may be switched off; it is bounded in size and time anyway
    sympy_simplify = _Option(True, convert=_flag)
    # compiled-code errors re-run the reference backend to name the failing node
    exception_verbosity = _Option("low", ("low", "high"))
    # the disk cache of compiled programs is trimmed (least recently used first) past this size
    cache_max_mb = _Option(1024.0, convert=_positive_number)
    # Numba never frees machine code: programs past this many are compiled by a
    # helper process and loaded from the disk cache (compile_worker.py); -1: never
    compile_in_process = _Option(8, convert=int)

    def __init__(self):
        object.__setattr__(self, "_values", {})

    @classmethod
    def options(cls):
        return [k for k, v in vars(cls).items() if isinstance(v, _Option)]

    def __setattr__(self, key, value):
        if key not in self.options():
            raise AttributeError(f"symgraph.config has no option {key!r}")
        object.__setattr__(self, key, value)

    def __getattr__(self, key):   # only reached for names that are not options
        raise AttributeError(f"symgraph.config has no option {key!r}")

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in self.options()) + ")"

    @contextlib.contextmanager
    def change(self, **values):
        """``with config.change(optimizer='None'): ...`` sets options for a block."""
        saved = dict(self._values)
        try:
            for key, value in values.items():
                setattr(self, key, value)
            yield self
        finally:
            self._values.clear()
            self._values.update(saved)

    def load_flags(self, flags):
        for item in filter(None, (part.strip() for part in flags.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"SYMGRAPH_FLAGS entry {item!r} is not of the form key=value")
            setattr(self, key.strip(), value.strip())


config = Config()
config.load_flags(os.environ.get("SYMGRAPH_FLAGS", ""))
