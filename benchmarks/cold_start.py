"""W5 child process: import one peer, build one training step (W2 or W4), compile it
and run it once, then print the timings and the clock time of that first result as
one JSON line. run.py starts it with the cache folders set in the environment; it is
not meant to be run by hand."""
import time

T_START = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(1, str(HERE.parent))          # symgraph from the checkout

from common import run_once  # noqa: E402
from workloads import COLD_START, make_data  # noqa: E402


def main():
    module, variant, graph = sys.argv[1], sys.argv[2] or None, sys.argv[3]
    t0 = time.perf_counter()
    mod = importlib.import_module(module)
    if hasattr(mod, "set_compiledir"):        # peers configured in code rather than env
        mod.set_compiledir(os.path.join(os.environ["SG_BENCH_CACHE_DIR"], "compiledir"))
    build = mod.workloads(variant)[graph]
    t1 = time.perf_counter()
    data = make_data(graph, COLD_START)
    t2 = time.perf_counter()
    run_once(build(data))
    t3 = time.perf_counter()
    result = {"first_result_at": time.time(), "numpy_import_s": t0 - T_START,
              "import_s": t1 - t0, "build_compile_run_s": t3 - t2}
    if hasattr(mod, "finish"):                # a background compile fills the cache
        mod.finish()
    if hasattr(mod, "cache_stats"):
        try:
            result["cache"] = mod.cache_stats()
        except Exception as exc:              # noqa: BLE001 - informative only
            result["cache"] = repr(exc)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
