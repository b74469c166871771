"""symgraph's command line (``symgraph ...``, also ``python -m symgraph ...``).

    symgraph version                     versions of symgraph and its dependencies, backends
    symgraph demo [--epochs N] [--mode M] [--out DIR]   the digits MLP demo (symgraph/demo.py)
    symgraph bench [--workload W2] [--quick] ...        benchmarks/run.py, from a checkout
    symgraph cache [info]                where the compiled programs are, how many, how large
    symgraph cache clear                 delete every compiled program

The cache folder is ``sg.config.compiledir`` (SYMGRAPH_FLAGS="compiledir=..." sets
it); its size limit is ``sg.config.cache_max_mb``.  ``demo`` and ``bench`` pass
their arguments on to their scripts (``symgraph demo --help``, ``symgraph bench --help``).
"""
import argparse
import importlib.util
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from . import __version__
from . import demo as demo_module
from .compile import cache as compiled_programs
from .config import config

# the repository root when symgraph runs from a checkout (editable install)
REPO = Path(__file__).resolve().parent.parent
BENCH_SCRIPT = REPO / "benchmarks" / "run.py"
DEPENDENCIES = ("numpy", "numba", "llvmlite", "scipy", "sympy")
# what the demo imports beyond symgraph's own dependencies (pip install "symgraph[examples]")
DEMO_EXTRAS = ("sklearn", "matplotlib", "tqdm")
PASS_THROUGH = ("demo", "bench")     # commands whose arguments go to their script


def _parser():
    parser = argparse.ArgumentParser(
        prog="symgraph", description=__doc__.split("\n")[0],
        epilog="'symgraph demo --help' and 'symgraph bench --help' list those scripts' options.")
    commands = parser.add_subparsers(dest="command", metavar="command")
    commands.add_parser("version", help="symgraph, Python and dependency versions; which "
                                        "backends are available")
    # add_help=False: --help (and every other argument) reaches the script's own parser
    commands.add_parser("demo", add_help=False,
                        help="train the digits MLP demo (--epochs N, --mode M, --out DIR)")
    commands.add_parser("bench", add_help=False,
                        help="run the benchmark suite, or one workload (--workload W2; "
                             "--quick for small sizes)")
    cache_cmd = commands.add_parser("cache", help="the folder of compiled programs")
    cache_cmd.add_argument("action", nargs="?", default="info", choices=["clear", "info"],
                           help="clear: delete every compiled program; info (default): where, "
                                "how many, how large")
    return parser


def main(argv=None):
    """Run one command; returns the exit code (0 on success)."""
    parser = _parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in PASS_THROUGH:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command is None:
        parser.print_help()
        return 0
    if args.command == "version":
        return version()
    if args.command == "demo":
        return demo(rest)
    if args.command == "bench":
        return bench(rest)
    return cache(args.action)


# ----------------------------------------------------------------- version
def _distribution_version(name):
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _importable(module):
    """'yes', or 'no (why)' when importing ``module`` fails."""
    try:
        importlib.import_module(module)
        return "yes"
    except Exception as exc:             # noqa: BLE001 - a broken install is reported, not raised
        first_line = (str(exc).splitlines() or [""])[0]
        return f"no ({type(exc).__name__}: {first_line})"


def _cuda_devices():
    """What numba.cuda sees, in words; never raises (numba-cuda or a driver may be absent)."""
    try:
        from numba import config as numba_config  # late: numba may be broken; reported, not raised
        from numba import cuda  # late: as above
    except Exception as exc:             # noqa: BLE001
        return f"numba.cuda cannot be imported ({type(exc).__name__})"
    try:
        simulator = bool(getattr(numba_config, "ENABLE_CUDASIM", 0))
        if not cuda.is_available():
            return "numba.cuda sees no GPU"
        if simulator:
            return "numba.cuda sees its simulator (NUMBA_ENABLE_CUDASIM=1), not a GPU"
        names = []
        for gpu in cuda.gpus:
            name = getattr(gpu, "name", None) or "a GPU"    # bytes in older numba-cuda
            names.append(name.decode() if isinstance(name, bytes) else str(name))
        return "numba.cuda sees " + (", ".join(names) or "a GPU")
    except Exception as exc:             # noqa: BLE001 - no driver, wrong driver, ...
        return f"numba.cuda could not query a GPU ({type(exc).__name__})"


def version():
    print(f"symgraph  {__version__} ({Path(__file__).resolve().parent})")
    print(f"python    {platform.python_version()} ({sys.executable})")
    for name in DEPENDENCIES:
        print(f"{name:<9} {_distribution_version(name)}")
    numba_ok = _importable("numba")
    devices = _cuda_devices() if numba_ok == "yes" else "numba is not importable"
    cuda_ok = "no"
    if numba_ok == "yes":
        from .compile.numba_cuda import cudalib   # late: it imports numba.cuda
        cuda_ok = "yes" if cudalib.problem() is None else "no"
    print("backends (mode=...):")
    print("  python   yes (NumPy reference, nothing compiled)")
    print(f"  numba    {numba_ok}" + (" (CPU; the default)" if numba_ok == "yes" else ""))
    print(f"  debug    {numba_ok}" + (" (runs numba and python and compares them)"
                                      if numba_ok == "yes" else ""))
    print(f"  cuda     {cuda_ok}; {devices}")
    print(f"default mode: {config.mode} (sg.config.mode, SYMGRAPH_FLAGS=\"mode=...\")")
    return 0


# ----------------------------------------------------------------- demo, bench
def demo(argv):
    try:
        return demo_module.main(argv)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in DEMO_EXTRAS:
            print(f"symgraph demo: {exc.name} is not installed; the demo needs the examples "
                  f"extra: pip install \"symgraph[examples]\"", file=sys.stderr)
            return 1
        raise


def bench(argv):
    """benchmarks/run.py in a child process: it reads --threads before NumPy loads,
    which this process has already done.  The table goes to stdout."""
    if not BENCH_SCRIPT.is_file() or not (REPO / "pyproject.toml").is_file():
        print("symgraph bench: the benchmark suite (benchmarks/run.py) is part of the source "
              "repository, not of the installed package; run this from a checkout "
              "(pip install -e .)", file=sys.stderr)
        return 1
    return subprocess.run([sys.executable, str(BENCH_SCRIPT), *argv]).returncode


# ----------------------------------------------------------------- cache
def cache(action):
    if action == "clear":
        folder = config.compiledir
        removed = compiled_programs.clear(folder)
        print(f"removed {removed} files from {compiled_programs.info(folder)['folder']}")
        return 0
    report = compiled_programs.info()
    state = ("used" + ("" if report["writable"] else ", read-only")) if report["trusted"] else \
        f"not used: {report['problem']}"
    print(f"folder:   {report['folder']} ({state})")
    print(f"numba:    {report['numba_folder']}")
    print(f"programs: {report['entries']}, {report['bytes'] / 1e6:.1f} MB "
          f"of {report['limit_mb']:g} MB (config.cache_max_mb; least recently used go first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
