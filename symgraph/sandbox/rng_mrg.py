"""Theano's ``theano.sandbox.rng_mrg.MRG_RandomStreams``, here the same
counter-based generator as ``RandomStreams`` (tensor/shared_randomstreams.py)."""
from ..tensor.shared_randomstreams import RandomStreams


class MRG_RandomStreams(RandomStreams):
    """``RandomStreams`` under Theano's MRG name; its ``nstreams`` argument (how
    many parallel streams Theano's MRG generator uses) has no meaning for a
    counter-based generator and is ignored."""

    def uniform(self, size=None, low=0.0, high=1.0, ndim=None, dtype=None, nstreams=None):
        """Uniform draws on [low, high) (``RandomStreams.uniform``)."""
        return super().uniform(size, low, high, ndim, dtype)

    def normal(self, size=None, avg=0.0, std=1.0, ndim=None, dtype=None, nstreams=None):
        """Normal draws (``RandomStreams.normal``)."""
        return super().normal(size, avg, std, ndim, dtype)

    def binomial(self, size=None, n=1, p=0.5, ndim=None, dtype="int64", nstreams=None):
        """Binomial draws (``RandomStreams.binomial``)."""
        return super().binomial(size, n, p, ndim, dtype)

    def multinomial(self, size=None, n=1, pvals=None, ndim=None, dtype="int64", nstreams=None):
        """Multinomial counts; ``pvals`` a matrix gives one draw per row (Theano's MRG form)."""
        if pvals is None:
            raise TypeError("multinomial: pvals must be given")
        return super().multinomial(size, n, pvals, ndim, dtype)
