"""Compiling in a helper process, so that this process's memory stays bounded.

Numba never frees the machine code it compiles (LLVM's MCJIT keeps every
module it was given), about 1 MB per program, so a notebook or a long test run
that makes hundreds of functions would grow without end.  Loading a program
from Numba's disk cache costs a small part of that.  So once this process has
compiled ``config.compile_in_process`` programs, each further program new to
the disk cache is compiled by a helper process into the cache, and loaded from
there here.  The helper is replaced after ``HELPER_PROGRAMS`` programs, which
gives its memory back to the system.

The helper is ``python -m symgraph.compile.numba_cpu.compile_worker``; it reads requests
(pickles) on its stdin and answers on its stdout.  It compiles the very source
this process generated and wrote to the cache (the cache checks it as it does
here) for the signatures sent.  The warnings it raises about the cache come
back and are raised here.  When the helper fails for any reason (it cannot
start, it dies, Numba raises), this process compiles the program itself, where
an error gets its usual message.
"""
import atexit
import logging
import pickle
import subprocess
import sys
import threading
import warnings

from ...config import config
from numba import config as numba_config
from ..cache import CacheWarning, compiledir
from ..tiered import child_env

log = logging.getLogger("symgraph.compile")

HELPER_PROGRAMS = 64        # programs a helper compiles before it is replaced
_lock = threading.Lock()    # one request at a time over the pipe
_helper = []                # [Popen, programs compiled], once started


def wanted(compiled_here):
    """Whether a program new to the disk cache should be compiled by the helper,
    this process having compiled ``compiled_here`` programs itself."""
    limit = config.compile_in_process
    return 0 <= limit <= compiled_here


def compile_elsewhere(key, source, signature, params):
    """Have the helper compile the program ``key`` into the disk cache.  The
    number of its functions that were already there, or None when the helper
    could not do it (the caller then compiles in this process)."""

    settings = {name: getattr(config, name) for name in config.options()}
    # the folder this process writes to (its private one when the configured
    # folder is not trusted), so that the helper writes where this one reads
    settings["compiledir"] = compiledir()
    request = {"config": settings,
               "numba_cache_dir": numba_config.CACHE_DIR,
               "key": key, "source": source, "signature": signature, "params": params}
    with _lock:
        try:
            helper = _running()
            pickle.dump(request, helper.stdin)
            helper.stdin.flush()
            status, value, caught = pickle.load(helper.stdout)
        except Exception as exc:  # noqa: BLE001 - any failure: compile here instead
            log.info("the compile helper failed (%s: %s); compiling in process",
                     type(exc).__name__, exc)
            _stop()
            return None
        _helper[1] += 1
        if _helper[1] >= HELPER_PROGRAMS:
            _stop()
    for message in caught:
        warnings.warn(message, CacheWarning, stacklevel=4)
    if status != "ok":
        log.info("the compile helper could not compile %s (%s); compiling in process", key, value)
        return None
    return value


def _running():
    if _helper and _helper[0].poll() is None:
        return _helper[0]
    _stop()
    process = subprocess.Popen(
        [sys.executable, "-m", "symgraph.compile.numba_cpu.compile_worker"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env())
    _helper[:] = [process, 0]
    return process


def _stop():
    if not _helper:
        return
    process = _helper[0]
    _helper.clear()
    try:
        process.stdin.close()       # the helper ends at the end of its input
        process.wait(timeout=5)
    except Exception:  # noqa: BLE001
        process.kill()
    process.stdout.close()


atexit.register(lambda: _stop())


# ---------------------------------------------------------------- the helper

def _serve(requests, replies):

    from .. import cache, numba_cpu  # late: numba_cpu imports this module
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", CacheWarning)
            try:
                numba_config.CACHE_DIR = request["numba_cache_dir"]
                with config.change(**request["config"]):
                    module, _ = cache.load_module(request["key"], request["source"])
                    reply = ("ok", numba_cpu.compile_module(
                        module, request["signature"], request["params"]))
            except Exception as exc:  # noqa: BLE001 - reported to the parent
                reply = ("error", f"{type(exc).__name__}: {exc}")
        messages = [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]
        pickle.dump((*reply, messages), replies)
        replies.flush()


if __name__ == "__main__":
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr      # nothing printed may corrupt the replies
    _serve(requests, replies)
