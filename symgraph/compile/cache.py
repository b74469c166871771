"""The disk cache of compiled programs, which runs only what symgraph wrote.

A program's key is a content hash of its generated source (which spells out
every op, field, edge, dtype, broadcast flag and inlined constant), the input
types, and the version of this backend.  The source is written once to
``<compiledir>/sg_<key>.py``; its functions are ``njit(cache=True)``, so Numba
keeps the machine code next to it (``__pycache__``, or under NUMBA_CACHE_DIR)
and a second process loads it instead of compiling.

What protects it (the threat: someone else writes into the folders, or a file
is truncated or swapped):

- The folder is used only when it belongs to this user and nobody else may
  write to it (as ssh treats its files).  Otherwise a warning says why and
  this process works in a private temporary folder (``mkdtemp``, 0700).  A
  folder this user may not write to is still read.
- The generated source is never imported from disk: the program runs from the
  source symgraph just generated, and a file whose bytes differ from it (the
  key names the content) is reported, deleted and written again.
- Numba's ``.nbi``/``.nbc`` files are pickles.  Each starts with an HMAC of its
  name and content under a key that lives in the folder (``cache.key``,
  created 0600); a file whose HMAC does not check (tampered, truncated,
  written by another tool) is reported, deleted and rebuilt before anything in
  it is unpickled.  The bytes checked are the bytes unpickled.
- Other data kept here (the SymPy verdicts) is plain JSON, signed the same way
  (``load_signed``/``store_signed``) and never evaluated.

The disk cache is trimmed past ``config.cache_max_mb``, least recently used
first.  In memory, a program stays while a function uses it, plus the last
few loaded; Numba's own machine code is never freed (LLVM's MCJIT keeps it),
which is why programs past the first few are compiled in a helper process
(compile_worker.py).
``python -m symgraph cache`` reports the folder; ``... cache clear`` empties it.
"""
import atexit
import collections
import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import shutil
import stat
import sys
import tempfile
import threading
import time
import types
import warnings
import weakref

from ..config import config

log = logging.getLogger("symgraph.compile")

_PREFIX = "sg_"
_KEY_FILE = "cache.key"
RECENT = 16          # programs kept in memory after their last function is gone
_lock = threading.RLock()
_live = weakref.WeakValueDictionary()     # key -> program callable some function still holds
_recent = collections.deque(maxlen=RECENT)
_folders = {}        # configured path -> _Folder, or None when it cannot be trusted
_private = []        # this process's temporary folder, once made
_version = None

# what happened to programs in this process: compiled by Numba here, compiled by
# the helper process (compile_worker.py) and loaded, loaded from the disk cache,
# or reused from memory (tests and benchmarks read these)
stats = {"compiled": 0, "compiled_elsewhere": 0, "loaded": 0, "reused": 0}


class CacheWarning(UserWarning):
    """A cache folder or entry was not trusted: it was not used, and was rebuilt."""


def _warn(message):
    warnings.warn(message, CacheWarning, stacklevel=3)


# modules of symgraph outside compile/ whose functions are compiled into programs:
# numba_cpu/runtime_random.py compiles the Philox rounds of ops/random.py, which
# the reference uses too
COMPILED_ELSEWHERE = ("ops/random.py",)


