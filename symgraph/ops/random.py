"""Random draws inside the graph: one op, ``RandomDraw``, over a counter-based
generator, Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as
1, 2, 3", SC 2011).

The state of a stream is a uint32 vector of length 6 held by a shared
variable: the key (2 words) and the counter (4 words, a 128-bit number, word 0
the lowest).  Element ``i`` of a draw (in C order) is made from the one Philox
block at counter ``c + i``, so its value depends only on the key, the counter
and its index: never on how a backend splits or parallelises the loop.  After a
draw of ``n`` elements the new state is the same key with counter ``c + n``,
so consecutive draws use consecutive blocks.

From the block's four 32-bit words ``w0..w3``:
  - a float64 uniform on [0, 1) is ``((w0 >> 5) * 2**26 + (w1 >> 6)) * 2**-53``
    (53 random bits, every value exact); a float32 one is ``(w0 >> 8) * 2**-24``;
  - a standard normal is Box-Muller's cosine branch in float64,
    ``sqrt(-2 log(1 - u1)) * cos(2 pi u2)`` with ``u1``, ``u2`` the float64
    uniforms of ``(w0, w1)`` and ``(w2, w3)`` (so ``1 - u1`` is in (0, 1] and
    the log is finite), rounded once to float32 for a float32 draw.

Both backends compute exactly this: the NumPy reference (``perform``) runs the
integer steps vectorised and calls Python's ``math.log`` and ``math.cos`` per
element, the compiled program calls the C library's through Numba, outside any
fast-math code (compile/numba_cpu/runtime.py).  Those are the same functions,
and the other steps (integer operations, products, square roots) are exactly
rounded, so the draws are bit-identical.  ``philox4x32``, ``add_counter`` and
the uniform conversions below are written once, for NumPy arrays and for
Numba's scalars alike (runtime.py compiles these very functions).
"""
import math
from dataclasses import dataclass

import numpy as np

from ..types import TensorType
from .base import Op

STATE_LENGTH = 6       # key (2 words), counter (4 words)
KINDS = ("uniform", "normal")

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)     # Philox-4x32 multipliers
_W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)     # key schedule (Weyl) constants
_LOW32 = np.uint64(0xFFFFFFFF)
_S5, _S6, _S8, _S26, _S32, _S63 = (np.uint64(s) for s in (5, 6, 8, 26, 32, 63))
_TO_53, _TO_24 = 2.0 ** -53, 2.0 ** -24
TWO_PI = 2.0 * math.pi


