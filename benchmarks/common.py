"""Timing helpers shared by the harness: batched timing, medians, the markdown table."""
import gc
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


@dataclass
class Case:
    """One workload built for one peer, ready to time.

    step() does one unit of work (one call, or one epoch for W4) and returns the
    cost or output; params() returns the current parameter values; sync() waits
    for a result of an asynchronous peer (JAX) so that the time covers the work.
    """
    step: Callable[[], object]
    params: Callable[[], list] = lambda: []
    sync: Optional[Callable[[object], object]] = None
    notes: list = field(default_factory=list)


def to_numpy(value):
    if hasattr(value, "detach"):          # torch tensor
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def compare(ref, got, rtol=1e-6, atol=1e-9):
    """Return None when `got` matches `ref` (lists of arrays), else a short message."""
    if len(ref) != len(got):
        return f"{len(got)} values, expected {len(ref)}"
    for i, (r, g) in enumerate(zip(ref, got)):
        r, g = to_numpy(r), to_numpy(g)
        if r.size != g.size:
            return f"value {i}: shape {g.shape}, expected {r.shape}"
        g = g.reshape(r.shape)
        if not np.allclose(g, r, rtol=rtol, atol=atol):
            err = float(np.max(np.abs(g.astype(np.float64) - r)))
            return f"value {i}: max abs error {err:.3g}"
    return None


def run_once(case):
    out = case.step()
    if case.sync is not None:
        case.sync(out)
    return out


def time_batch(case, n):
    """Seconds per call over n back-to-back calls (async peers are synced once at the end)."""
    step, sync = case.step, case.sync
    start = time.perf_counter()
    for _ in range(n):
        out = step()
    if sync is not None:
        sync(out)
    return (time.perf_counter() - start) / n


def calibrate(case, target_s):
    """(calls per timed batch so that a batch lasts about target_s, seconds per call)."""
    n = 1
    while True:
        per_call = time_batch(case, n)
        if per_call * n >= 0.02 or n >= 1 << 20:
            break
        n *= 4
    if per_call * n < 0.2:
        # Cheap to ask again: keep the fastest, so that one hiccup (another process
        # taking the core) does not leave this case with tiny, noisy batches.
        per_call = min(per_call, time_batch(case, n), time_batch(case, n))
    return max(1, round(target_s / per_call)), per_call


def measure(case, n, repeats):
    """Median seconds per call over `repeats` batches of n calls.

    An untimed warm-up batch comes first: the peer timed just before may have left
    its threads spinning and the allocator's freed memory unmapped. The GC is paused
    so that a collection of another peer's garbage is not billed here."""
    time_batch(case, max(1, n // 10))
    gc.collect()
    gc.disable()
    try:
        return statistics.median(time_batch(case, n) for _ in range(repeats))
    finally:
        gc.enable()


class CpuWatch:
    """How much of the machine other processes used while we ran (Linux only).
    Timings taken while this is high are suspect: the machine is shared."""

    def __init__(self):
        self.start = self._sample()

    @staticmethod
    def _sample():
        import os
        import resource
        try:
            with open("/proc/stat") as f:
                fields = [int(v) for v in f.readline().split()[1:]]
        except OSError:
            return None
        hz = os.sysconf("SC_CLK_TCK")
        busy = (sum(fields[:3]) + sum(fields[5:8])) / hz   # user nice system irq softirq steal
        own = sum(getattr(resource.getrusage(who), k)
                  for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
                  for k in ("ru_utime", "ru_stime"))
        return time.monotonic(), busy, own

    def other_share(self):
        import os
        end = self._sample()
        if self.start is None or end is None:
            return None
        wall = end[0] - self.start[0]
        other = (end[1] - self.start[1]) - (end[2] - self.start[2])
        return max(0.0, other / (wall * os.cpu_count()))


UNITS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6}


def fmt_time(seconds, unit):
    v = seconds / UNITS[unit]
    return f"{v:.0f}" if v >= 100 else f"{v:#.3g}"


def fmt_ratio(sg_seconds, peer_seconds):
    if sg_seconds is None or peer_seconds is None:
        return ""
    return f" [{sg_seconds / peer_seconds:.2f}x]"


def short_error(exc, limit=60):
    text = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def markdown_table(header, rows):
    """rows: lists of cell strings, the first being the row label."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(r) for r in rows]
    return "\n".join(out)
