"""Benchmark symgraph against its peers on workloads W0..W5 in one run.

Every (workload, peer) case is built and checked against NumPy first; then the
cases are timed in rounds, each round visiting every workload and every peer (in a
rotated order), and each cell reports the median over rounds. Timing peers in one
process, interleaved, is what makes the symgraph/peer ratios trustworthy on a
2-core machine where BLAS threading moves timings between processes.

    python benchmarks/run.py                      # everything, 3 rounds
    python benchmarks/run.py --quick              # small sizes, smoke test
    python benchmarks/run.py --workloads W1,W3 --rounds 5 --json results.json
    symgraph bench --workload W2 --quick          # the same script, from the command line
"""
import argparse
import importlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))          # symgraph from the checkout

# Thread counts must be in the environment before NumPy (and its BLAS) loads, so
# --threads is read here, ahead of the imports below; argparse checks it later.
if "--threads" in sys.argv[:-1]:
    _threads = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):
        os.environ[_var] = _threads
    if _threads == "1":
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                                   + " --xla_cpu_multi_thread_eigen=false").strip()

from common import (Case, CpuWatch, calibrate, compare, fmt_ratio,  # noqa: E402
                    fmt_time, markdown_table, measure, run_once, short_error, to_numpy)
from workloads import FULL, QUICK, WORKLOADS, make_data  # noqa: E402

# column name, module, variant passed to module.workloads() (symgraph's is --mode)
PEERS = [
    ("symgraph", "impl_symgraph", None),
    # compile='background' (compile/tiered.py); timed in W5 only: after the
    # switch it runs the same program as the symgraph column
    ("symgraph-bg", "impl_symgraph", "background"),
    ("numpy", "impl_numpy", None),
    ("numba", "impl_numba", None),
    ("numba-par", "impl_numba", "parallel"),
    ("pytensor-numba", "impl_pytensor", "numba"),
    ("pytensor-c", "impl_pytensor", "c"),
    ("jax", "impl_jax", None),
    ("torch", "impl_torch", None),
]
DISTRIBUTIONS = ["numpy", "numba", "llvmlite", "scipy", "pytensor", "jax", "jaxlib", "torch"]


@dataclass
class Cell:
    case: Optional[Case] = None
    calls: int = 1                           # calls per timed batch
    repeats: int = 3                         # batches per round
    setup_s: Optional[float] = None          # build + compile + first call
    times: list = field(default_factory=list)
    error: Optional[str] = None
    mismatch: Optional[str] = None
    detail: list = field(default_factory=list)   # W5: the child's own timings

    def median(self):
        return statistics.median(self.times) if self.times else None


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def load_peers(names, mode):
    """{column: (module, variant, builders dict or error string)}, and notes on the
    peers left out."""
    peers, notes = {}, []
    for column, module, variant in PEERS:
        if column not in names:
            continue
        if column == "symgraph":
            variant = mode
        try:
            mod = importlib.import_module(module)
            peers[column] = (module, variant, mod.workloads(variant))
            if getattr(mod, "NOTE", None) and mod.NOTE not in notes:
                notes.append(mod.NOTE)
        except Exception as exc:              # noqa: BLE001 - any failure just skips the peer
            if column == "symgraph":          # always shown: its cells carry the error
                peers[column] = (module, variant, short_error(exc))
            else:
                notes.append(f"{column}: skipped, {short_error(exc, 100)}")
    return peers, notes


def build_cells(name, sizes, peers, target_s):
    data = make_data(name, sizes)
    ref_case = importlib.import_module("impl_numpy").workloads()[name](data)
    ref_out = run_once(ref_case)
    reference = [to_numpy(ref_out).copy()] + [to_numpy(p).copy() for p in ref_case.params()]
    del ref_case, ref_out
    cells = {}
    for column, (_, _, builders) in peers.items():
        if isinstance(builders, str):
            cells[column] = Cell(error=builders)
            continue
        if name not in builders:
            continue
        cell = cells[column] = Cell()
        try:
            start = time.perf_counter()
            case = builders[name](data)
            out = run_once(case)
            cell.setup_s = time.perf_counter() - start
            cell.mismatch = compare(reference, [out] + list(case.params()))
            cell.calls, per_call = calibrate(case, target_s)
            cell.repeats = 1 if per_call > 0.2 else 3
            cell.case = case
        except Exception as exc:              # noqa: BLE001
            cell.error = short_error(exc)
        status = cell.error or f"ready, setup {cell.setup_s:.2f}s"
        if cell.mismatch:
            status += f", MISMATCH {cell.mismatch}"
        log(f"  {name} {column}: {status}")
    return cells


