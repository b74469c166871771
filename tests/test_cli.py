"""The command line, run as users run it (``python -m symgraph ...`` in a child
process): version, cache info, bench for one workload, demo's options, errors.
The children inherit the suite's temporary compiledir and Numba cache
(SYMGRAPH_FLAGS, NUMBA_CACHE_DIR, set by conftest.py)."""
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import symgraph as sg
from symgraph import __main__ as cli

REPO = Path(__file__).resolve().parent.parent


def symgraph_cli(*args, timeout=120):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "symgraph", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)


def test_version_names_the_dependencies_and_backends():
    proc = symgraph_cli("version")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert sg.__version__ in out
    for name in ("numpy", "numba", "llvmlite", "sympy"):
        assert f"{name:<9} {metadata.version(name)}" in out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert set(lines) == {"python", "numba", "debug", "cuda"}
    assert lines["numba"].split()[1] == "yes" and lines["python"].split()[1] == "yes"
    assert "numba.cuda" in lines["cuda"]        # what it sees, or why it cannot tell


def test_cache_info_prints_the_folder():
    proc = symgraph_cli("cache", "info")
    assert proc.returncode == 0, proc.stderr
    assert f"folder:   {sg.config.compiledir}" in proc.stdout
    assert "programs:" in proc.stdout


def test_bench_one_workload_prints_its_row():
    proc = symgraph_cli("bench", "--workload", "W2", "--quick", "--rounds", "1",
                        "--peers", "symgraph,numpy", "--target-time", "0.01", timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| W")]
    assert len(rows) == 1 and rows[0].startswith("| W2 "), proc.stdout
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[1] == "µs" and not cells[2].startswith(("error", "-")), rows[0]


def test_bench_without_the_benchmarks_folder_says_so(monkeypatch, tmp_path, capsys):
    # an installed wheel has no benchmarks/ next to the package
    monkeypatch.setattr(cli, "BENCH_SCRIPT", tmp_path / "benchmarks" / "run.py")
    assert cli.main(["bench", "--workload", "W2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "benchmarks/run.py" in err and "checkout" in err


def test_demo_passes_its_arguments_on():
    proc = symgraph_cli("demo", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: symgraph demo")
    assert "--epochs" in proc.stdout and "--out" in proc.stdout


def test_no_command_prints_help():
    proc = symgraph_cli()
    assert proc.returncode == 0
    for command in ("version", "demo", "bench", "cache"):
        assert command in proc.stdout


def test_unknown_command_or_argument_fails_briefly():
    proc = symgraph_cli("frobnicate")
    assert proc.returncode == 2
    assert "invalid choice: 'frobnicate'" in proc.stderr and len(proc.stderr.splitlines()) <= 3
    proc = symgraph_cli("version", "--verbose")
    assert proc.returncode == 2 and "unrecognized arguments: --verbose" in proc.stderr
