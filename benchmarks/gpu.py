"""symgraph's GPU backend (mode='cuda') against PyTorch, CuPy and JAX on one GPU.

    python benchmarks/gpu.py                 # full sizes, 5 rounds (a few minutes)
    python benchmarks/gpu.py --quick         # small sizes, 2 rounds: a smoke test
    python benchmarks/gpu.py --workloads w1,mlp --peers symgraph,torch --rounds 7
    bash benchmarks/gpu_run.sh               # install, CUDA tests, then this; logs to $OUT

Workloads, all float32 with TF32 off (torch allow_tf32=False, JAX matmul
precision "highest", cuBLAS default math):

- copy: device-to-device copy of 100M floats, GB/s counting read + write: the
  bandwidth the elementwise peers are measured against;
- w1:   a**2 + 2*a*b + b**2 on 100M floats, a fresh output per call; GB/s
  (3 arrays moved) and the share of the copy bandwidth (target for symgraph:
  80%).  symgraph runs with device arrays in and out if it accepts them, else
  host arrays (then PCIe transfers are in the time); the notes say which;
- mlp:  one SGD step (lr 0.01) of a 4096-4096-4096-10 tanh MLP with softmax
  cross-entropy, batch 1024, parameters on the device; ms/step with the
  device synchronised after every step; symgraph, PyTorch eager, PyTorch with
  the step captured in a CUDA graph, JAX jit with donated parameters;
- gemm: one 4096^3 product through symgraph's blas.py (cuBLAS and its tiled
  kernels), torch.mm and cupy.matmul; TFLOP/s.

Every peer is checked against NumPy before it is timed (after one step, for
the MLP).  Rounds are interleaved, each peer's cell is the median over rounds,
and each peer's setup time (build, compile, first call) is shown beside it.
A peer that is not installed, or has no GPU here, is reported and skipped.
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

# before JAX is imported: by default it takes 75% of the GPU's memory for itself
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(HERE.parent))          # symgraph from the checkout

import gpu_peers as gp  # noqa: E402
from common import markdown_table  # noqa: E402

FULL = {"n": 100_000_000, "mlp": (1024, 4096, 4096, 10), "gemm": 4096}
QUICK = {"n": 1_000_000, "mlp": (64, 256, 256, 10), "gemm": 512}
# workload -> [(peer, builder)]; gemm last: it switches blas.py's choice (gpu_peers.py)
WORKLOADS = {
    "copy": [("torch", gp.copy_torch), ("cupy", gp.copy_cupy)],
    "w1": [("symgraph", gp.w1_symgraph), ("torch", gp.w1_torch), ("cupy", gp.w1_cupy),
           ("cupy-fused", gp.w1_cupy_fused), ("jax", gp.w1_jax), ("numba-hand", gp.w1_numba)],
    "mlp": [("symgraph", gp.mlp_symgraph), ("torch", gp.mlp_torch),
            ("torch-graph", gp.mlp_torch_graph), ("jax", gp.mlp_jax)],
    "gemm": [("blas-cublas", gp.gemm_cublas), ("blas-kernels", gp.gemm_kernels),
             ("torch", gp.gemm_torch), ("cupy", gp.gemm_cupy)],
}
CALLS = {"copy": 20, "w1": 10, "mlp": 5, "gemm": 5}   # per timed batch
TOL = {"copy": 0, "w1": 1e-5, "mlp": 2e-4, "gemm": 1e-3}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def data_for(name, sizes):
    rng = np.random.default_rng(0)
    if name in ("copy", "w1"):
        n = sizes["n"]
        return {"a": rng.standard_normal(n, dtype=np.float32),
                "b": rng.standard_normal(n, dtype=np.float32)}
    if name == "mlp":
        return gp.mlp_data(*sizes["mlp"])
    return gp.gemm_data(sizes["gemm"])


def reference(name, d):
    if name == "copy":
        return [d["a"]]
    if name == "w1":
        return [gp._w1_reference(d)]
    if name == "mlp":
        return gp.mlp_reference(d)
    return [d["a"].astype(np.float64) @ d["b"]]


def mismatch(want, got, tol):
    if len(want) != len(got):
        return f"{len(got)} values, expected {len(want)}"
    for i, (w, g) in enumerate(zip(want, got)):
        g = np.asarray(g, dtype=np.float64).reshape(np.shape(w))
        scale = max(1.0, float(np.abs(w).max(initial=0)))
        err = float(np.abs(g - w).max(initial=0)) / scale
        if not err <= tol:                    # NaN fails too
            return f"value {i}: max relative error {err:.2e}"
    return None


def build(name, peers, sizes, symgraph_mode):
    d = data_for(name, sizes)
    want = reference(name, d)
    cases = {}
    for peer, builder in WORKLOADS[name]:
        if peer not in peers:
            continue
        start = time.perf_counter()
        try:
            case = (builder(d, mode=symgraph_mode) if peer == "symgraph" else builder(d))
            case.sync()
            case.setup_s = time.perf_counter() - start
            bad = mismatch(want, case.result(), TOL[name])
        except ImportError as exc:
            log(f"  {name} {peer}: not installed ({exc.name or exc})")
            continue
        except gp.Unavailable as exc:
            log(f"  {name} {peer}: skipped ({exc})")
            continue
        except Exception as exc:              # noqa: BLE001 - one peer's failure is reported
            log(f"  {name} {peer}: FAILED {type(exc).__name__}: {str(exc)[:300]}")
            continue
        for note in case.notes:
            log(f"  {name} {peer}: {note}")
        log(f"  {name} {peer}: ready, setup {case.setup_s:.2f}s"
            + (f", MISMATCH {bad}" if bad else ", matches NumPy"))
        case.mismatch = bad
        cases[peer] = case
    return cases


def time_cases(cases, rounds, calls, per_step_sync):
    times = {peer: [] for peer in cases}
    order = list(cases)
    for r in range(rounds):
        for peer in order[r % len(order):] + order[:r % len(order)]:    # rotated
            case = cases[peer]
            case.sync()
            start = time.perf_counter()
            for _ in range(calls):
                case.step()
                if per_step_sync:
                    case.sync()
            case.sync()
            times[peer].append((time.perf_counter() - start) / calls)
    return {peer: statistics.median(ts) for peer, ts in times.items() if ts}


def machine():
    gpu = "GPU unknown"
    try:
        gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total",
                              "--format=csv,noheader"], capture_output=True, text=True,
                             timeout=20).stdout.strip() or gpu
    except (OSError, subprocess.SubprocessError):
        pass
    versions = []
    from importlib import metadata
    for dist in ("numba", "numba-cuda", "cupy-cuda12x", "cupy-cuda13x", "cupy", "torch", "jax",
                 "jaxlib"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    return (f"{gpu}; {platform.machine()}, {os.cpu_count()} CPUs; Python "
            f"{platform.python_version()}; " + ", ".join(versions))


def tables(name, cells, sizes, copy_gbs):
    """The markdown table of one workload; cells: {peer: (seconds, setup s, mismatch)}."""
    def label(peer, bad):
        return peer + (" (MISMATCH)" if bad else "")
    rows = []
    if name == "copy":
        n = sizes["n"]
        for peer, (sec, setup, bad) in cells.items():
            rows.append([label(peer, bad), f"{sec * 1e3:.3f}", f"{8 * n / sec / 1e9:.0f}",
                         f"{setup:.2f}"])
        return (f"copy of {n:,} float32 (read + write bytes)\n\n"
                + markdown_table(["peer", "ms/copy", "GB/s", "setup s"], rows))
    if name == "w1":
        n = sizes["n"]
        base = cells.get("symgraph", (None,))[0]
        for peer, (sec, setup, bad) in cells.items():
            gbs = 12 * n / sec / 1e9
            rows.append([label(peer, bad), f"{sec * 1e3:.3f}", f"{gbs:.0f}",
                         f"{100 * gbs / copy_gbs:.0f}%" if copy_gbs else "-",
                         f"{base / sec:.2f}" if base else "-", f"{setup:.2f}"])
        return (f"W1 a**2+2*a*b+b**2 on {n:,} float32, fresh output (3 arrays moved)\n\n"
                + markdown_table(["peer", "ms/call", "GB/s", "of copy GB/s",
                                  "symgraph/peer time", "setup s"], rows))
    if name == "mlp":
        batch, d_in, hidden, classes = sizes["mlp"]
        base = cells.get("symgraph", (None,))[0]
        for peer, (sec, setup, bad) in cells.items():
            rows.append([label(peer, bad), f"{sec * 1e3:.3f}",
                         f"{base / sec:.2f}" if base else "-", f"{setup:.2f}"])
        return (f"MLP step {d_in}-{hidden}-{hidden}-{classes}, batch {batch}, tanh, softmax "
                f"cross-entropy, SGD\n\n"
                + markdown_table(["peer", "ms/step", "symgraph/peer time", "setup s"], rows))
    n = sizes["gemm"]
    for peer, (sec, setup, bad) in cells.items():
        rows.append([label(peer, bad), f"{sec * 1e3:.3f}", f"{2 * n ** 3 / sec / 1e12:.1f}",
                     f"{setup:.2f}"])
    return (f"float32 matrix product {n}x{n} @ {n}x{n}\n\n"
            + markdown_table(["peer", "ms", "TFLOP/s", "setup s"], rows))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 2 rounds")
    parser.add_argument("--rounds", type=int, default=None, help="default 5 (2 with --quick)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--peers", default=None, help="default: all of each workload's")
    parser.add_argument("--symgraph-mode", default="cuda",
                        help="symgraph's mode (numba: check the graphs on a machine "
                             "without a GPU)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    rounds = args.rounds or (2 if args.quick else 5)
    names = [w for w in WORKLOADS if w in args.workloads.split(",")]   # gemm stays last
    head = (f"## GPU benchmark, {datetime.date.today().isoformat()}\n\n{machine()}\n"
            f"medians of {rounds} interleaved rounds; setup = build + compile + first call; "
            f"{'quick' if args.quick else 'full'} sizes")
    log(head)
    done, copy_gbs = [], None
    for name in names:
        peers = set(args.peers.split(",")) if args.peers else {p for p, _ in WORKLOADS[name]}
        log(f"{name}: building")
        cases = build(name, peers, sizes, args.symgraph_mode)
        if not cases:
            continue
        medians = time_cases(cases, rounds, CALLS[name], per_step_sync=name == "mlp")
        cells = {peer: (sec, cases[peer].setup_s, cases[peer].mismatch)
                 for peer, sec in medians.items()}
        del cases                             # free the device memory before the next workload
        if name == "copy":
            copy_gbs = max(8 * sizes["n"] / sec / 1e9 for sec, _, _ in cells.values())
        done.append(tables(name, cells, sizes, copy_gbs))
        log("\n" + done[-1] + "\n")         # as it comes: a timeout keeps what is done
    print("\n\n".join([head] + done))


if __name__ == "__main__":
    main()
