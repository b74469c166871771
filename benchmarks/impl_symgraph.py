"""symgraph, through its public Theano-style API (DESIGN.md section 1)."""
import symgraph as sg
import symgraph.tensor as T

import theano_style


def workloads(mode="numba"):
    def shared(value, name, broadcastable=None):
        if broadcastable is None:
            return sg.shared(value, name=name)
        return sg.shared(value, name=name, broadcastable=broadcastable)

    def function(inputs, output, updates):
        return sg.function(inputs, output, updates=updates, mode=mode)

    api = theano_style.Api(T=T, shared=shared, function=function,
                           sigmoid=T.nnet.sigmoid, softmax=T.nnet.softmax)
    return theano_style.workloads(api)


def set_compiledir(path):
    sg.config.compiledir = path


def cache_stats():
    """Programs compiled / loaded from disk / reused in this process (W5 checks that a
    warm start really loads)."""
    from symgraph.compile import cache
    return dict(cache.stats)
