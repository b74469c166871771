"""mode='cuda' in CI, where there is no GPU.

The backend-comparison tests (the op table, the tutorial, the LXMLS MLP and
logistic regression with their updates, test_cuda_sim.py) run in a child
pytest on Numba's CUDA simulator, recording every kernel they launch.  The
simulator does not type-check kernels, so each recorded kernel is then
compiled here to PTX for a real GPU (compute capability 9.0), which needs
only the toolkit wheels of the ``[cuda]`` extra.  On a machine with a GPU,
benchmarks/gpu_run.sh runs the same tests on the device.
"""
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
SIMULATOR_SUITE = [
    "tests/test_ops.py::test_matches_numpy",
    "tests/test_grad.py::test_lxmls_mlp_matches_numpy_backprop",
    # the tutorial's training runs 300 steps of a 400x784 product: too slow for
    # the simulator; test_cuda_sim.py trains the same program on a small problem
    "tests/test_tutorial.py", "-k", "not logistic_regression_training",
    "tests/test_cuda_sim.py",
    # scan (its steps' kernels launched by the driver) and ifelse (only the branch taken)
    "tests/test_scan.py", "tests/test_ifelse.py",
]


def _toolkit_problem():
    try:
        from numba import cuda
        cuda.compile_ptx(lambda a: None, "void(float32[:])", cc=(9, 0))
    except Exception as exc:  # noqa: BLE001 - any failure means: no toolkit here
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="module")
def simulator_run(tmp_path_factory):
    problem = _toolkit_problem()
    if problem and os.environ.get("CI"):
        pytest.fail(f"CI must install the [cuda] extra's toolkit wheels: {problem}")
    if problem:
        pytest.skip(f"numba-cuda and its toolkit wheels are not installed ({problem})")
    record = tmp_path_factory.mktemp("cuda") / "kernels.jsonl"
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", SYMGRAPH_TEST_MODES="cuda",
               SYMGRAPH_TEST_MODE="cuda", SYMGRAPH_CUDA_RECORD=str(record))
    # (pyproject already passes -q: a second one hides the summary line read below)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           *SIMULATOR_SUITE], cwd=ROOT, env=env, capture_output=True, text=True)
    return done, record


def test_backend_comparisons_pass_in_cuda_mode_on_the_simulator(simulator_run):
    done, _ = simulator_run
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
    counts = re.search(r"(\d+) passed", done.stdout)
    assert counts and int(counts.group(1)) > 600, done.stdout[-2000:]


def test_every_kernel_they_launch_compiles_for_a_gpu(simulator_run):
    sys.path.insert(0, str(ROOT / "tests"))
    import cuda_ptx
    _, record = simulator_run
    ptx = cuda_ptx.compile_all(record)
    sources, _ = cuda_ptx.recorded(record)
    assert len(ptx) > 100, "the simulator run launched fewer kernels than the op table has"
    # float32 stays float32: a kernel whose arguments hold no float64 (the
    # float64 scalar slab aside: loading from it is a conversion, not arithmetic)
    # and whose source names no float64 must not compute in float64 (Numba
    # promotes a stray Python float silently).  libdevice's sinf, cosf and tanf
    # reduce huge arguments with double multiplies of their own: left out.
    arithmetic = re.compile(r"^\s*(?!ld|st|cvt|mov|\.reg)[\w.]*\.f64\b", re.M)
    checked = 0
    for (what, sig), text in ptx.items():
        args = re.findall(r"\w+(?:\[[:, ]*\])?", sig[len("void("):-1])[2:]
        if not any("float32" in a for a in args) or any("float64" in a for a in args):
            continue
        name, _, key = what.partition(" of program ")
        source = _kernel_source(sources[key], name) if key else "float64"
        if "float64" in source or re.search(r"math\.(sin|cos|tan)\(", source):
            continue
        checked += 1
        assert not arithmetic.search(text), f"{what} ({sig}) computes in float64:\n{source}"
    assert checked >= 50


def _kernel_source(module_source, name):
    start = module_source.index(f"def {name}(")
    ends = [e for e in (module_source.find("\n@cuda.jit", start),
                        module_source.find("\ndef program(", start)) if e > 0]
    return module_source[start:min(ends)]


def test_without_a_gpu_cuda_mode_says_what_is_missing():
    probe = subprocess.run([sys.executable, "-c", "from numba import cuda; "
                            "print(cuda.is_available())"], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items()
                                if k != "NUMBA_ENABLE_CUDASIM"})
    if probe.stdout.strip() == "True":
        pytest.skip("this machine has a GPU")
    code = ("import symgraph as sg, symgraph.tensor as T\n"
            "x = T.dvector('x')\n"
            "try:\n"
            "    sg.function([x], x + 1, mode='cuda')\n"
            "except RuntimeError as e:\n"
            "    print(e)\n")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "mode='cuda' cannot run here" in done.stdout
    assert re.search(r"no usable NVIDIA GPU|CUDA driver|numba-cuda|symgraph\[cuda\]", done.stdout)