def backend_version():
    global _version
    if _version is None:
        import numba  # late: the SymPy pass uses this module without Numba
        import numpy  # late: as above
        h = hashlib.sha256()
        h.update(f"{sys.version}|{numba.__version__}|{numpy.__version__}".encode())
        # every module of this package (the backends' subpackages included) may
        # shape a generated program: editing any of them invalidates the cache
        # (found from the folders, not a list to keep)
        here = os.path.dirname(os.path.abspath(__file__))
        for folder, subfolders, names in sorted(os.walk(here)):
            subfolders.sort()
            for name in sorted(n for n in names if n.endswith(".py")):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    h.update(os.path.relpath(path, here).encode() + b"\0" + f.read())
        # and the modules outside it whose functions a program's runtime compiles
        for name in COMPILED_ELSEWHERE:
            with open(os.path.join(os.path.dirname(here), name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
        _version = h.hexdigest()
    return _version


def program_key(source, input_types, constants=()):
    """``constants``: (dtype, ndim, writeable) of the constant arrays passed as arguments."""
    h = hashlib.sha256(backend_version().encode())
    h.update(source.encode())
    h.update(repr([(t.dtype, t.broadcastable) for t in input_types]).encode())
    h.update(repr(list(constants)).encode())
    return h.hexdigest()[:32]


# ---------------------------------------------------------------- folders

class _Folder:
    def __init__(self, path, secret, writable):
        self.path, self.secret, self.writable = path, secret, writable

    def mac(self, kind, name, payload):
        return hmac.new(self.secret, b"\0".join([kind.encode(), name.encode(), payload]),
                        hashlib.sha256).digest()


def _owner_problem(st, what):
    """Why a file or folder of this user's cache cannot be trusted, or None."""
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        return f"{what} belongs to uid {st.st_uid}, not to this user (uid {os.getuid()})"
    if st.st_mode & 0o022:
        return f"{what} may be written by others (mode {stat.S_IMODE(st.st_mode):03o})"
    return None


def _secret(path, writable):
    """The folder's HMAC key (made on first use), or (None, why not)."""
    key_path = os.path.join(path, _KEY_FILE)
    if writable and not os.path.lexists(key_path):
        # written whole, then linked in: a concurrent process reads either no key or all of it
        fd, tmp = tempfile.mkstemp(dir=path, prefix=".key.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):
                os.link(tmp, key_path)
        finally:
            os.unlink(tmp)
    try:
        st = os.lstat(key_path)
    except OSError:
        return None, f"it has no {_KEY_FILE} and may not be written"
    if not stat.S_ISREG(st.st_mode):
        return None, f"its {_KEY_FILE} is not a regular file"
    problem = _owner_problem(st, f"its {_KEY_FILE}")
    if problem is None and st.st_mode & 0o077:
        problem = f"its {_KEY_FILE} may be read by others (mode {stat.S_IMODE(st.st_mode):03o})"
    if problem:
        return None, problem
    with open(key_path, "rb") as f:
        secret = f.read()
    if len(secret) != 32:
        return None, f"its {_KEY_FILE} is damaged"
    return secret, None


def _open_folder(path):
    """The folder at ``path`` if it can be trusted, or (None, why not)."""
    if os.path.lexists(path) and not os.path.isdir(path):
        return None, "it is not a folder"
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as e:
        if not os.path.isdir(path):
            return None, f"it cannot be made ({e.strerror})"
    st = os.stat(path)
    if not stat.S_ISDIR(st.st_mode):
        return None, "it is not a folder"
    problem = _owner_problem(st, "it")
    if problem:
        return None, problem
    writable = os.access(path, os.W_OK)
    try:
        secret, problem = _secret(path, writable)
    except OSError as e:
        secret, problem = None, f"its {_KEY_FILE} cannot be made ({e.strerror})"
    if secret is None:
        return None, problem
    if not writable:
        log.info("symgraph cache %s is read-only: it is read, new programs go to a "
                 "temporary folder", path)
    return _Folder(path, secret, writable), None


def _private_folder():
    if not _private:
        path = tempfile.mkdtemp(prefix="symgraph-")          # 0700, this process only
        secret, _ = _secret(path, True)
        _private.append(_Folder(path, secret, True))
        atexit.register(_remove_private, path)
    return _private[0]


def _remove_private(path):
    for folder in {path, _numba_dir(path)}:
        shutil.rmtree(folder, ignore_errors=True)


def _configured():
    path = os.path.abspath(os.path.expanduser(config.compiledir))
    if path not in _folders:
        folder, problem = _open_folder(path)
        if folder is None:
            _warn(f"symgraph cache folder {path} is not used: {problem}. This process "
                  f"compiles into a private temporary folder; fix the folder (or set "
                  f"SYMGRAPH_FLAGS=compiledir=...) to keep compiled programs.")
        _folders[path] = folder
    return _folders[path]


def folders():
    """(folders read, in order; the folder new entries are written to)."""
    with _lock:
        configured = _configured()
        write = configured if configured is not None and configured.writable else _private_folder()
        read = [f for f in (configured, write) if f is not None]
        return (read if read[0] is not read[-1] else read[:1]), write


def compiledir():
    """The folder new programs are written to."""
    return folders()[1].path


def _numba_dir(path):
    """Where Numba keeps the machine code of the programs in ``path``."""
    from numba import config as numba_config  # late: the SymPy pass uses this module without Numba
    from numba.core.caching import _CacheLocator  # late: as above
    if numba_config.CACHE_DIR:
        return os.path.join(numba_config.CACHE_DIR,
                            _CacheLocator.get_suitable_cache_subpath(os.path.join(path, "x.py")))
    return os.path.join(path, "__pycache__")


# ---------------------------------------------------------------- programs

def load_module(key, source):
    """(program, path) for ``key``: the program is an object with ``program``
    (the callable) and ``CHUNKS``.  It lives while a function holds its
    ``program`` (and a little longer: the last RECENT loaded stay)."""
    with _lock:
        read, write = folders()
        live = _live.get(key)
        if live is not None:
            _keep(live)
            path = live._sg_program.__file__
            if os.path.dirname(path) in {folder.path for folder in read}:
                _touch(path)
                return live._sg_program, path
            # compiledir changed since it was loaded: run it from memory, and let
            # the folder now configured hold its source like every program used
        wanted = source.encode()
        home = None
        for folder in read:
            path = os.path.join(folder.path, f"{_PREFIX}{key}.py")
            try:
                with open(path, "rb") as f:
                    found = f.read()
            except OSError:
                continue
            if found == wanted:
                home = folder
                _touch(path)
                break
            _reject(folder, path, "its source is not the program its name is the hash of")
        if home is None:
            home = write
            path = os.path.join(home.path, f"{_PREFIX}{key}.py")
            _write(path, wanted)
            trim(home)
        if live is not None:
            return live._sg_program, path
        return _execute(key, source, path, home), path


def _execute(key, source, path, home):
    """Run ``source`` (never the file's bytes) as the module of ``path``."""
    from numba.core.dispatcher import Dispatcher  # late: the SymPy pass uses this module without Numba
    name = f"symgraph_programs.{_PREFIX}{key}"
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module      # Numba looks the module up by name while compiling
    namespace = module.__dict__
    exec(compile(source, path, "exec"), namespace)
    program, chunks = namespace.pop("program"), namespace.pop("CHUNKS")
    # Numba's compiled code refers to the module's globals, and its registries
    # are never emptied: a dispatcher named in them would live forever
    own = {n: v for n, v in namespace.items()
           if isinstance(v, Dispatcher) and v.py_func.__globals__ is namespace}
    for n in own:
        del namespace[n]
    for fn in list(own.values()) + ([program] if isinstance(program, Dispatcher) else []):
        _sign_numba_files(fn, home, key)
    if chunks:
        # the Python driver calls its chunks by name, from globals of its own
        program = types.FunctionType(program.__code__, {**namespace, **own}, program.__name__)
    entry = types.SimpleNamespace(program=program, CHUNKS=chunks, __file__=path, key=key)
    program._sg_program = entry     # a cycle the garbage collector frees once no function holds it
    _live[key] = program
    _keep(program)
    weakref.finalize(program, _forget, name, module)
    return entry


def _keep(program):
    with contextlib.suppress(ValueError):
        _recent.remove(program)
    _recent.append(program)


def _forget(name, module):
    if sys.modules.get(name) is module:
        del sys.modules[name]


def _write(path, data):
    # write-then-rename: another process may be reading the same file
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _touch(path):
    """Mark an entry used (its access time; the modification time stays)."""
    with contextlib.suppress(OSError):
        st = os.stat(path)
        os.utime(path, ns=(time.time_ns(), st.st_mtime_ns))


def _reject(folder, path, why):
    _warn(f"symgraph cache entry {path} was not used: {why} (tampered or damaged). "
          f"It is rebuilt.")
    if folder.writable:
        with contextlib.suppress(OSError):
            os.remove(path)


# ---------------------------------------------------------------- Numba's files

def _sign_numba_files(dispatcher, home, key):
    # late: numba_files imports Numba, which costs ~0.3 s and only compiling needs
    from .numba_cpu import numba_files
    if not numba_files.sign(dispatcher, home, f"{_PREFIX}{key}", _warn, lambda: trim(home)):
        log.info("Numba's cache layout is unknown: %s is compiled without it", key)


# ---------------------------------------------------------------- signed data

def load_signed(filename):
    """{name: value} of the entries of the JSON file ``filename`` (in the cache
    folders) whose HMAC checks; an entry that does not is reported and left out."""
    values = {}
    for folder in reversed(folders()[0]):
        path = os.path.join(folder.path, filename)
        try:
            with open(path, "rb") as f:
                entries = json.load(f)
        except FileNotFoundError:
            continue
        except (OSError, ValueError):
            _reject(folder, path, "it is not valid JSON")
            continue
        if not isinstance(entries, dict):
            _reject(folder, path, "it is not a table of signed entries")
            continue
        for name, entry in entries.items():
            mac = entry.get("mac") if isinstance(entry, dict) else None
            value = entry.get("value") if isinstance(entry, dict) else None
            expected = folder.mac(filename, name, _canonical(value)).hex()
            if isinstance(mac, str) and hmac.compare_digest(mac, expected):
                values[name] = value
            else:
                _warn(f"symgraph cache entry {name!r} of {path} was not used: its signature "
                      f"does not check (tampered or damaged). It is rebuilt.")
    return values


def store_signed(filename, name, value):
    """Add ``name: value`` (JSON data) to ``filename`` in the folder written to."""
    folder = folders()[1]
    path = os.path.join(folder.path, filename)
    with _lock:
        try:
            with open(path, "rb") as f:
                entries = json.load(f)
            if not isinstance(entries, dict):
                entries = {}
        except (OSError, ValueError):
            entries = {}
        entries[name] = {"value": value,
                         "mac": folder.mac(filename, name, _canonical(value)).hex()}
        with contextlib.suppress(OSError):   # a cache that cannot be written only costs time
            _write(path, json.dumps(entries).encode())


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


# ---------------------------------------------------------------- size, info, clear

def entries(path):
    """{key: (bytes, last used)} of the programs in the folder ``path``, with Numba's files."""
    found = {}
    with contextlib.suppress(OSError):
        for name in os.listdir(path):
            if name.startswith(_PREFIX) and name.endswith(".py"):
                with contextlib.suppress(OSError):
                    st = os.stat(os.path.join(path, name))
                    found[name[len(_PREFIX):-3]] = [st.st_size, max(st.st_atime, st.st_mtime)]
    for key, name, size in _numba_files(path):
        if key in found:
            found[key][0] += size
    return {k: tuple(v) for k, v in found.items()}


def _numba_files(path):
    """(key, file name, bytes) of Numba's files for the programs of ``path``."""
    numba_dir = _numba_dir(path)
    with contextlib.suppress(OSError):
        for name in os.listdir(numba_dir):
            key = name[len(_PREFIX):].split(".", 1)[0]
            if name.startswith(_PREFIX) and name.endswith((".nbi", ".nbc")):
                with contextlib.suppress(OSError):
                    yield key, name, os.stat(os.path.join(numba_dir, name)).st_size


def trim(folder):
    """Delete the least recently used programs of ``folder`` past config.cache_max_mb."""
    if not folder.writable:
        return
    limit = config.cache_max_mb * 1e6
    with _lock:
        found = entries(folder.path)
        total = sum(size for size, _ in found.values())
        if total <= limit:
            return
        numba = collections.defaultdict(list)
        for key, name, _ in _numba_files(folder.path):
            numba[key].append(os.path.join(_numba_dir(folder.path), name))
        for key, (size, _) in sorted(found.items(), key=lambda item: item[1][1]):
            if total <= limit:
                break
            for path in [os.path.join(folder.path, f"{_PREFIX}{key}.py")] + numba[key]:
                with contextlib.suppress(OSError):
                    os.remove(path)
            total -= size
            log.info("symgraph cache: removed %s (least recently used) to stay under %g MB",
                     key, config.cache_max_mb)


def info(path=None):
    """What ``symgraph cache`` prints: folder, whether it is used, entries, size, limit."""
    path = os.path.abspath(os.path.expanduser(path or config.compiledir))
    folder, problem = _open_folder(path) if os.path.isdir(path) else (None, "it does not exist")
    found = entries(path) if os.path.isdir(path) else {}
    return {"folder": path, "numba_folder": _numba_dir(path), "trusted": folder is not None,
            "problem": problem, "writable": bool(folder and folder.writable),
            "entries": len(found), "bytes": sum(size for size, _ in found.values()),
            "limit_mb": config.cache_max_mb}


def clear(folder=None):
    """Delete every cached program in ``folder`` (default: config.compiledir),
    with Numba's files for them and the SymPy verdicts.  Returns the number of
    files removed."""
    folder = os.path.abspath(os.path.expanduser(folder or config.compiledir))
    removed = 0
    if not os.path.isdir(folder):
        return 0
    numba_dir = _numba_dir(folder)
    doomed = [os.path.join(numba_dir, name) for _, name, _ in _numba_files(folder)]
    for entry in os.listdir(folder):
        if entry.startswith(_PREFIX) or entry.endswith(".tmp") or entry == "sympy_clusters.json":
            doomed.append(os.path.join(folder, entry))
    for path in doomed:
        with contextlib.suppress(OSError):
            os.remove(path)
            removed += 1
    for empty in (numba_dir,):
        with contextlib.suppress(OSError):
            os.rmdir(empty)
    with _lock:
        _recent.clear()
    return removed
