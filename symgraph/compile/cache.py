"""The disk cache of compiled programs.

A program's key is a content hash of its generated source (which spells out
every op, field, edge, dtype, broadcast flag and inlined constant), the input
types, and the version of this backend.  The source is written once to
``<compiledir>/sg_<key>.py`` and imported; its function is ``njit(cache=True)``,
so Numba keeps the machine code next to it (``__pycache__``, or under
NUMBA_CACHE_DIR) and a second process loads it instead of compiling.
``python -m symgraph cache clear`` empties the folder.
"""
import hashlib
import importlib.util
import os
import shutil
import sys
import tempfile
import threading

from ..config import config

# the modules whose code ends up in generated programs: editing them invalidates the cache
_BACKEND_FILES = ("codegen.py", "chunks.py", "lowering.py", "lower_indexing.py", "lower_map.py",
                  "inplace.py", "runtime.py")
_PREFIX = "sg_"
_lock = threading.Lock()
_modules = {}        # key -> imported module (this process)
_version = None

# what happened to programs in this process: compiled by Numba, loaded from the
# disk cache, or reused from memory (tests and benchmarks read these)
stats = {"compiled": 0, "loaded": 0, "reused": 0}


def backend_version():
    global _version
    if _version is None:
        import numba
        import numpy
        h = hashlib.sha256()
        h.update(f"{sys.version}|{numba.__version__}|{numpy.__version__}".encode())
        here = os.path.dirname(os.path.abspath(__file__))
        for name in _BACKEND_FILES:
            with open(os.path.join(here, name), "rb") as f:
                h.update(f.read())
        _version = h.hexdigest()
    return _version


def program_key(source, input_types, constants=()):
    """``constants``: (dtype, ndim, writeable) of the constant arrays passed as arguments."""
    h = hashlib.sha256(backend_version().encode())
    h.update(source.encode())
    h.update(repr([(t.dtype, t.broadcastable) for t in input_types]).encode())
    h.update(repr(list(constants)).encode())
    return h.hexdigest()[:32]


def compiledir():
    """The folder for generated programs (created on demand)."""
    path = os.path.abspath(os.path.expanduser(config.compiledir))
    try:
        os.makedirs(path, exist_ok=True)
        if os.access(path, os.W_OK):
            return path
    except OSError:
        pass
    # an unwritable compiledir must not break compilation
    user = os.getuid() if hasattr(os, "getuid") else 0
    fallback = os.path.join(tempfile.gettempdir(), f"symgraph-{user}")
    os.makedirs(fallback, exist_ok=True)
    return fallback


def load_module(key, source):
    """The imported module of a program, writing its source file if needed.
    Returns (module, path)."""
    with _lock:
        folder = compiledir()
        path = os.path.join(folder, f"{_PREFIX}{key}.py")
        cached = _modules.get(key)
        if cached is not None and cached.__file__ == path and os.path.exists(path):
            return cached, path
        if not os.path.exists(path):
            # write-then-rename: another process may be importing the same file
            fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            os.replace(tmp, path)
        name = f"symgraph_programs.{_PREFIX}{key}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[name] = module
        _modules[key] = module
        return module, path


def clear(folder=None):
    """Delete every cached program in ``folder`` (default: config.compiledir),
    with Numba's files for them.  Returns the number of files removed."""
    folder = os.path.abspath(os.path.expanduser(folder or config.compiledir))
    removed = 0
    if not os.path.isdir(folder):
        return 0
    for entry in os.listdir(folder):
        path = os.path.join(folder, entry)
        if entry.startswith(_PREFIX) or entry.endswith(".tmp"):
            os.remove(path)
            removed += 1
        elif entry == "__pycache__":
            for name in os.listdir(path):
                if name.startswith(_PREFIX):
                    os.remove(os.path.join(path, name))
                    removed += 1
            if not os.listdir(path):
                shutil.rmtree(path, ignore_errors=True)
    # Numba keeps the machine code under NUMBA_CACHE_DIR when that is set
    numba_dir = os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir and os.path.isdir(numba_dir):
        for root, _, files in os.walk(numba_dir):
            for name in files:
                if name.startswith(_PREFIX) and name.endswith((".nbi", ".nbc")):
                    os.remove(os.path.join(root, name))
                    removed += 1
    with _lock:
        _modules.clear()
    return removed
