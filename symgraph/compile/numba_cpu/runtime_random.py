"""The compiled side of the random draws (ops/random.py describes the method).

``random_fill`` is a plain ``@njit`` function, without fast math, called by
the generated program: the Philox blocks, the conversions to floats and the
Box-Muller steps run exactly as IEEE arithmetic and the C library's ``log``
and ``cos`` define them, which is what the NumPy reference computes.  The
Philox rounds, the counter addition and the uniform conversions are the
functions of ops/random.py themselves, compiled here.
"""
import math

import numpy as np
from numba import njit

from ...ops import random as rnd

_philox = njit(nogil=True)(rnd.philox4x32)
_add_counter = njit(nogil=True)(rnd.add_counter)
_uniform53 = njit(nogil=True)(rnd.uniform53)
_uniform24 = njit(nogil=True)(rnd.uniform24)
_TWO_PI = rnd.TWO_PI


# not cached by Numba on its own: its cache would not see edits of ops/random.py;
# the programs calling it are cached whole (compile/cache.py hashes that module)
@njit(nogil=True)
def random_fill(out, state, new_state, normal, bits24):
    """Fill the C-contiguous ``out`` with a draw from ``state`` (element i from
    the block at counter + i) and write the advanced state into ``new_state``.
    ``normal``: Box-Muller, else uniform on [0, 1); ``bits24``: a float32
    uniform from 24 bits."""
    flat = out.reshape(out.size)
    k0, k1 = np.uint64(state[0]), np.uint64(state[1])
    c0, c1 = np.uint64(state[2]), np.uint64(state[3])
    c2, c3 = np.uint64(state[4]), np.uint64(state[5])
    n = flat.size
    for i in range(n):
        d0, d1, d2, d3 = _add_counter(c0, c1, c2, c3, np.uint64(i))
        w0, w1, w2, w3 = _philox(d0, d1, d2, d3, k0, k1)
        if normal:
            u1 = 1.0 - _uniform53(w0, w1)
            u2 = _uniform53(w2, w3)
            flat[i] = math.sqrt(-2.0 * math.log(u1)) * math.cos(_TWO_PI * u2)
        elif bits24:
            flat[i] = _uniform24(w0)
        else:
            flat[i] = _uniform53(w0, w1)
    e0, e1, e2, e3 = _add_counter(c0, c1, c2, c3, np.uint64(n))
    new_state[0] = state[0]
    new_state[1] = state[1]
    new_state[2] = np.uint32(e0)
    new_state[3] = np.uint32(e1)
    new_state[4] = np.uint32(e2)
    new_state[5] = np.uint32(e3)
