"""The peers of benchmarks/gpu.py: one builder per (workload, peer).

A builder takes the workload's host data and returns a ``GpuCase`` or raises
(ImportError when the peer is not installed, ``Unavailable`` when it has no
GPU here).  ``step()`` queues one call or one training step; ``sync()`` waits
for the device; ``result()`` brings what the checks compare back to the host.
"""
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

# the kernel below must see numba.cuda as the global `cuda` (the simulator swaps it)
from symgraph.compile.numba_cuda.cudalib import cuda

LR = 0.01


class Unavailable(Exception):
    pass


@dataclass
class GpuCase:
    step: Callable[[], object]
    sync: Callable[[], object]
    result: Callable[[], list]                 # host arrays: [output] or [loss, *params]
    notes: list = field(default_factory=list)
    setup_s: Optional[float] = None


def _host(value):
    if hasattr(value, "copy_to_host"):
        return value.copy_to_host()
    if hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if hasattr(value, "get") and type(value).__module__.startswith("cupy"):
        return value.get()
    return np.asarray(value)


# ---------------------------------------------------------------- frameworks

def _torch():
    import torch
    if not torch.cuda.is_available():
        raise Unavailable("torch sees no GPU")
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return torch


def _cupy():
    import cupy
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:                  # noqa: BLE001 - CUDARuntimeError without a driver
        raise Unavailable(f"cupy sees no GPU ({exc})") from None
    if count < 1:
        raise Unavailable("cupy sees no GPU")
    return cupy


def _jax():
    import jax
    jax.config.update("jax_default_matmul_precision", "highest")
    if jax.default_backend() not in ("gpu", "cuda"):
        raise Unavailable(f"jax runs on {jax.default_backend()}, not a GPU")
    return jax


def _cudalib():
    from symgraph.compile.numba_cuda import cudalib
    if cudalib.problem() is not None:
        raise Unavailable(cudalib.problem())
    return cudalib


# ---------------------------------------------------------------- copy and W1

def copy_torch(d):
    torch = _torch()
    src = torch.from_numpy(d["a"]).cuda()
    dst = torch.empty_like(src)
    return GpuCase(lambda: dst.copy_(src), torch.cuda.synchronize, lambda: [_host(dst)])


def copy_cupy(d):
    cupy = _cupy()
    src = cupy.asarray(d["a"])
    dst = cupy.empty_like(src)
    return GpuCase(lambda: cupy.copyto(dst, src), cupy.cuda.Device().synchronize,
                   lambda: [_host(dst)])


def _w1_case(fn, a, b, sync):
    last = {}

    def step():
        last["out"] = fn(a, b)
        return last["out"]
    return GpuCase(step, sync, lambda: [_host(last.get("out", fn(a, b)))])


def w1_torch(d):
    torch = _torch()
    a, b = torch.from_numpy(d["a"]).cuda(), torch.from_numpy(d["b"]).cuda()
    return _w1_case(lambda a, b: a ** 2 + 2 * a * b + b ** 2, a, b, torch.cuda.synchronize)


def w1_cupy(d):
    cupy = _cupy()
    a, b = cupy.asarray(d["a"]), cupy.asarray(d["b"])
    return _w1_case(lambda a, b: a ** 2 + 2 * a * b + b ** 2, a, b,
                    cupy.cuda.Device().synchronize)


def w1_cupy_fused(d):
    cupy = _cupy()
    a, b = cupy.asarray(d["a"]), cupy.asarray(d["b"])
    kernel = cupy.ElementwiseKernel("float32 a, float32 b", "float32 z",
                                    "z = a * a + 2.0f * a * b + b * b", "sg_bench_w1")
    return _w1_case(kernel, a, b, cupy.cuda.Device().synchronize)


