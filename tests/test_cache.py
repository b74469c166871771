"""The disk cache of compiled programs: a second process loads instead of
compiling; a change that matters (a constant, a broadcast flag) makes a new
program; ``symgraph cache clear`` empties the folder."""
import glob
import json
import os
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
    import json
    import numpy as np
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.compile import cache

    x = T.dmatrix("x")
    w = sg.shared(np.linspace(-1, 1, 12).reshape(4, 3), name="w")
    b = sg.shared(np.zeros((1, 3)), name="b", broadcastable=(True, False))
    cost = T.mean(T.tanh(T.dot(x, w) + b) ** 2)
    step = sg.function([x], cost, updates=[(v, v - 0.1 * T.grad(cost, v)) for v in (w, b)],
                       mode="numba")
    value = step(np.ones((5, 4)))
    print(json.dumps({"stats": cache.stats, "key": step._thunk.key, "cost": float(value)}))
""")


@pytest.fixture
def folders(tmp_path):
    env = dict(os.environ)
    env["SYMGRAPH_FLAGS"] = ",".join(filter(None, [env.get("SYMGRAPH_FLAGS"),
                                                   f"compiledir={tmp_path / 'compiledir'}"]))
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, env.get("PYTHONPATH")]))
    return tmp_path, env


def _child(env, code=CHILD):
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _index_files(tmp_path):
    return sorted(glob.glob(str(tmp_path / "**" / "*.nbi"), recursive=True))


def test_a_second_process_loads_the_program_from_disk(folders):
    tmp_path, env = folders
    first = _child(env)
    assert first["stats"]["compiled"] == 1 and first["stats"]["loaded"] == 0
    index = _index_files(tmp_path)
    assert index, "Numba wrote no cache index"
    stamps = {f: os.stat(f).st_mtime_ns for f in index}
    programs = glob.glob(str(tmp_path / "compiledir" / "sg_*.py"))
    assert [os.path.basename(p) for p in programs] == [f"sg_{first['key']}.py"]

    second = _child(env)
    assert second["stats"]["compiled"] == 0 and second["stats"]["loaded"] == 1
    assert second["key"] == first["key"] and second["cost"] == first["cost"]
    # nothing was rewritten: Numba only read its cache
    assert {f: os.stat(f).st_mtime_ns for f in _index_files(tmp_path)} == stamps


def test_cache_clear_command(folders):
    tmp_path, env = folders
    _child(env)
    assert glob.glob(str(tmp_path / "compiledir" / "sg_*.py"))
    proc = subprocess.run([sys.executable, "-m", "symgraph", "cache", "clear"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "removed" in proc.stdout
    assert not glob.glob(str(tmp_path / "compiledir" / "sg_*"))
    assert _child(env)["stats"]["compiled"] == 1   # compiled again after clearing


@pytest.fixture
def compiledir(tmp_path):
    old = sg.config.compiledir
    sg.config.compiledir = str(tmp_path)
    yield tmp_path
    sg.config.compiledir = old


def _key(inputs, output):
    return sg.function(inputs, output, mode="numba")._thunk.key


def test_changes_that_matter_make_new_programs(compiledir):
    x = T.dmatrix("x")
    base = _key([x], x * 2.0)
    assert _key([x], x * 2.0) == base                               # same graph, same program
    assert _key([x], x * 3.0) != base                               # a constant value
    row, mat = T.drow("r"), T.dmatrix("m")
    assert _key([x, row], x + row) != _key([x, mat], x + mat)       # a broadcast flag
    f = T.fmatrix("f")
    assert _key([f], f * 2.0) != base                               # a dtype
    assert len(glob.glob(str(compiledir / "sg_*.py"))) == 5


def test_the_same_graph_reuses_the_program(compiledir):
    x = T.dvector("x")
    before = dict(cache.stats)
    k1 = _key([x], T.exp(x) + 1)
    y = T.dvector("y")            # another variable, same types and ops: same program
    k2 = _key([y], T.exp(y) + 1)
    assert k1 == k2
    assert cache.stats["compiled"] - before["compiled"] <= 1
    assert cache.stats["reused"] - before["reused"] >= 1


def test_large_constants_are_arguments_not_source(compiledir, rng):
    x = T.dvector("x")
    t1, t2 = rng.random(500), rng.random(500)
    f1 = sg.function([x], x + t1, mode="numba")
    f2 = sg.function([x], x + t2, mode="numba")
    assert f1._thunk.key == f2._thunk.key          # one program for both
    v = rng.random(500)
    np.testing.assert_allclose(f1(v), v + t1)
    np.testing.assert_allclose(f2(v), v + t2)


def test_a_program_in_use_is_written_to_a_new_compiledir(tmp_path):
    # a function still alive keeps its program in memory; switching compiledir
    # must still leave the source of every program used in the new folder
    x = T.dmatrix("x")
    first, second = tmp_path / "a", tmp_path / "b"
    with sg.config.change(compiledir=str(first)):
        f = sg.function([x], x * 7.0, mode="numba")
    with sg.config.change(compiledir=str(second)):
        g = sg.function([x], x * 7.0, mode="numba")
    assert f._thunk.key == g._thunk.key
    assert [os.path.basename(p) for p in glob.glob(str(second / "sg_*.py"))] == \
        [f"sg_{g._thunk.key}.py"]
    np.testing.assert_array_equal(g(np.ones((1, 2))), [[7.0, 7.0]])


MEMORY_CHILD = textwrap.dedent("""
    import gc, json, os
    import numpy as np
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.compile import cache

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    x = T.dvector("x")
    def make(k):      # a new program for each k: the constants are in its source
        return sg.function([x], T.sum(T.exp(x * (k + 2.0)) + k), mode="numba")

    make(-1)(np.ones(3))
    gc.collect()
    start = rss_mb()
    for k in range(150):
        f = make(k)
        assert np.isclose(f(np.ones(3)), 3 * (np.exp(k + 2.0) + k))
        del f
    gc.collect()
    print(json.dumps({"growth": rss_mb() - start, "stats": cache.stats}))
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/statm")
def test_compiling_150_functions_keeps_memory_bounded(folders):
    # Numba never frees machine code (~1 MB a program): past the first few,
    # programs are compiled by a helper process and only loaded here
    _, env = folders
    out = _child(env, MEMORY_CHILD)
    assert out["stats"]["compiled"] == sg.config.compile_in_process
    assert out["stats"]["compiled_elsewhere"] == 151 - sg.config.compile_in_process
    assert out["growth"] < 50, out


def _compile_new_program(scale):
    """A function whose program is new to this process (the constant is in its
    source), and how the cache counts moved while it was made."""
    before = dict(cache.stats)
    x = T.dvector("x")
    f = sg.function([x], T.sum(x * scale), mode="numba")
    assert f(np.ones(2)) == 2 * scale
    return f, {k: cache.stats[k] - before[k] for k in ("compiled", "compiled_elsewhere")}


def test_a_failing_compile_helper_means_compiling_here(compiledir, monkeypatch):
    from symgraph.compile.numba_cpu import compile_worker

    def broken(*args):
        raise OSError("cannot start")
    monkeypatch.setattr(compile_worker, "_running", broken)
    monkeypatch.setattr(sg.config, "compile_in_process", 0)
    _, moved = _compile_new_program(31.25)
    assert moved == {"compiled": 1, "compiled_elsewhere": 0}


def test_the_compile_helper_compiles_into_the_disk_cache(compiledir, monkeypatch):
    monkeypatch.setattr(sg.config, "compile_in_process", 0)
    f, moved = _compile_new_program(17.5)
    assert moved == {"compiled": 0, "compiled_elsewhere": 1}
    assert glob.glob(str(compiledir / f"sg_{f._thunk.key}.py"))
