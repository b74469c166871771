"""Numba's cache files for symgraph's programs, signed.

Numba keeps a program's machine code in an index (``.nbi``) and data files
(``.nbc``), both pickles: loading a planted one runs its code.  Here each file
starts with an HMAC of its name and content under the cache folder's key
(cache.py), written when Numba writes the file and checked before anything in
it is unpickled; the bytes checked are the bytes unpickled.  A file that does
not check (tampered, truncated, written by another tool) is reported, deleted,
and Numba compiles again.
"""
import contextlib
import hmac
import io
import os
import pickle
import uuid

from numba.core.caching import IndexDataCacheFile, NullCache

MAGIC = b"symgraph-hmac-1\n"
# the state of Numba's file object that the signed one relies on
_NUMBA_FIELDS = ("_cache_path", "_index_name", "_index_path", "_data_name_pattern",
                 "_source_stamp", "_version")


def sign(dispatcher, home, label, warn, after_write):
    """Make ``dispatcher`` write its cache files signed with ``home``'s key and
    check them before unpickling.  False when this Numba's cache layout is not
    the one known here: the dispatcher then compiles without a disk cache."""
    cache = getattr(dispatcher, "_cache", None)
    if isinstance(cache, NullCache):
        return True
    current = getattr(cache, "_cache_file", None)
    if type(current) is IndexDataCacheFile and set(_NUMBA_FIELDS) <= set(vars(current)):
        cache._cache_file = SignedCacheFile(current, home, label, warn, after_write)
        return True
    dispatcher._cache = NullCache()     # compile in memory rather than trust an unknown layout
    return False


class SignedCacheFile(IndexDataCacheFile):
    """Numba's index and data files, each prefixed with an HMAC of its name
    and content; only bytes that check are unpickled."""

    def __init__(self, original, home, label, warn, after_write):  # noqa: D107
        # no super().__init__: it would recompute what Numba's own file object holds
        self.__dict__.update(vars(original))
        self._home, self._label, self._warn, self._after_write = home, label, warn, after_write

    def _verified(self, path):
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        head, size = len(MAGIC), len(MAGIC) + 32
        payload = data[size:]
        if data[:head] == MAGIC and hmac.compare_digest(
                data[head:size], self._home.mac("numba", os.path.basename(path), payload)):
            return payload
        self._reject(path, "it is not signed by this cache")
        return None

    def _reject(self, path, why):
        self._warn(f"symgraph cache entry {path} (Numba's code for program {self._label}) "
                   f"was not used: {why} (tampered, damaged or foreign). It is rebuilt.")
        with contextlib.suppress(OSError):
            os.remove(path)

    def _load_index(self):
        payload = self._verified(self._index_path)
        if payload is None:
            return {}
        try:
            stream = io.BytesIO(payload)
            if pickle.load(stream) != self._version:
                return {}
            stamp, overloads = pickle.loads(stream.read())
        except Exception:  # noqa: BLE001 - signed but unreadable: rebuild it
            self._reject(self._index_path, "it cannot be read")
            return {}
        return overloads if stamp == self._source_stamp else {}

    def _load_data(self, name):
        path = self._data_path(name)
        payload = self._verified(path)
        if payload is None:
            raise OSError(f"{path} is not usable")     # Numba compiles instead
        try:
            return pickle.loads(payload)
        except Exception:  # noqa: BLE001
            self._reject(path, "it cannot be read")
            raise OSError(f"{path} is not usable") from None

    @contextlib.contextmanager
    def _open_for_write(self, filepath):
        stream = io.BytesIO()
        yield stream
        payload = stream.getvalue()
        mac = self._home.mac("numba", os.path.basename(filepath), payload)
        tmp = f"{filepath}.tmp.{uuid.uuid4().hex[:16]}"
        try:
            with open(tmp, "wb") as f:
                f.write(MAGIC + mac + payload)
            os.replace(tmp, filepath)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        if filepath.endswith(".nbc"):
            self._after_write()
