"""The C allocator's thresholds, set once when the first program is loaded.

The arrays a compiled program allocates (its temporaries and results) come
from ``malloc``.  glibc serves a large block with a fresh ``mmap`` and, when
it is freed, returns it to the system (``munmap``, or trimming the top of the
heap past a threshold it adjusts as it goes).  A program called in a loop then
takes a page fault for every 4 KiB of every temporary, every call: the RNN
training step of benchmarks/rnn.py ran 2.1 ms per step that way against 0.8 ms
with the memory kept (2026-12-06, 2-core VM).  A process that had just
compiled the program with LLVM happened to keep its heap large enough, which
hid this behind the disk cache: the first run of a script was fast and every
later run slow.

So symgraph asks glibc (``mallopt``) to serve blocks below half of
``config.malloc_keep_mb`` from the heap and to keep up to
``config.malloc_keep_mb`` of freed memory at its top, as Theano and PyTensor
keep their storage between calls.  The settings are process-wide, apply only
to glibc, and are left alone when the option is 0 or when the process (the
user, or MALLOC_* variables) set them already.
"""
import ctypes
import os
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 2 ** 20           # glibc refuses larger values on 64-bit systems
_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                "MALLOC_MMAP_MAX_", "GLIBC_TUNABLES")
_done = False


def keep_freed_memory(keep_mb):
    """Set glibc's thresholds once (see the module docstring); whether they were set."""
    global _done
    if _done or keep_mb <= 0 or platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    _done = True
    if any(name in os.environ for name in _ENVIRONMENT):
        return False          # the process chose its own allocator settings
    try:
        libc = ctypes.CDLL(None)
        keep = int(keep_mb * 2 ** 20)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, min(keep // 2, MMAP_THRESHOLD_MAX))
                    and libc.mallopt(M_TRIM_THRESHOLD, keep))
    except (OSError, AttributeError):
        return False