def philox4x32(c0, c1, c2, c3, k0, k1):
    """The Philox-4x32-10 block of counter ``(c0..c3)`` under key ``(k0, k1)``.
    Every argument is a uint64 below 2**32 (NumPy arrays or scalars, or Numba
    scalars); returns four such words."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ k0, p1 & _LOW32, (p0 >> _S32) ^ c3 ^ k1, p0 & _LOW32
        k0 = (k0 + _W0) & _LOW32
        k1 = (k1 + _W1) & _LOW32
    return c0, c1, c2, c3


def add_counter(c0, c1, c2, c3, i):
    """The 128-bit counter ``(c0..c3) + i`` (``i`` a uint64), as four words."""
    lo = c0 | (c1 << _S32)
    total = lo + i
    carry = ((lo & i) | ((lo | i) & ~total)) >> _S63      # the carry out of bit 63
    hi = (c2 | (c3 << _S32)) + carry
    return total & _LOW32, total >> _S32, hi & _LOW32, hi >> _S32


def uniform53(w0, w1):
    """A float64 uniform on [0, 1) from the top 53 bits of two words (exact)."""
    return (((w0 >> _S5) << _S26) | (w1 >> _S6)) * _TO_53


def uniform24(w0):
    """A uniform on [0, 1) from the top 24 bits of a word (exact in float32)."""
    return (w0 >> _S8) * _TO_24


def _words(state, n):
    """The four words of the blocks of elements 0..n-1 (uint64 arrays)."""
    k0, k1, c0, c1, c2, c3 = (np.uint64(w) for w in state)
    counters = add_counter(c0, c1, c2, c3, np.arange(n, dtype=np.uint64))
    return philox4x32(*counters, k0, k1)


def advance(state, n):
    """The state after a draw of ``n`` elements: the counter moved on by n."""
    state = np.asarray(state, dtype=np.uint32)
    counter = sum(int(w) << (32 * k) for k, w in enumerate(state[2:])) + int(n)
    words = [(counter >> (32 * k)) & 0xFFFFFFFF for k in range(4)]
    return np.array([state[0], state[1], *words], dtype=np.uint32)


def draw(kind, dtype, state, shape):
    """The values of a draw of ``kind`` and ``shape`` from ``state`` (NumPy reference)."""
    n = math.prod(shape)
    w0, w1, w2, w3 = _words(state, n)
    if kind == "uniform":
        values = uniform24(w0) if np.dtype(dtype) == np.float32 else uniform53(w0, w1)
    else:
        u1, u2 = 1.0 - uniform53(w0, w1), uniform53(w2, w3)
        # Python's math functions: the C library's, as the compiled program calls them
        logs = np.array([math.log(u) for u in u1.tolist()], dtype=np.float64)
        cosines = np.array([math.cos(TWO_PI * u) for u in u2.tolist()], dtype=np.float64)
        values = np.sqrt(-2.0 * logs) * cosines
    return np.asarray(values, dtype=np.float64).astype(dtype).reshape(shape)


def seeded_state(seed, index=0):
    """The state of stream ``index`` of a generator seeded with ``seed`` (an
    int): the key is a Philox block of (index, seed), the counter 0.  Distinct
    streams of one seed get distinct keys."""
    seed = int(seed) % (1 << 64)
    index = int(index) % (1 << 64)
    words = philox4x32(*(np.uint64(w) for w in (index & 0xFFFFFFFF, index >> 32, 0x5EED, 0)),
                       np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32))
    return np.array([words[0], words[1], 0, 0, 0, 0], dtype=np.uint32)


def check_state(value, name):
    """``value`` as a state array, or a clear error naming ``name``."""
    arr = np.asarray(value)
    if arr.shape != (STATE_LENGTH,) or arr.dtype.kind not in "iu" or \
            (arr.size and (arr.min() < 0 or arr.max() > 0xFFFFFFFF)):
        raise ValueError(f"{name}: a random state is {STATE_LENGTH} unsigned 32-bit words "
                         f"(key, counter), got {arr.dtype} of shape {arr.shape}")
    return arr.astype(np.uint32)


@dataclass(frozen=True)
class RandomDraw(Op):
    """A draw of ``kind`` ('uniform' on [0, 1), or standard 'normal') in
    ``dtype`` (float32 or float64) from the state input, of the shape given by
    the size inputs (int scalars).  Outputs: the new state, the draw.  Two
    draws are distinct nodes because their state inputs are distinct shared
    variables, so merging never joins them, and constant folding never sees
    one (its state is not a constant)."""
    kind: str
    dtype: str
    nout = 2

    def make_node(self, state, *size):
        if state.ndim != 1 or state.dtype != "uint32":
            raise TypeError(f"random draw: the state must be a uint32 vector, got {state.type}")
        for s in size:
            if s.ndim != 0 or not s.dtype.startswith(("int", "uint")):
                raise TypeError(f"random draw: size entries must be integer scalars, got {s.type}")
        flags = tuple(getattr(s, "data", None) is not None and s.data.ndim == 0 and s.data == 1
                      for s in size)
        return self.apply([state, *size], [TensorType("uint32", (False,)),
                                           TensorType(self.dtype, flags)])

    def validate(self, node, values):
        check_state(values[0], "random draw")
        if any(int(s) < 0 for s in values[1:]):
            raise ValueError(f"random draw: negative size {tuple(int(s) for s in values[1:])}")

    def perform(self, state, *size):
        shape = tuple(int(s) for s in size)
        return advance(state, math.prod(shape)), draw(self.kind, self.dtype, state, shape)

    def grad(self, inputs, outputs, output_grads):
        return [None] * len(inputs)

    def infer_shape(self, node, input_shapes):
        return [tuple(input_shapes[0]), tuple(node.inputs[1:])]

    def __str__(self):
        return f"random_{self.kind}{{{self.dtype}}}"
