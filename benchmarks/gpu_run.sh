#!/usr/bin/env bash
# One command for a machine with one NVIDIA GPU (no internet needed), run from
# the repository root:
#
#     bash benchmarks/gpu_run.sh            # tests, then the full benchmark
#     bash benchmarks/gpu_run.sh --quick    # tests, then the benchmark's small sizes
#
# Makes symgraph importable (editable install without dependencies, else
# PYTHONPATH), runs the CUDA tests on the GPU (the simulator off), then
# benchmarks/gpu.py.  Everything goes to "$OUT" when set (the device tool's
# output folder), else ./gpu_results.  Each stage has a time limit, so the
# whole run stays under 8 minutes; extra arguments go to gpu.py.
set -u

# on a GPU every kernel is compiled by NVVM on its first launch (about half a
# second each): the op table in cuda mode (thousands of kernels) is the CI
# simulator's job; here the device semantics, training, and the products
TESTS="${TESTS:-tests/test_cuda_sim.py tests/test_cuda_blas.py}"
TEST_MODES="${TEST_MODES:-cuda}"
TEST_LIMIT_S=200
BENCH_LIMIT_S=230
PYTHON="${PYTHON:-python3}"

cd "$(dirname "$0")/.." || exit 1
RESULTS="${OUT:-$PWD/gpu_results}"
mkdir -p "$RESULTS"
unset NUMBA_ENABLE_CUDASIM
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
status=0

{
    date -u
    nvidia-smi || echo "nvidia-smi failed"
    "$PYTHON" --version
    "$PYTHON" -m pip list 2>/dev/null | grep -iE "numba|cuda|cupy|torch|jax|numpy|nvidia" || true
} > "$RESULTS/environment.txt" 2>&1

# no build isolation: it would fetch setuptools from the network
"$PYTHON" -m pip install --no-deps --no-build-isolation -e . > "$RESULTS/install.log" 2>&1 \
    || echo "pip install failed (see install.log); symgraph comes from PYTHONPATH"

echo "== tests (limit ${TEST_LIMIT_S}s): $TESTS"
if "$PYTHON" -m pytest --version > /dev/null 2>&1; then
    # shellcheck disable=SC2086  # TESTS is a list of globs
    SYMGRAPH_TEST_MODES="$TEST_MODES" timeout "$TEST_LIMIT_S" \
        "$PYTHON" -m pytest $TESTS -x -q -rs 2>&1 | tee "$RESULTS/tests.log" | tail -25
    rc=${PIPESTATUS[0]}
    [ "$rc" = 124 ] && echo "tests: stopped after ${TEST_LIMIT_S}s"
    [ "$rc" != 0 ] && status=1
else
    echo "pytest not installed: tests skipped" | tee "$RESULTS/tests.log"
fi

echo "== benchmark (limit ${BENCH_LIMIT_S}s)"
# tables go to stdout (bench.md); progress, notes and each table as it comes to bench.log
timeout "$BENCH_LIMIT_S" "$PYTHON" benchmarks/gpu.py "$@" \
    > "$RESULTS/bench.md" 2> "$RESULTS/bench.log"
rc=$?
[ "$rc" = 124 ] && echo "benchmark: stopped after ${BENCH_LIMIT_S}s (bench.log has the finished tables)"
[ "$rc" != 0 ] && status=1
tail -40 "$RESULTS/bench.log"
cat "$RESULTS/bench.md"
echo "== results in $RESULTS"
exit $status
