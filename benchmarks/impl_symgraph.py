"""symgraph, through its public Theano-style API (DESIGN.md section 1)."""
import symgraph as sg
import symgraph.tensor as T

import theano_style


_made = []


def workloads(mode="numba"):
    """The workloads; mode 'background': mode numba with compile='background'."""
    compile = "background" if mode == "background" else "eager"
    mode = "numba" if mode == "background" else mode

    def shared(value, name, broadcastable=None):
        if broadcastable is None:
            return sg.shared(value, name=name)
        return sg.shared(value, name=name, broadcastable=broadcastable)

    def function(inputs, output, updates):
        f = sg.function(inputs, output, updates=updates, mode=mode, compile=compile)
        _made.append(f)
        return f

    api = theano_style.Api(T=T, shared=shared, function=function,
                           sigmoid=T.nnet.sigmoid, softmax=T.nnet.softmax)
    return theano_style.workloads(api)


def finish():
    """Wait for the background compiles (they fill the disk cache)."""
    for f in _made:
        f.wait()


def set_compiledir(path):
    sg.config.compiledir = path


def cache_stats():
    """Programs compiled / loaded from disk / reused in this process (W5 checks that a
    warm start really loads)."""
    from symgraph.compile import cache
    return dict(cache.stats)
