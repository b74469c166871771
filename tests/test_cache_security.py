"""The disk cache runs only what symgraph wrote (issue 11): a tampered, planted or
damaged entry is reported, rebuilt and never executed; a folder someone else
may write to is not used; programs no function uses are released; the folder
keeps to config.cache_max_mb.  A second process is a subprocess."""
import gc
import glob
import hashlib
import hmac
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symgraph as sg
import symgraph.tensor as T
from symgraph.compile import cache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.compile import cache
    warnings.simplefilter("always")
    x = T.dvector("x")
    a, b = T.dvectors("a", "b")
    graphs = {"double": ([x], x * 2.0 + 1.0), "triple": ([x], x * 3.0 - 1.0),
              "square": ([a, b], (a + b) ** 2 - (a ** 2 + 2 * a * b + b ** 2) + 3 * a)}
    out = {}
    for name in sys.argv[1].split(","):
        inputs, output = graphs[name]
        f = sg.function(inputs, output, mode=sys.argv[2])
        value = f(*[np.arange(1.0, 4.0) + k for k in range(len(inputs))])
        out[name] = {"key": getattr(f._thunk, "key", None), "value": value.tolist()}
    print(json.dumps({"stats": cache.stats, "fns": out}))
""")
EXPECTED = {"double": [3.0, 5.0, 7.0], "triple": [2.0, 5.0, 8.0], "square": [3.0, 6.0, 9.0]}


@pytest.fixture
def env(tmp_path):
    env = dict(os.environ)
    flags = [f for f in env.get("SYMGRAPH_FLAGS", "").split(",") if f and "compiledir=" not in f]
    env["SYMGRAPH_FLAGS"] = ",".join(flags + [f"compiledir={tmp_path / 'compiledir'}"])
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return env


def _child(env, names, mode="numba"):
    """Run the graphs ``names`` in a new process: (its report, its stderr)."""
    proc = subprocess.run([sys.executable, "-c", CHILD, names, mode], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for name, fn in report["fns"].items():
        assert fn["value"] == EXPECTED[name], (name, proc.stderr)
    return report, proc.stderr


def _numba_files(tmp_path, key, ext):
    return glob.glob(str(tmp_path / "numba" / "**" / f"sg_{key}.*{ext}"), recursive=True)


def _writes_marker(marker):
    return f"open({str(marker)!r}, 'w').write('ran')\n"


class _Evil:
    """A pickle that writes a file when it is loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


# ------------------------------------------------------------- tampered entries

def test_tampered_sources_are_rebuilt_never_run(env, tmp_path):
    first, _ = _child(env, "double,triple")
    double, triple = (first["fns"][n]["key"] for n in ("double", "triple"))
    folder = tmp_path / "compiledir"
    marker = tmp_path / "ran"
    # another program's source under this key, and this one's with a line added
    (folder / f"sg_{double}.py").write_bytes((folder / f"sg_{triple}.py").read_bytes())
    with open(folder / f"sg_{triple}.py", "a") as f:
        f.write(_writes_marker(marker))
    second, stderr = _child(env, "double,triple")    # results checked in _child
    assert not marker.exists()
    for key in (double, triple):
        assert f"sg_{key}.py was not used" in stderr
        assert _writes_marker(marker) not in (folder / f"sg_{key}.py").read_text()
    third, stderr = _child(env, "double,triple")
    assert "not used" not in stderr and third["stats"]["loaded"] == 2


def test_a_replaced_numba_index_is_rebuilt_never_unpickled(env, tmp_path):
    first, _ = _child(env, "double")
    key = first["fns"]["double"]["key"]
    marker = tmp_path / "unpickled"
    index = _numba_files(tmp_path, key, ".nbi")
    assert index
    for path in index:
        with open(path, "wb") as f:
            f.write(pickle.dumps(_Evil(marker)))
    second, stderr = _child(env, "double")
    assert not marker.exists()
    assert "Numba's code for program" in stderr and f"sg_{key}" in stderr
    assert second["stats"]["compiled"] == 1
    third, stderr = _child(env, "double")
    assert third["stats"]["loaded"] == 1 and "not used" not in stderr


def test_damaged_entries_recover_by_themselves(env, tmp_path):
    first, _ = _child(env, "double,triple")
    double, triple = (first["fns"][n]["key"] for n in ("double", "triple"))
    source = tmp_path / "compiledir" / f"sg_{double}.py"
    source.write_text(source.read_text()[:40])              # truncated: no CHUNKS, SyntaxError
    for path in _numba_files(tmp_path, triple, ".nbc"):      # UnpicklingError
        with open(path, "r+b") as f:
            f.truncate(100)
    second, stderr = _child(env, "double,triple")
    assert "Traceback" not in stderr
    assert f"sg_{double}.py was not used" in stderr and f"sg_{triple}." in stderr
    third, stderr = _child(env, "double,triple")
    assert third["stats"]["loaded"] == 2 and "not used" not in stderr


def _verdicts(tmp_path):
    return tmp_path / "compiledir" / "sympy_clusters.json"


