"""Theano's ``theano.sandbox`` paths that Theano code imports from (``rng_mrg``)."""
