"""``RandomStreams``: random draws inside the graph (Theano's
``theano.tensor.shared_randomstreams.RandomStreams``).

Each call such as ``srng.uniform((2, 2))`` makes one stream: a shared
variable holding a Philox state (key and counter, ops/random.py), seeded from
the generator's seed and the stream's number, and one ``RandomDraw`` node whose
new state is the variable's ``default_update``.  So a function that uses the
draw advances the stream once per call, however often the graph reads it, and
``function(..., no_default_updates=True)`` repeats the same numbers.  The
other distributions are graphs over uniform draws, so they compile wherever
uniform does.
"""
import numpy as np

from ..config import config
from ..graph import Constant, Variable
from ..ops.random import RandomDraw, check_state, seeded_state
from ..shared import SharedVariable
from ..types import TensorType
from . import basic as B
from .reductions import cumsum, prod, sum as tsum


class RandomState:
    """The value of a stream's state variable (``rv.rng.get_value()``): Theano
    gave a NumPy RandomState here; this one offers the same three methods."""

    def __init__(self, state):
        self._state = check_state(state, "RandomState")

    def seed(self, seed):
        """Restart the stream from ``seed`` (an int)."""
        self._state = seeded_state(seed)

    def get_state(self):
        """The state: 6 uint32 words (key, then the 128-bit counter)."""
        return self._state.copy()

    def set_state(self, state):
        """Continue from a state given by ``get_state``."""
        self._state = check_state(state, "RandomState.set_state")

    def __array__(self, dtype=None, copy=None):
        return self._state.copy() if dtype is None else self._state.astype(dtype)

    def __repr__(self):
        return f"RandomState({self._state.tolist()})"


class RandomStateSharedVariable(SharedVariable):
    """A stream's state: a uint32 vector underneath, a ``RandomState`` to the user."""

    def get_value(self, borrow=False, return_internal_type=False):
        if return_internal_type:
            return super().get_value(borrow=borrow)
        return RandomState(super().get_value())

    def set_value(self, value, borrow=False):
        if isinstance(value, RandomState):
            value = value.get_state()
        super().set_value(check_state(value, f"shared variable {self.name or ''}".strip()))

    def clone(self):
        cp = RandomStateSharedVariable(self.type, self.container.value, self.name)
        cp.container = self.container
        return cp


def _sizes(size, ndim, params):
    """The draw's lengths as int64 scalars: ``size`` a tuple of ints or scalars,
    or a symbolic vector (``x.shape``); None: the broadcast shape of ``params``."""
    if size is None:
        shaped = [p for p in params if p.ndim > 0]
        if not shaped:
            scalars = []
        else:
            total = shaped[0]
            for p in shaped[1:]:
                total = total + p
            scalars = B._shape_scalars(total.shape)
    elif B._unknown_length(size):
        if ndim is None:
            raise ValueError("random draw: size is a symbolic vector whose length is not known "
                             "until run time; pass ndim= (its length)")
        scalars = [B.cast(size[k], "int64") for k in range(ndim)]
    else:
        scalars = B._shape_scalars(size)
    if ndim is not None and ndim != len(scalars):
        raise ValueError(f"random draw: ndim={ndim} but size has {len(scalars)} lengths")
    return scalars


def _padright(x):
    return x.dimshuffle(*range(x.ndim), "x")


def _float_dtype(dtype, what):
    dtype = str(dtype or config.floatX)
    if dtype not in ("float32", "float64"):
        raise TypeError(f"{what}: dtype must be float32 or float64, got {dtype!r}")
    return dtype


