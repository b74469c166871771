"""Global settings: ``sg.config.floatX``, ``mode``, ``optimizer`` ...

``SYMGRAPH_FLAGS="mode=cuda,floatX=float32"`` sets them at import.  Theano's
``THEANO_FLAGS`` is read first (``SYMGRAPH_FLAGS`` wins per key): its ``device``
picks the mode, ``base_compiledir`` is ``compiledir``, and the Theano flags and
flag sections symgraph has no use for (``openmp``, ``config.warn.*``,
``config.gcc.cxxflags`` ...) are accepted and ignored (theano_flags.py).
``with sg.config.change(optimizer='None'): ...`` sets them for a block and
restores them after it.

Each option is a data descriptor on the class, so the object behaves like an
ordinary settings object under tools that save and restore attributes
(pytest's ``monkeypatch`` reads the value and writes it back); deleting an
option resets it to its default.
"""
import contextlib
import logging
import os
import warnings

from . import theano_flags


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


class _TheanoFlag(_Option):
    """A Theano flag that symgraph accepts and ignores (theano_flags.TOP)."""

    def __init__(self, default, why):
        super().__init__(default, convert=lambda v: theano_flags.convert(default, v))
        self.why = why

    def __set__(self, obj, value):
        super().__set__(obj, value)
        theano_flags.note(self.name, self.default, obj.__dict__["_values"][self.name], self.why)


class _Device(_Option):
    """Theano's ``device``, read from and written to the mode: cpu is the CPU
    modes (setting it leaves a CPU mode as it is), cuda (cuda0, gpu ...) is mode='cuda'."""

    def __get__(self, obj, owner=None):
        return self if obj is None else ("cuda" if obj.mode == "cuda" else "cpu")

    def __set__(self, obj, value):
        try:
            mode = theano_flags.device_mode(value)
        except ValueError as e:
            raise ValueError(f"config.device: {value!r} {e}") from None
        if mode == "cuda" or obj.mode == "cuda":
            obj.mode = mode

    def __delete__(self, obj):
        if obj.mode == "cuda":
            del obj.mode


class _Section:
    """A Theano flag section (``config.warn``): an object taking any attribute."""

    def __init__(self, known):
        self.known = known

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        sections = obj.__dict__.setdefault("_sections", {})
        if self.name not in sections:
            sections[self.name] = theano_flags.Section(obj._values, self.name, self.known)
        return sections[self.name]


class Config:
    floatX = _Option("float64", ("float64", "float32"), doc="dtype of T.scalar/vector/matrix")
    # a backend, or one of Theano's mode names (compile/mode.py says what each stands for)
    mode = _Option("numba", ("numba", "python", "debug", "cuda", "FAST_RUN", "FAST_COMPILE",
                             "DebugMode", "DEBUG_MODE", "NanGuardMode"), doc="default mode")
    optimizer = _Option("fast_run", ("fast_run", "fast_compile", "None"))
    # the compiled backend that mode='debug' checks node by node against the reference
    debug_target = _Option("numba", ("numba", "cuda"))
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
    # freed memory glibc keeps for the next call instead of handing it back to
    # the system (numba_cpu/memory.py); 0: leave the C allocator as it is
    malloc_keep_mb = _Option(64.0, convert=float)
    # function(..., compile='background') for every function made without a
    # compile= argument: the first calls run on the reference backend while
    # Numba compiles in a helper process (tiered.py)
    background_compile = _Option(False, convert=_flag)
    # function(..., profile=True) for every function; summaries printed at exit (profile.py)
    profile = _Option(False, convert=_flag)
    # compute each new node's value on its inputs' test values (x.tag.test_value) when built
    compute_test_value = _Option("off", ("off", "ignore", "warn", "raise"))
    # Theano's device: the mode (cpu: the CPU modes, cuda: mode='cuda')
    device = _Device("cpu")

    def __init__(self):
        object.__setattr__(self, "_values", {})

    @classmethod
    def options(cls):
        """symgraph's options (Theano's ignored flags and ``device`` left out)."""
        return [k for k, v in vars(cls).items()
                if isinstance(v, _Option) and not isinstance(v, (_TheanoFlag, _Device))]

    def __setattr__(self, key, value):
        if not isinstance(vars(type(self)).get(key), _Option):
            if isinstance(vars(type(self)).get(key), _Section):
                raise AttributeError(f"symgraph.config.{key} is a section of Theano flags; "
                                     f"set its flags (config.{key}.<flag> = ...)")
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

    def load_flags(self, flags, source="SYMGRAPH_FLAGS"):
        """Set the options of ``flags`` (``key=value,...``; ``section.key=value`` for
        a Theano section).  From ``THEANO_FLAGS``, Theano's names are translated
        and a flag symgraph does not know is reported in one line, not an error."""
        unknown = []
        with warnings.catch_warnings(record=True) as notes:
            warnings.simplefilter("always")
            try:
                self._load(flags, source, unknown)
            except ValueError as e:   # say where the value came from
                raise ValueError(f"{source}: {e}") from None
        for note in notes:   # symgraph's own notes on Theano flags, and any other warning
            if source != "THEANO_FLAGS" or not str(note.message).startswith("symgraph ignores"):
                warnings.warn_explicit(note.message, note.category, note.filename, note.lineno)
        notes = [str(n.message)[len("symgraph ignores "):] for n in notes
                 if str(n.message).startswith("symgraph ignores")]
        if unknown:
            notes.append(f"{', '.join(unknown)}: not a flag symgraph knows")
        if notes and source == "THEANO_FLAGS":
            # one line at import, not a warning pointing into symgraph
            logging.getLogger("symgraph.config").warning("THEANO_FLAGS: symgraph ignores %s",
                                                         "; ".join(notes))

    def _load(self, flags, source, unknown):
        for item in filter(None, (part.strip() for part in flags.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"{source} entry {item!r} is not of the form key=value")
            key, value = key.strip(), value.strip()
            if source == "THEANO_FLAGS":
                key, value = theano_flags.translate(key, value, type(self).mode.choices)
            section, dot, rest = key.partition(".")
            target = vars(type(self)).get(section if dot else key)
            if isinstance(target, _Section) and dot:
                setattr(getattr(self, section), rest, value)
            elif isinstance(target, _Option) and not dot:
                setattr(self, key, value)
            elif source == "THEANO_FLAGS":
                unknown.append(key)
            else:
                raise AttributeError(f"{source}: symgraph.config has no option {key!r}")


for _name, (_default, _why) in theano_flags.TOP.items():
    setattr(Config, _name, _TheanoFlag(_default, _why))
    getattr(Config, _name).__set_name__(Config, _name)
for _name, _known in theano_flags.SECTIONS.items():
    setattr(Config, _name, _Section(_known))
    getattr(Config, _name).__set_name__(Config, _name)

config = Config()
config.load_flags(os.environ.get("THEANO_FLAGS", ""), "THEANO_FLAGS")
config.load_flags(os.environ.get("SYMGRAPH_FLAGS", ""))
