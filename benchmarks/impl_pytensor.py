"""PyTensor, from the same Theano-style graphs as symgraph. Two modes: 'NUMBA'
(its Numba linker) and 'FAST_RUN' (the C/cvm linker, PyTensor's default here)."""
import pytensor
import pytensor.tensor as pt

import theano_style

MODES = {"numba": "NUMBA", "c": "FAST_RUN"}


def workloads(variant="numba"):
    mode = MODES[variant]

    def shared(value, name, broadcastable=None):
        if broadcastable is None:
            return pytensor.shared(value, name=name)
        # PyTensor spells broadcastable axes as static length 1.
        shape = tuple(1 if flag else None for flag in broadcastable)
        return pytensor.shared(value, name=name, shape=shape)

    def function(inputs, output, updates):
        return pytensor.function(inputs, output, updates=updates, mode=mode)

    api = theano_style.Api(T=pt, shared=shared, function=function, sigmoid=pt.sigmoid,
                           softmax=lambda z: pt.special.softmax(z, axis=-1))
    return theano_style.workloads(api)
