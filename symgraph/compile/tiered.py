"""``function(..., compile='background')``: answer at once, switch to the
compiled program when it is ready.

Compiling a graph with Numba takes seconds (LLVM), and importing Numba alone
takes half a second; a notebook user waits for both before the first number.
In background mode a new function first runs through the reference backend
(compile/python.py: each op's NumPy ``perform``), which needs neither, while a
child process (``serve`` below) compiles the same
optimized graph into the disk cache.  A thread of this process waits for the
child on the other core, loads the program from the cache, and switches the
function to it between two calls.

Why a child process rather than a thread compiling here: Numba's typing and IR
building are Python code and would take the interpreter lock from the calls
being answered meanwhile; and a process exiting while LLVM runs in one of its
threads can crash at exit.  The child gets the optimized graph itself (pickled
as ``saving.py`` does), so the program it writes is byte for byte the one this
process generates, and the load here is a cache hit.

What stays the same across the switch: the results (the reference backend is
what every backend is tested against; random draws are bit-identical) and the
update semantics (updates are applied after the whole call, on either side).
A call in progress finishes on the backend it started on.  When the child
cannot compile, this process compiles in the thread; when that fails too, the
function stays on the reference backend and a warning says why.

At exit, a child still compiling is stopped, and a load in progress is waited
for.  ``f.wait()`` blocks until the switch.  The parallel variant of a
program (numba_cpu) is compiled the same way when a call first needs it.
"""
import atexit
import logging
import os
import pickle
import subprocess
import sys
import threading
import warnings
import weakref

from ..config import config
from ..graph import FunctionGraph
from .backend import backend
from .cache import compiledir
from .saving import pack, unpack

log = logging.getLogger("symgraph.compile")

_loading = threading.Lock()   # held while a program is loaded in this process
_children = set()             # child processes still compiling
_exiting = []                 # set at exit: start no more loads


class Background:
    """The compilation of one function's graph, off the caller's path."""

    def __init__(self, function, fgraph, update_pairs):
        self.error = None
        self.switched = False
        # the thread holds the function weakly: a function dropped meanwhile
        # is freed, and its program is then not loaded
        ref = weakref.ref(function)

        def load():
            if ref() is None:
                return
            compiled = _both_variants(fgraph, update_pairs)
            function = ref()
            if function is not None:
                function._use(compiled)
                self.switched = True

        def failed(exc):
            self.error = exc
            warnings.warn(f"symgraph: compiling {_label(ref())} in the background failed; it "
                          f"keeps running on the reference backend (mode='python'): "
                          f"{type(exc).__name__}: {exc}", RuntimeWarning)
        self._thread = in_background(fgraph, update_pairs, load, failed)

    def wait(self, timeout=None):
        """Whether the function runs its compiled program now (after at most ``timeout`` s)."""
        self._thread.join(timeout)
        return self.switched


def _both_variants(fgraph, update_pairs):
    """The compiled program with its parallel variant, if it has one: the
    first large call then finds it ready instead of compiling it."""
    compiled = backend("numba")(fgraph, update_pairs)
    if compiled.load_parallel is not None:
        compiled.load_parallel()
    return compiled


def compile_variant(fgraph, update_pairs, load):
    """``load()`` the parallel variant of ``fgraph``'s program once a child
    process has compiled it; the thread doing it, started now."""
    def failed(exc):
        warnings.warn(f"symgraph: compiling the parallel variant of a program failed; "
                      f"large calls keep the serial one: {type(exc).__name__}: {exc}",
                      RuntimeWarning)
    return in_background(fgraph, update_pairs, load, failed)


def in_background(fgraph, update_pairs, load, failed):
    """A thread, started now: a child process compiles ``fgraph``'s program
    (with its parallel variant) into the disk cache, then ``load()`` runs here
    (a cache hit; it compiles here when the child could not).  ``failed(exc)``
    when that raises, except while the interpreter exits."""
    def work():
        try:
            if not _compile_in_child(fgraph, update_pairs):
                log.info("the background compile helper failed; compiling in this process")
            with _loading:
                if not _exiting:
                    load()
        except Exception as exc:  # noqa: BLE001 - the caller keeps what it runs now
            if not _exiting:
                failed(exc)
    thread = threading.Thread(target=work, name="symgraph-compile", daemon=True)
    thread.start()
    return thread


def _label(function):
    return repr(function.name) if function is not None and function.name else "a function"


def _compile_in_child(fgraph, update_pairs):
    """Have a child process compile ``fgraph`` into the disk cache; whether it did."""
    settings = {name: getattr(config, name) for name in config.options()}
    # the folder this process reads (its private one when the configured one is
    # not trusted), so that the child writes where this process will look
    settings["compiledir"] = compiledir()
    request = pickle.dumps({"config": settings, "graph": pack((fgraph.inputs, fgraph.outputs)),
                            "updates": update_pairs})
    if _exiting:
        return False
    try:
        child = subprocess.Popen([sys.executable, "-c", _CHILD],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=child_env())
    except OSError as exc:
        log.info("cannot start the compile helper: %s", exc)
        return False
    _children.add(child)
    try:
        reply, _ = child.communicate(request)
    finally:
        _children.discard(child)
    try:
        status, message = pickle.loads(reply)
    except Exception:  # noqa: BLE001 - killed at exit, or died: nothing to read
        return False
    if status != "ok":
        log.info("the compile helper could not compile the program: %s", message)
    return status == "ok"


def child_env():
    """The environment of a helper process: it imports this copy of symgraph,
    wherever it lives (an editable install, a checkout on sys.path)."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [root, os.environ.get("PYTHONPATH")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}


@atexit.register
def _at_exit():
    _exiting.append(True)
    for child in list(_children):
        child.kill()
    with _loading:      # a load in progress finishes before the interpreter goes
        pass


# not ``-m symgraph.compile.tiered``: the package imports this module first
_CHILD = "from symgraph.compile.tiered import serve; serve()"


def serve():
    """The child's side: compile the graph read on stdin, answer on stdout."""
    try:
        request = pickle.load(sys.stdin.buffer)
    except EOFError:        # the parent exited before it asked
        return
    replies = sys.stdout.buffer
    sys.stdout = sys.stderr      # nothing printed may corrupt the reply
    try:
        with config.change(**request["config"]):
            inputs, outputs = unpack(*request["graph"])
            _both_variants(FunctionGraph(inputs, outputs), request["updates"])
        reply = ("ok", None)
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        reply = ("error", f"{type(exc).__name__}: {exc}")
    pickle.dump(reply, replies)
    replies.flush()