def w1_jax(d):
    jax = _jax()
    a, b = jax.device_put(d["a"]), jax.device_put(d["b"])
    f = jax.jit(lambda a, b: a ** 2 + 2 * a * b + b ** 2)
    last = {}

    def step():
        last["out"] = f(a, b)
        return last["out"]
    return GpuCase(step, lambda: last["out"].block_until_ready(), lambda: [_host(f(a, b))])


def _w1_kernel(a, b, out):
    for i in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
        x, y = a[i], b[i]
        out[i] = x * x + np.float32(2) * x * y + y * y


def w1_numba(d):
    """A hand-written numba.cuda kernel: what the compiler under symgraph can reach."""
    cudalib = _cudalib()
    k = cudalib.jit(_w1_kernel)
    a, b = cudalib.to_device(d["a"]), cudalib.to_device(d["b"])
    blocks = min(65535 * 4, -(-a.shape[0] // 256))

    def fn(a, b):
        out = cudalib.empty(a.shape, a.dtype)
        k[blocks, 256](a, b, out)
        return out
    return _w1_case(fn, a, b, cudalib.synchronize)


def w1_symgraph(d, mode="cuda"):
    """Device arrays in and out where symgraph accepts them, else host arrays;
    the case's notes say which (host arrays add the PCIe transfers)."""
    import symgraph as sg
    import symgraph.tensor as T
    a, b = T.fvectors("a", "b")
    expr = a ** 2 + 2 * a * b + b ** 2
    want = _w1_reference(d)
    try:
        cudalib = _cudalib()
        dev = (cudalib.to_device(d["a"]), cudalib.to_device(d["b"])), cudalib.synchronize
    except (ImportError, Unavailable) as exc:
        dev, cudalib = None, None
        why_host = f"no device arrays ({exc})"
    variants = [("device in, device out", {"outputs_on_device": True}, True),
                ("device in, host out", {}, True), ("host in, host out", {}, False)]
    tried = []
    for label, options, on_device in variants:
        if on_device and dev is None:
            tried.append(f"{label}: {why_host}")
            continue
        try:
            f = sg.function([a, b], expr, mode=mode, **options)
            args = dev[0] if on_device else (d["a"], d["b"])
            got = _host(f(*args))
        except Exception as exc:              # noqa: BLE001 - the next variant is tried
            tried.append(f"{label}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-5):
            tried.append(f"{label}: wrong result")
            continue
        sync = dev[1] if dev is not None else (lambda: None)
        case = _w1_case(f, *args, sync)
        case.notes = [f"symgraph W1: {label}"] + [f"  not used: {t}" for t in tried]
        return case
    raise RuntimeError("symgraph W1 failed in every variant: " + "; ".join(tried))


def _w1_reference(d):
    a, b = d["a"], d["b"]
    return a * a + np.float32(2) * a * b + b * b


# ---------------------------------------------------------------- the MLP step

def mlp_data(batch, d_in, hidden, classes, seed=0):
    rng = np.random.default_rng(seed)

    def glorot(rows, cols):
        bound = np.sqrt(6.0 / (rows + cols))
        return rng.uniform(-bound, bound, size=(rows, cols)).astype(np.float32)
    params = [glorot(d_in, hidden), np.zeros(hidden, np.float32), glorot(hidden, hidden),
              np.zeros(hidden, np.float32), glorot(hidden, classes), np.zeros(classes, np.float32)]
    x = rng.standard_normal((batch, d_in)).astype(np.float32)
    y = rng.integers(0, classes, size=batch).astype(np.int32)
    return {"x": x, "y": y, "params": params}


def mlp_reference(d):
    """[loss, *params after one SGD step] in float64 NumPy, written out by hand."""
    x, y = d["x"].astype(np.float64), d["y"]
    W1, b1, W2, b2, W3, b3 = (p.astype(np.float64) for p in d["params"])
    h1 = np.tanh(x @ W1 + b1)
    h2 = np.tanh(h1 @ W2 + b2)
    z = h2 @ W3 + b3
    z -= z.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    n = x.shape[0]
    loss = -logp[np.arange(n), y].mean()
    dz = np.exp(logp)
    dz[np.arange(n), y] -= 1
    dz /= n
    da2 = (dz @ W3.T) * (1 - h2 ** 2)
    da1 = (da2 @ W2.T) * (1 - h1 ** 2)
    grads = [x.T @ da1, da1.sum(0), h1.T @ da2, da2.sum(0), h2.T @ dz, dz.sum(0)]
    return [np.array(loss)] + [p - LR * g for p, g in zip((W1, b1, W2, b2, W3, b3), grads)]


def mlp_symgraph(d, mode="cuda"):
    import symgraph as sg
    import symgraph.tensor as T
    x, y = T.fmatrix("x"), T.ivector("y")
    params = [sg.shared(p.copy(), name=n) for p, n in zip(d["params"], ("W1", "b1", "W2", "b2",
                                                                         "W3", "b3"))]
    W1, b1, W2, b2, W3, b3 = params
    h1 = T.tanh(T.dot(x, W1) + b1)
    h2 = T.tanh(T.dot(h1, W2) + b2)
    p = T.nnet.softmax(T.dot(h2, W3) + b3)
    cost = -T.mean(T.log(p[T.arange(y.shape[0]), y]))
    grads = T.grad(cost, params)
    lr = np.float32(LR)
    f = sg.function([x, y], cost, updates=[(w, w - lr * g) for w, g in zip(params, grads)],
                    mode=mode)
    notes, args, sync, last = [], (d["x"], d["y"]), (lambda: None), {}
    try:
        cudalib = _cudalib()
        sync = cudalib.synchronize
        dev_args = (cudalib.to_device(d["x"]), cudalib.to_device(d["y"]))
        last["loss"] = f(*dev_args)
        args = dev_args
        notes.append("symgraph MLP: device inputs")
    except (ImportError, Unavailable) as exc:
        notes.append(f"symgraph MLP: host inputs (no device arrays: {exc})")
    except Exception as exc:                  # noqa: BLE001 - symgraph refused device inputs
        # (its checks on the arguments run before any update: no step was taken)
        notes.append(f"symgraph MLP: host inputs (device inputs: {type(exc).__name__}: "
                     f"{str(exc)[:120]})")
    if not last:
        last["loss"] = f(*args)
    try:
        from symgraph.compile.numba_cuda import blas
        notes.append(f"symgraph matrix products: {blas.info()}")
    except Exception:                         # noqa: BLE001 - only a note
        pass

    def step():
        last["loss"] = f(*args)
        return last["loss"]
    return GpuCase(step, sync, lambda: [_host(last["loss"])] + [
        _host(w.get_value()) for w in params], notes)


def _torch_mlp(torch, d):
    dev = torch.device("cuda")
    params = [torch.tensor(p, device=dev, requires_grad=True) for p in d["params"]]
    x = torch.from_numpy(d["x"]).to(dev)
    y = torch.from_numpy(d["y"]).long().to(dev)

    def loss_fn():
        W1, b1, W2, b2, W3, b3 = params
        h1 = torch.tanh(x @ W1 + b1)
        h2 = torch.tanh(h1 @ W2 + b2)
        return torch.nn.functional.cross_entropy(h2 @ W3 + b3, y)
    return params, loss_fn


def mlp_torch(d):
    torch = _torch()
    params, loss_fn = _torch_mlp(torch, d)
    last = {}

    def step():
        loss = loss_fn()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= LR * p.grad
                p.grad = None
        last["loss"] = loss.detach()
        return last["loss"]
    step()
    return GpuCase(step, torch.cuda.synchronize, lambda: [_host(last["loss"])] + [
        _host(p) for p in params])


def mlp_torch_graph(d):
    """The whole step captured once in a CUDA graph (PyTorch's documented
    recipe: warm-up on a side stream, grads set to None, then capture)."""
    torch = _torch()
    params, loss_fn = _torch_mlp(torch, d)
    opt = torch.optim.SGD(params, lr=LR)
    start = [p.detach().clone() for p in params]
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            opt.zero_grad(set_to_none=True)
            loss_fn().backward()
            opt.step()
    torch.cuda.current_stream().wait_stream(side)
    with torch.no_grad():                    # the warm-up steps moved the weights
        for p, s in zip(params, start):
            p.copy_(s)
    graph = torch.cuda.CUDAGraph()
    opt.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        static_loss = loss_fn()
        static_loss.backward()
        opt.step()

    def step():
        graph.replay()
        return static_loss
    step()
    return GpuCase(step, torch.cuda.synchronize, lambda: [_host(static_loss)] + [
        _host(p) for p in params])


def mlp_jax(d):
    jax = _jax()
    import jax.numpy as jnp

    def loss_fn(ps, x, y):
        W1, b1, W2, b2, W3, b3 = ps
        h1 = jnp.tanh(x @ W1 + b1)
        h2 = jnp.tanh(h1 @ W2 + b2)
        logp = jax.nn.log_softmax(h2 @ W3 + b3)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    def sgd(ps, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(ps, x, y)
        return [p - LR * g for p, g in zip(ps, grads)], loss
    step_fn = jax.jit(sgd, donate_argnums=0)
    state = {"ps": [jax.device_put(p) for p in d["params"]]}
    x, y = jax.device_put(d["x"]), jax.device_put(d["y"])

    def step():
        state["ps"], state["loss"] = step_fn(state["ps"], x, y)
        return state["loss"]
    step()
    return GpuCase(step, lambda: state["loss"].block_until_ready(),
                   lambda: [_host(state["loss"])] + [_host(p) for p in state["ps"]])


# ---------------------------------------------------------------- one matrix product

def gemm_data(n):
    rng = np.random.default_rng(0)
    return {"a": rng.standard_normal((n, n)).astype(np.float32),
            "b": rng.standard_normal((n, n)).astype(np.float32)}


def _gemm_blas(d, implementation):
    cudalib = _cudalib()
    from symgraph.compile.numba_cuda import blas
    saved = os.environ.get("SYMGRAPH_CUDA_BLAS")
    os.environ["SYMGRAPH_CUDA_BLAS"] = implementation
    blas._reset()
    try:
        description = blas.info()
    finally:
        if saved is None:
            os.environ.pop("SYMGRAPH_CUDA_BLAS")
        else:
            os.environ["SYMGRAPH_CUDA_BLAS"] = saved
    # blas chooses once per process: this case re-installs its own choice before
    # each call, and gpu.py times the gemm workload last so no other peer sees it
    lib = blas._lib
    a, b = cudalib.to_device(d["a"]), cudalib.to_device(d["b"])
    out = cudalib.empty((a.shape[0], b.shape[1]), a.dtype)

    def step():
        blas._lib = lib
        return blas.matmul(a, b, out, 1.0, 0.0)
    step()
    return GpuCase(step, cudalib.synchronize, lambda: [_host(out)], [description])


def gemm_cublas(d):
    return _gemm_blas(d, "cublas")


def gemm_kernels(d):
    return _gemm_blas(d, "kernels")


def gemm_torch(d):
    torch = _torch()
    a, b = torch.from_numpy(d["a"]).cuda(), torch.from_numpy(d["b"]).cuda()
    out = torch.empty_like(a)
    return GpuCase(lambda: torch.mm(a, b, out=out), torch.cuda.synchronize, lambda: [_host(out)])


def gemm_cupy(d):
    cupy = _cupy()
    a, b = cupy.asarray(d["a"]), cupy.asarray(d["b"])
    out = cupy.empty_like(a)
    return GpuCase(lambda: cupy.matmul(a, b, out=out), cupy.cuda.Device().synchronize,
                   lambda: [_host(out)])
