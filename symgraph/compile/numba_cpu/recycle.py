"""Results written into the buffers of results the caller has dropped.

A large fresh array costs more than its computation: glibc serves blocks
above its mmap threshold (32 MiB at most) with a new ``mmap``, and the kernel
faults in and zeroes every page on first write.  ``c = f(a, b)`` on 10M
floats spent about a third of its time there.  So a function keeps its last
few large results (``DEPTH`` per output) and, when nobody else holds one any
more (its reference count says so: no variable, no view, no container), hands
its memory to the program as the ``rec<k>`` argument, where ``runtime.recycled``
uses it instead of allocating when the size fits.  Theano and PyTensor reuse
output storage the same way; here a result the caller still holds is never
written.

Views of a result keep a reference to it (NumPy points a view's ``base`` at
the array that holds the memory: the result the program returned), so the
count of the kept array covers them.  ``DEPTH`` is 2 so that ``c = f(a, b)``
in a loop, where the previous ``c`` is alive during the call, alternates
between two buffers.  Small results (under ``MIN_BYTES``) are not kept: glibc
reuses their memory without faults, and keeping them would cost more than it
saves.
"""
import sys
import threading

import numpy as np

DEPTH = 2
MIN_BYTES = 1 << 20
# references to a kept result that nobody else holds: the pool's list and
# getrefcount's argument (no local name may hold it while it is counted)
_FREE = 2


class Recycler:
    """The kept results of one compiled program, per recyclable output."""

    def __init__(self, slots):
        # (output position, dtype) of each recyclable result (generate.Program.recycle)
        self.positions = [k for k, _ in slots]
        self.none = tuple(np.empty(0, np.dtype(d)) for _, d in slots)
        self.pools = [[] for _ in slots]
        self.lock = threading.Lock()      # two threads never take one buffer

    def take(self):
        """(arguments for rec0.., the kept arrays they view or None)."""
        if not any(self.pools):
            return self.none, None
        args, roots = list(self.none), [None] * len(self.pools)
        with self.lock:
            for k, pool in enumerate(self.pools):
                for j in range(len(pool)):
                    if sys.getrefcount(pool[j]) == _FREE:
                        roots[k] = pool.pop(j)
                        args[k] = roots[k].reshape(-1)
                        break
        return args, roots

    def give(self, results, roots):
        """Put the program's ``results`` (a list, changed in place) into the
        pools: a result written into a kept buffer is that array again (the
        program's own wrapper of it would chain to it), a new large one is
        kept as it is."""
        for k, position in enumerate(self.positions):
            out = results[position]
            root = roots[k] if roots is not None else None
            if root is not None and out.size and out.ctypes.data == root.ctypes.data:
                keep = root
                results[position] = root if root.shape == out.shape else root.reshape(out.shape)
            elif out.nbytes >= MIN_BYTES:
                keep = out
            else:
                continue
            pool = self.pools[k]
            with self.lock:
                pool.append(keep)
                if len(pool) > DEPTH:
                    del pool[0]