class RandomStreams:
    """Random draws that are part of the graph, from streams seeded by ``seed``.

    ``srng = RandomStreams(seed=234); rv = srng.uniform((2, 2))``: ``rv`` is a
    symbolic draw; every function using it draws once per call and advances
    ``rv.rng``, the stream's shared state (``rv.rng.get_value()`` gives a
    value with ``seed``, ``get_state``, ``set_state``).  ``srng.seed(n)``
    reseeds every stream; ``srng.state_updates`` lists the (state, new state)
    pairs.  Draws come from Philox-4x32-10 (ops/random.py): the same seed
    gives the same bits on every backend."""

    def __init__(self, seed=None):
        self.default_instance_seed = int(np.random.SeedSequence().entropy % (1 << 63)) \
            if seed is None else int(seed)
        self.state_updates = []

    def seed(self, seed=None):
        """Reseed every stream made so far: stream k from ``seed`` and k (distinct keys)."""
        if seed is None:
            seed = self.default_instance_seed
        self.default_instance_seed = int(seed)
        for k, (state, _) in enumerate(self.state_updates):
            state.set_value(seeded_state(seed, k))

    def updates(self):
        """The (state, new state) pairs of every stream (Theano's ``updates()``)."""
        return list(self.state_updates)

    # ------------------------------------------------------------ the one primitive
    def _draw(self, kind, sizes, dtype):
        k = len(self.state_updates)
        value = seeded_state(self.default_instance_seed, k)
        state = RandomStateSharedVariable(TensorType("uint32", (False,)), value,
                                          name=f"rng_{kind}_{k}")
        new_state, out = RandomDraw(kind, dtype)(state, *sizes)
        state.default_update = new_state
        self.state_updates.append((state, new_state))
        out.rng = state
        out.update = (state, new_state)
        return out

    @staticmethod
    def _finish(out, draw, dtype=None):
        out = B.cast(out, dtype) if dtype is not None and out.dtype != dtype else out
        out.rng, out.update = draw.rng, draw.update
        return out

    # ------------------------------------------------------------ distributions
    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None):
        """Uniform draws on [low, high) of shape ``size`` (a tuple, or a
        symbolic shape such as ``x.shape``), in ``dtype`` (default floatX)."""
        dtype = _float_dtype(dtype, "uniform")
        low, high = B.as_tensor_variable(low), B.as_tensor_variable(high)
        u = self._draw("uniform", _sizes(size, ndim, [low, high]), dtype)
        if _is(low, 0) and _is(high, 1):
            return u
        return self._finish(low + (high - low) * u, u, dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None):
        """Normal draws with mean ``avg`` and standard deviation ``std``
        (Box-Muller, ops/random.py), of shape ``size``, in ``dtype`` (default floatX)."""
        dtype = _float_dtype(dtype, "normal")
        avg, std = B.as_tensor_variable(avg), B.as_tensor_variable(std)
        z = self._draw("normal", _sizes(size, ndim, [avg, std]), dtype)
        if _is(avg, 0) and _is(std, 1):
            return z
        return self._finish(avg + std * z, z, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64"):
        """The number of successes in ``n`` trials (``n`` a constant int) of
        probability ``p``, of shape ``size``."""
        trials = _constant_int(n, "binomial: n")
        p = B.as_tensor_variable(p)
        sizes = _sizes(size, ndim, [p])
        if trials == 1:
            u = self._draw("uniform", sizes, "float64")
            return self._finish(B.cast(B.lt(u, p), dtype), u)
        u = self._draw("uniform", sizes + [B.constant(trials, dtype="int64")], "float64")
        return self._finish(tsum(B.cast(B.lt(u, _padright(p)), dtype), axis=-1), u, dtype)

    def random_integers(self, size=None, low=0, high=1, ndim=None, dtype="int64"):
        """Integers drawn uniformly from ``low`` to ``high``, both included."""
        low, high = B.as_tensor_variable(low), B.as_tensor_variable(high)
        u = self._draw("uniform", _sizes(size, ndim, [low, high]), "float64")
        lo, hi = B.cast(low, "float64"), B.cast(high, "float64")
        return self._finish(B.cast(B.floor(lo + (hi - lo + 1.0) * u), dtype), u)

    def choice(self, size=None, a=2, replace=True, p=None, ndim=None, dtype="int64"):
        """Draws from ``a`` (an int n: from 0..n-1; or a vector: its elements),
        with probabilities ``p`` (a vector; default uniform); ``replace=False``
        draws distinct elements (without ``p``)."""
        a = B.as_tensor_variable(a)
        if a.ndim not in (0, 1):
            raise ValueError(f"choice: a must be an int or a vector, got {a.type}")
        n = B.cast(a, "int64") if a.ndim == 0 else a.shape[0]
        sizes = _sizes(size, ndim, [])
        if not replace:
            if p is not None:
                raise NotImplementedError("choice: replace=False with p is not supported")
            keys = self._draw("uniform", [n], "float64")
            count = prod(B.stack(sizes)) if sizes else B.constant(1, dtype="int64")
            ranks = _ranks(keys)
            # idx[r] = the element whose key has rank r, for r < count
            slots = B.arange(count)
            hit = B.eq(_padright(slots), ranks.dimshuffle("x", 0))
            idx = tsum(B.cast(hit, "int64") * B.arange(n).dimshuffle("x", 0), axis=1)
            idx = B.reshape(idx, sizes) if sizes else idx[0]
            draw = keys
        else:
            draw = self._draw("uniform", sizes, "float64")
            if p is None:
                idx = B.cast(B.floor(draw * B.cast(n, "float64")), "int64")
            else:
                idx = _pick(draw, B.as_tensor_variable(p))
            idx = B.minimum(idx, n - 1)
        out = idx if a.ndim == 0 else a[idx]
        return self._finish(out, draw, dtype if a.ndim == 0 else None)

    def permutation(self, size=None, n=1, ndim=None, dtype="int64"):
        """Random permutations of 0..n-1 (``n`` an int), one per element of
        ``size``: the result has shape size + (n,)."""
        sizes = _sizes(size, ndim, [])
        length = B.cast(B.as_tensor_variable(n), "int64")
        keys = self._draw("uniform", sizes + [length], "float64")
        # the ranks of n iid uniform keys are a uniformly random permutation
        return self._finish(_ranks(keys), keys, dtype)

    def multinomial(self, size=None, n=1, pvals=(0.5, 0.5), ndim=None, dtype="int64"):
        """Counts of ``n`` draws (``n`` a constant int) among ``len(pvals)``
        outcomes: shape size + (len(pvals),).  ``pvals`` may also be a matrix,
        one distribution per row (Theano's MRG form, with size None)."""
        trials = _constant_int(n, "multinomial: n")
        pvals = B.as_tensor_variable(pvals)
        if pvals.ndim not in (1, 2):
            raise ValueError(f"multinomial: pvals must be a vector or a matrix, got {pvals.type}")
        if pvals.ndim == 2:
            if size is not None:
                raise ValueError("multinomial: size must be None when pvals is a matrix")
            sizes = [pvals.shape[0]]
        else:
            sizes = _sizes(size, ndim, [])
        u = self._draw("uniform", sizes + [B.constant(trials, dtype="int64")], "float64")
        k = pvals.shape[-1]
        idx = B.minimum(_pick(u, pvals), k - 1)                   # size + (n,)
        hit = B.eq(_padright(idx), B.arange(k))                  # size + (n, k)
        return self._finish(tsum(B.cast(hit, dtype), axis=-2), u)


def _pick(u, p):
    """The outcome of each uniform in ``u`` under the probabilities ``p``: a
    vector, or a matrix with one row per index of u's first axis.  The outcome
    is how many cumulative sums ``u * total`` reaches."""
    cdf = cumsum(p, axis=-1)
    if p.ndim == 1:
        scaled, edges = u * cdf[-1], cdf
    else:
        total = cdf[:, -1].dimshuffle(0, *["x"] * (u.ndim - 1))
        scaled, edges = u * total, cdf.dimshuffle(0, *["x"] * (u.ndim - 1), 1)
    return tsum(B.cast(B.ge(_padright(scaled), edges), "int64"), axis=-1)


def _ranks(keys):
    """The rank of each key along the last axis (ties broken by position)."""
    m = keys.ndim
    a = keys.dimshuffle(*range(m - 1), "x", m - 1)     # [..., j, k] = key k
    b = keys.dimshuffle(*range(m - 1), m - 1, "x")     # [..., j, k] = key j
    n = keys.shape[-1]
    earlier = B.lt(B.arange(n).dimshuffle("x", 0), B.arange(n).dimshuffle(0, "x"))   # k < j
    before = B.or_(B.lt(a, b), B.and_(B.eq(a, b), earlier))
    return tsum(B.cast(before, "int64"), axis=-1)


def _is(var, number):
    return isinstance(var, Constant) and var.data.ndim == 0 and var.data == number


def _constant_int(n, what):
    if isinstance(n, Variable):
        if not isinstance(n, Constant) or n.data.ndim != 0:
            raise TypeError(f"{what} must be a constant int, got the symbolic {n!r}")
        n = n.data.item()
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"{what} must be a non-negative int, got {n!r}")
    return int(n)