@pytest.mark.parametrize("forge", ["edited", "signed string"])
def test_edited_sympy_verdicts_are_not_evaluated(env, tmp_path, forge):
    _child(env, "square", mode="python")
    entries = json.loads(_verdicts(tmp_path).read_text())
    assert entries
    secret = (tmp_path / "compiledir" / "cache.key").read_bytes()
    for name, entry in entries.items():
        if forge == "edited":          # as the probe did: the signature no longer checks
            entry["value"] = ["Integer", 42]
        else:                          # signed with the real key: still parsed, never evaluated
            entry["value"] = "Integer(42)"
            payload = b"\0".join([b"sympy_clusters.json", name.encode(), b'"Integer(42)"'])
            entry["mac"] = hmac.new(secret, payload, hashlib.sha256).hexdigest()
    _verdicts(tmp_path).write_text(json.dumps(entries))
    _, stderr = _child(env, "square", mode="python")   # the result is checked: not 42
    if forge == "edited":
        assert "signature does not check" in stderr


# ------------------------------------------------------------- the folder

@pytest.fixture
def compiledir(tmp_path):
    with sg.config.change(compiledir=str(tmp_path / "compiledir")):
        yield tmp_path / "compiledir"


def _release():
    cache._recent.clear()
    gc.collect()


@pytest.mark.parametrize("unsafe", ["world-writable", "foreign owner"])
def test_a_planted_entry_in_an_unsafe_folder_is_not_used(compiledir, tmp_path, unsafe):
    x = T.dvector("x")
    f = sg.function([x], T.exp(x) * 2.0 - 0.5, mode="numba")
    key = f._thunk.key
    del f
    _release()
    folder = tmp_path / "planted"
    folder.mkdir()
    marker = tmp_path / "ran"
    (folder / f"sg_{key}.py").write_text(_writes_marker(marker) + "CHUNKS = []\nprogram = None\n")
    if unsafe == "world-writable":
        os.chmod(folder, 0o777)
    else:
        os.chown(folder, 12345, 12345)
    with sg.config.change(compiledir=str(folder)):
        with pytest.warns(cache.CacheWarning, match="planted is not used"):
            f = sg.function([x], T.exp(x) * 2.0 - 0.5, mode="numba")
        np.testing.assert_allclose(f(np.zeros(2)), [1.5, 1.5])
        private = cache.compiledir()
    assert not marker.exists()
    assert private != str(folder) and os.stat(private).st_mode & 0o777 == 0o700
    assert f._thunk.key == key and os.path.dirname(f._thunk.path) == private


def test_the_fallback_folder_is_private_not_shared(tmp_path):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    with sg.config.change(compiledir=str(not_a_folder)):
        with pytest.warns(cache.CacheWarning, match="not a folder"):
            private = cache.compiledir()
    assert os.path.basename(private) != f"symgraph-{os.getuid()}"     # the old guessable name
    assert os.stat(private).st_mode & 0o777 == 0o700
    assert os.stat(os.path.join(private, "cache.key")).st_mode & 0o777 == 0o600


# ------------------------------------------------------------- memory and size

MEMORY_CHILD = textwrap.dedent("""
    import gc, json, weakref
    import numpy as np
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.compile import cache

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096 / 1e6

    x = T.dvector("x")
    start, alive = rss(), []
    for k in range(cache.RECENT + 8):
        f = sg.function([x], x * float(k) + 0.25, mode="numba")
        f(np.ones(2))
        alive.append(weakref.ref(f._thunk.dispatcher))
        del f
    gc.collect()
    kept = sum(r() is not None for r in alive)
    cache._recent.clear()
    gc.collect()
    print(json.dumps({"kept": kept, "left": sum(r() is not None for r in alive),
                      "modules": sum(n.startswith("symgraph_programs") for n in __import__("sys").modules),
                      "rss_mb": rss() - start}))
""")


def test_deleted_functions_release_their_programs(env):
    proc = subprocess.run([sys.executable, "-c", MEMORY_CHILD], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["kept"] <= cache.RECENT          # the recently used stay, no more
    assert report["left"] == 0 and report["modules"] == 0, report


def test_the_disk_cache_keeps_to_its_size_limit(compiledir):
    x = T.dvector("x")

    def compile_(k):
        f = sg.function([x], x * float(k) - 7.0, mode="numba")
        return f._thunk.key, f

    first, f1 = compile_(1)
    second, f2 = compile_(2)
    sizes = cache.entries(str(compiledir))
    assert set(sizes) == {first, second}
    compile_(1)                                       # the first is used again: the second is older
    limit = (sizes[first][0] + sizes[second][0] * 1.5) / 1e6
    with sg.config.change(cache_max_mb=limit):
        third, f3 = compile_(3)
        left = cache.entries(str(compiledir))
    assert set(left) == {first, third}
    assert sum(size for size, _ in left.values()) <= limit * 1e6
    np.testing.assert_allclose(f2(np.ones(1)), [-5.0])  # an evicted program still runs in memory


def test_cache_command_reports_folder_entries_size_and_limit(env, tmp_path):
    _child(env, "double")
    proc = subprocess.run([sys.executable, "-m", "symgraph", "cache"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path / "compiledir") in proc.stdout
    assert "programs: 1," in proc.stdout and "of 1024 MB" in proc.stdout
