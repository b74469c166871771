import os
import shutil
import tempfile

# The suite never writes outside the checkout or a temporary folder: unless the
# caller (CI) chose folders, compiled programs and Numba's machine code go to a
# temporary folder for this run.  Set before symgraph (and Numba) are imported,
# and in os.environ so that the suite's child processes inherit it.
_TMP = None
if "compiledir=" not in os.environ.get("SYMGRAPH_FLAGS", "") or "NUMBA_CACHE_DIR" not in os.environ:
    _TMP = tempfile.mkdtemp(prefix="symgraph-tests-")
    if "NUMBA_CACHE_DIR" not in os.environ:
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(_TMP, "numba")
    if "compiledir=" not in os.environ.get("SYMGRAPH_FLAGS", ""):
        os.environ["SYMGRAPH_FLAGS"] = ",".join(
            filter(None, [os.environ.get("SYMGRAPH_FLAGS"), f"compiledir={_TMP}/compiledir"]))

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import symgraph as sg  # noqa: E402

# The suite runs in the mode named by SYMGRAPH_TEST_MODE (default: the configured default),
# so the same tests check every backend.
MODE = os.environ.get("SYMGRAPH_TEST_MODE")
if MODE:
    sg.config.mode = MODE


def pytest_report_header(config):
    import importlib.metadata as md
    names = ("numpy", "numba", "llvmlite", "scipy", "sympy", "hypothesis")
    found = []
    for name in names:
        try:
            found.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            found.append(f"{name} missing")
    return "symgraph test deps: " + ", ".join(found) + f"; compiledir {sg.config.compiledir}"


def pytest_sessionfinish(session, exitstatus):
    if _TMP is not None:
        shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)
