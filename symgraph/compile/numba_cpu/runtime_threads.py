"""Library routines split among threads, for the parallel variant of a
program, and the thread pool's waiting policy.

The BLAS that Numba calls runs a matrix-vector product (gemv) on one core,
whatever its size, and such a product is bound by how fast one core reads the
matrix.  Split by rows of the matrix's C-ordered view, each thread reads its
own block: the rows of ``op(a)`` when that view is ``op(a)`` itself (each
thread writes its own part of ``out``), else partial products over the
blocks, added at the end.

Numba's OpenMP threads spin for a long while after each parallel loop
(GOMP_SPINCOUNT, 300,000 by default), and so do OpenBLAS's threads after
each matrix product.  On a 2-core machine the two pools then take the cores
from each other: an MLP step (batch 1000, 784-1000-10) took 40 ms in the
parallel variant against 30 ms in the serial one, and the RNN step of
benchmarks/rnn.py 8 ms against 0.8.  With a spin of 10,000 rounds the
parallel variant is as fast as the serial one there, and W1 and W2 keep
their gains.  So, unless the process chose its own OpenMP waiting policy,
``GOMP_SPINCOUNT`` is set here, before Numba starts its threads (it reads
the variable then; a pool started earlier keeps its own).
"""
import os

import numpy as np
from numba import config, njit, prange

from .emit import PRANGE_ONLY
from .runtime import matvec

# blocks per product: Numba's thread count (a constant: get_num_threads() in
# compiled code would keep the program out of the disk cache); set_num_threads
# to fewer spreads the blocks over fewer threads
BLOCKS = config.NUMBA_NUM_THREADS

SPIN_ROUNDS = "10000"
if not {"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"} & set(os.environ):
    os.environ["GOMP_SPINCOUNT"] = SPIN_ROUNDS


@njit(cache=True, nogil=True, parallel=PRANGE_ONLY)
def matvec_threads(a, x, out, alpha, beta, transpose, min_size):
    """``matvec(a, x, out, alpha, beta, transpose)``, on all threads when ``a``
    has at least ``min_size`` elements and is C- or Fortran-ordered."""
    threads = BLOCKS
    c_order = a.flags.c_contiguous
    if threads < 2 or a.size < min_size or not (c_order or a.flags.f_contiguous):
        matvec(a, x, out, alpha, beta, transpose)
        return
    # b: the C-ordered view of a, whose rows the threads share
    b = a if c_order else a.T
    rows = b.shape[0]
    block = (rows + threads - 1) // threads
    if c_order != transpose:
        # op(a) is b: each thread computes its rows of out
        for t in prange(threads):
            lo = min(rows, t * block)
            hi = min(rows, lo + block)
            if hi > lo:
                matvec(b[lo:hi], x, out[lo:hi], alpha, beta, False)
        return
    # op(a) is b.T: out = alpha * sum over blocks of b[block].T @ x[block] + beta * out
    parts = np.zeros((threads, out.shape[0]), out.dtype)
    for t in prange(threads):
        lo = min(rows, t * block)
        hi = min(rows, lo + block)
        if hi > lo:
            matvec(b[lo:hi], x[lo:hi], parts[t], 1.0, 0.0, True)
    for i in range(out.shape[0]):
        total = parts[0, i]
        for t in range(1, threads):
            total += parts[t, i]
        # beta = 0 ignores what out held, NaN included, as BLAS does
        out[i] = alpha * total + (beta * out[i] if beta != 0 else 0)