def time_round(cells, order):
    for column in order:
        cell = cells.get(column)
        if cell is None or cell.case is None or cell.error:
            continue
        try:
            cell.times.append(measure(cell.case, cell.calls, cell.repeats))
        except Exception as exc:              # noqa: BLE001
            cell.error, cell.case = short_error(exc), None
        time.sleep(0.05)                      # let the previous peer's worker threads go idle


class ChildFailed(Exception):
    pass


W5_ONLY = {"symgraph-bg"}
W5_GRAPHS = ("W2", "W4")


def cold_start(module, variant, cache_dir, graph):
    """Seconds from starting a fresh process to the first result of ``graph``
    (built, compiled, run once), and the child's own timings with the wall time."""
    env = dict(os.environ, SG_BENCH_CACHE_DIR=cache_dir, SG_BENCH_NUMBA_CACHE="1",
               NUMBA_CACHE_DIR=os.path.join(cache_dir, "numba"))
    compiledir = os.path.join(cache_dir, "compiledir")
    # PyTensor keeps its Numba cache under base_compiledir, not compiledir.
    for var, flag in (("PYTENSOR_FLAGS", "base_compiledir"), ("SYMGRAPH_FLAGS", "compiledir")):
        env[var] = ",".join(filter(None, [os.environ.get(var), f"{flag}={compiledir}"]))
    if module == "impl_symgraph" and variant != "background":
        env["SYMGRAPH_FLAGS"] += f",mode={variant}"
    # Python's default: keep bytecode. The peers' modules were byte-compiled when pip
    # installed them; with PYTHONDONTWRITEBYTECODE set (as on the project's VMs) an
    # editable symgraph would be compiled from source in every child (~0.12 s).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    spawned = time.time()       # the child reports the clock time of its first result
    proc = subprocess.run([sys.executable, str(HERE / "cold_start.py"), module, variant or "",
                           graph], env=env, capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
        raise ChildFailed(lines[-1] if lines else f"exit code {proc.returncode}")
    detail = json.loads(proc.stdout.strip().splitlines()[-1])
    detail["wall_s"] = wall
    return detail.pop("first_result_at") - spawned, detail


def w5_cells(peers):
    """{(kind, graph, column): Cell} for the cold and warm starts of each graph."""
    cells = {}
    for column, (module, variant, builders) in peers.items():
        for graph in W5_GRAPHS:
            for kind in ("cold", "warm"):
                if isinstance(builders, str):
                    cells[(kind, graph, column)] = Cell(error=builders)
                elif graph in builders:
                    cells[(kind, graph, column)] = Cell()
    return cells


def w5_round(cells, peers, order):
    for column in order:
        for graph in W5_GRAPHS:
            if cells.get(("cold", graph, column), Cell(error="none")).error:
                continue
            module, variant, _ = peers[column]
            cache_dir = tempfile.mkdtemp(prefix="sgbench-w5-")
            try:
                for kind in ("cold", "warm"):     # the warm process reuses the cold one's caches
                    cell = cells[(kind, graph, column)]
                    try:
                        first, detail = cold_start(module, variant, cache_dir, graph)
                        cell.times.append(first)
                        cell.detail.append(detail)
                        log(f"  W5 {kind} {graph} {column}: {first:.2f}s {detail}")
                    except Exception as exc:      # noqa: BLE001
                        cell.error = (str(exc)[:60] if isinstance(exc, ChildFailed)
                                      else short_error(exc))
                        log(f"  W5 {kind} {graph} {column}: {cell.error}")
                        if kind == "cold":
                            cells[("warm", graph, column)].error = "cold start failed"
                        break
            finally:
                shutil.rmtree(cache_dir, ignore_errors=True)


def cell_text(cell, unit, sg_cell):
    if cell is None:
        return "n/a"
    if cell.error:
        return f"error: {cell.error}"
    t = cell.median()
    if t is None:
        return "-"
    sg_t = sg_cell.median() if sg_cell is not None and not sg_cell.error else None
    mark = " !" if cell.mismatch else ""
    return fmt_time(t, unit) + mark + fmt_ratio(sg_t, t)


def report(rows, columns, notes, meta):
    header = ["workload", "unit"] + columns
    table = []
    mismatches = []
    for label, unit, cells in rows:
        sg_cell = cells.get("symgraph")
        table.append([label, unit] + [
            cell_text(cells.get(c), unit, None if c == "symgraph" else sg_cell) for c in columns])
        mismatches += [f"{label} {c}: {cells[c].mismatch}" for c in columns
                       if c in cells and cells[c].mismatch]
    print(f"# symgraph benchmarks ({meta['when']})\n")
    print(", ".join(f"{k} {v}" for k, v in meta["versions"].items()))
    print(f"{meta['machine']}; symgraph mode={meta['mode']}; rounds={meta['rounds']}"
          f"{'; threads=%d' % meta['threads'] if meta['threads'] else ''}"
          f"{'; QUICK sizes' if meta['quick'] else ''}")
    if meta.get("blas"):
        print(f"BLAS: {meta['blas']}")
    if meta["other_cpu_share"] is not None:
        print(f"Other processes used {100 * meta['other_cpu_share']:.0f}% of the CPUs during "
              "the run (above a few %, expect noisy timings).")
        if meta["other_cpu_share"] > 0.15 and not meta["threads"]:
            print("Multithreaded BLAS stalls when a neighbour holds a core: BLAS-bound cells "
                  "may be 10-100x off. Rerun with --threads 1 to compare.")
    print()
    print(markdown_table(header, table))
    print("\nMedian over rounds. [r x] = symgraph time / peer time (above 1: symgraph slower). "
          "'!' = result differs from NumPy by hand (see below); n/a = peer has no such variant.")
    for name in sorted({label.split()[0] for label, _, _ in rows}):
        print(f"- {name}: {WORKLOADS[name][1]}")
    for line in mismatches:
        print(f"- mismatch {line}")
    for line in notes:
        print(f"- {line}")
    # the background column against every peer, where it was timed (W5)
    bg = [(label, cells) for label, _, cells in rows if "symgraph-bg" in cells]
    if bg:
        print("\nsymgraph-bg / peer (first result, W5):\n")
        print(markdown_table(["workload"] + columns, [
            [label] + [fmt_ratio(cells["symgraph-bg"].median(), cells[c].median()).strip()
                       if c in cells and cells[c].median() and cells["symgraph-bg"].median()
                       else "n/a" for c in columns] for label, cells in bg]))


def w5_detail(cells, columns):
    rows = []
    for graph in W5_GRAPHS:
        for kind in ("cold", "warm"):
            row = [f"W5 {kind} {graph}"]
            for c in columns:
                cell = cells.get((kind, graph, c))
                if cell is None or not cell.detail:
                    row.append("n/a" if cell is None else ("error" if cell.error else "-"))
                    continue
                med = {k: statistics.median(d[k] for d in cell.detail)
                       for k in ("numpy_import_s", "import_s", "build_compile_run_s", "wall_s")}
                row.append(f"{med['numpy_import_s']:.2f} + {med['import_s']:.2f} + "
                           f"{med['build_compile_run_s']:.2f} ({med['wall_s']:.2f})")
            rows.append(row)
    print("\nW5 inside the child process (median s): numpy import + peer import + "
          "build/compile/run once (the whole process, start to exit, in brackets: "
          "symgraph-bg's child waits for its compile before exiting, to fill the cache "
          "for the warm start).\n")
    print(markdown_table(["", *columns], rows))


def versions():
    out = {"python": platform.python_version()}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return out


def blas_setup():
    """The BLAS kernels in use and what chose them: a BLAS-bound row depends on
    them more than on anything symgraph does (an AVX-512 CPU running OpenBLAS's
    Haswell kernels is ~2x slower per core on W4's products than XLA)."""
    parts = []
    try:
        from threadpoolctl import threadpool_info
        parts += sorted({f"{i['internal_api']} {i.get('version')} {i.get('architecture')} kernels"
                         for i in threadpool_info() if i.get("user_api") == "blas"})
    except ImportError:
        pass
    parts += [f"{k}={v} set in the environment" for k, v in sorted(os.environ.items())
              if k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                       "MKL_NUM_THREADS")]
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
        parts.append("CPU has AVX-512" if "avx512f" in flags else "CPU has no AVX-512")
    except OSError:
        pass
    return "; ".join(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", "--workload", default="W0,W1,W2,W3,W4,W5",
                    help="comma-separated subset of W0..W5 (--workload W2: one)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    ap.add_argument("--mode", default="numba", choices=["numba", "python"],
                    help="symgraph's compile mode")
    ap.add_argument("--peers", default=",".join(p[0] for p in PEERS),
                    help="comma-separated subset of " + ", ".join(p[0] for p in PEERS))
    ap.add_argument("--target-time", type=float, default=None,
                    help="seconds per timed batch (default 0.3, quick 0.05)")
    ap.add_argument("--threads", type=int, default=None,
                    help="thread count for BLAS, OpenMP, Numba, XLA and torch "
                         "(default: each library's own)")
    ap.add_argument("--json", help="also write the raw per-round times here")
    args = ap.parse_args(argv)

    names = [w.strip().upper() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in names if w not in WORKLOADS]
    if unknown:
        ap.error(f"unknown workloads {unknown}")
    sizes = QUICK if args.quick else FULL
    target_s = args.target_time or (0.05 if args.quick else 0.3)
    watch = CpuWatch()
    peers, notes = load_peers(set(args.peers.split(",")), args.mode)
    if args.threads and "torch" in peers:
        import torch
        torch.set_num_threads(args.threads)
    columns = [c for c, _, _ in PEERS if c in peers]

    timed = {}
    for name in names:
        if name != "W5":
            log(f"building {name}")
            timed[name] = build_cells(name, sizes, {c: p for c, p in peers.items()
                                                    if c not in W5_ONLY}, target_s)
    cold = w5_cells(peers) if "W5" in names else {}

    for r in range(args.rounds):
        order = columns[r % len(columns):] + columns[:r % len(columns)]
        log(f"round {r + 1}/{args.rounds}")
        for name, cells in timed.items():
            time_round(cells, order)
        if cold:
            w5_round(cold, peers, order)

    rows = [(name, WORKLOADS[name][0], cells) for name, cells in timed.items()]
    for graph in W5_GRAPHS if cold else ():
        for kind in ("cold", "warm"):
            rows.append((f"W5 {kind} {graph}", "s",
                         {c: cell for (k, g, c), cell in cold.items() if (k, g) == (kind, graph)}))
    other = watch.other_share()
    meta = {"when": time.strftime("%Y-%m-%d %H:%M"), "versions": versions(), "mode": args.mode,
            "rounds": args.rounds, "quick": args.quick, "threads": args.threads,
            "other_cpu_share": other,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "blas": blas_setup()}
    report(rows, columns, notes, meta)
    if cold:
        w5_detail(cold, columns)
    if args.json:
        raw = {label: {c: {"times": cell.times, "calls": cell.calls, "setup_s": cell.setup_s,
                           "error": cell.error, "mismatch": cell.mismatch, "detail": cell.detail}
                       for c, cell in cells.items()} for label, _, cells in rows}
        Path(args.json).write_text(json.dumps({"meta": meta, "cells": raw}, indent=1))


if __name__ == "__main__":
    main()
