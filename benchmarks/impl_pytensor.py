"""PyTensor, from the same Theano-style graphs as symgraph. Two modes: its Numba
linker and its C linker (cvm). FAST_RUN meant the C linker up to PyTensor 2.x and
means Numba from 3.0, so the C mode is spelled out rather than named."""
import ctypes.util
import os

# PyTensor's C mode calls BLAS only when told how to link one (blas__ldflags); without
# it its Gemm runs plain C loops, 10x slower on W3. Link the system OpenBLAS
# (apt-get install libopenblas-dev) when it is there and the user chose nothing.
_flags = os.environ.get("PYTENSOR_FLAGS", "")
if "blas__ldflags" not in _flags and ctypes.util.find_library("openblas"):
    os.environ["PYTENSOR_FLAGS"] = ",".join(
        filter(None, [_flags, "blas__ldflags=-lopenblas"]))

import pytensor  # noqa: E402
import pytensor.tensor as pt  # noqa: E402

import theano_style  # noqa: E402

NOTE = (f"pytensor: blas__ldflags={pytensor.config.blas__ldflags!r}; "
        "pytensor-c = Mode(linker='cvm', optimizer='fast_run')")

MODES = {"numba": "NUMBA", "c": pytensor.compile.mode.Mode(linker="cvm", optimizer="fast_run")}


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
