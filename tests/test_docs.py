"""The documentation site: it builds (``mkdocs build --strict``), its generated
optimizer page lists every rule, the name table of "Coming from Theano" matches
the code, and every ```python block of docs/*.md and README.md runs.

The blocks are executed by mktestdocs, one page at a time, each page's blocks
in order in one namespace (``memory=True``), so a block may use what an earlier
block of its page defined.  Blocks that are not meant to run are ```text,
```bash or ```console.
"""
import html
import importlib
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import symgraph as sg

ROOT = pathlib.Path(__file__).resolve().parent.parent
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]


def _missing(*modules):
    def absent(name):
        try:
            return importlib.util.find_spec(name) is None
        except ModuleNotFoundError:       # its parent package is missing
            return True
    return [m for m in modules if absent(m)]


# ---------------------------------------------------------------- the site
@pytest.fixture(scope="module")
def site(tmp_path_factory):
    missing = _missing("mkdocs", "material", "mkdocstrings", "mkdocstrings_handlers.python")
    if missing:
        pytest.skip(f"the docs tools are not installed ({', '.join(missing)}): "
                    f"pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                           str(out)], cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def _text(page):
    """The text of a built page, tags removed and entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text(encoding="utf-8")))


def test_site_builds_and_lists_every_rule(site):
    from symgraph.optimize import rules
    from symgraph.optimize.passes import PASSES
    text = _text(site / "optimizer" / "index.html")
    groups = {name: getattr(rules, name) for name in ("CANONICAL", "STABILIZE", "SPECIALIZE",
                                                      "FOLD")}
    total = sum(len(g) for g in groups.values())
    assert f"{len(PASSES)} passes, {total} rules" in text
    for name, group in groups.items():
        assert f"{name.capitalize()} rules ({len(group)})" in text
        for rule in group:
            assert rule.name in text, f"rule {rule!r} of {name} is not on the optimizer page"
    for p in PASSES:
        assert p.name in text
    # a pattern row shows an example made by running that rule alone
    assert "log(softmax(x)) → log_softmax(x)" in text


def test_site_pictures(site):
    for picture in ("img/cost.svg", "img/cost_optimized.svg", "img/step.svg"):
        assert (site / picture).read_text(encoding="utf-8").lstrip().startswith(("<svg", "<?xml"))
    assert 'src="../img/step.svg"' in (site / "printing" / "index.html").read_text("utf-8")


def test_site_api_shows_every_listed_name(site):
    """mkdocstrings leaves out a listed member it cannot find: check each one."""
    built = set(re.findall(r'id="(symgraph[^"]+)"',
                           (site / "api" / "index.html").read_text(encoding="utf-8")))
    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    listed = 0
    for block in re.finditer(r"^::: (\S+)\n((?:    .*\n)*)", page, re.M):
        path, options = block.groups()
        members = re.search(r"members: \[([^\]]*)\]", options)
        names = [f"{path}.{m.strip()}" for m in members.group(1).split(",")] if members else [path]
        for name in names:
            assert name in built, f"docs/api.md lists {name}, but the built page has no entry"
            listed += 1
    assert listed > 100


# ------------------------------------------------- the Theano name table
_NAMESPACES = {"T": "symgraph.tensor", "pt": "symgraph.tensor", "theano": "symgraph",
               "pytensor": "symgraph", "sg": "symgraph"}


def _resolve(dotted):
    """The object at a Theano-style dotted name read in symgraph, or None."""
    head, *rest = dotted.split(".")
    obj = importlib.import_module(_NAMESPACES[head])
    for part in rest:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            try:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            except (ImportError, AttributeError):
                return None
    return obj


def _table_rows():
    rows = []
    for line in (ROOT / "docs" / "theano.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2] in ("same", "renamed", "missing"):
            rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[1]),
                         cells[2]))
    return rows


def test_theano_table_matches_the_code():
    rows = _table_rows()
    assert len(rows) > 40
    for theirs, ours, status in rows:
        for name in ours:
            assert _resolve(name) is not None, f"docs/theano.md: {name} does not exist"
        if status == "same":
            # the same object under the same name, Theano's module read as symgraph's
            assert len(theirs) == len(ours) and all(
                _resolve(a) is _resolve(b) for a, b in zip(theirs, ours)), \
                f"docs/theano.md: a 'same' row names {theirs} and {ours}"
        if status == "missing":
            assert not ours
            found = [n for n in theirs if _resolve(n) is not None]
            assert not found, f"docs/theano.md says {found} are missing, but they exist"


# ------------------------------------------------------- the code blocks
def _dot_text_as_picture(source, fmt):
    """Stands in for graphviz's ``dot``: an SVG holding the DOT text."""
    if fmt != "svg":
        return source.encode("utf-8")
    return (f'<svg xmlns="http://www.w3.org/2000/svg"><desc>{html.escape(source)}</desc>'
            f'</svg>').encode("utf-8")


@pytest.fixture
def page_sandbox(tmp_path, monkeypatch):
    """Each page runs in a temporary folder (blocks write pictures there) with
    the configuration restored after it.  Without graphviz's ``dot`` program,
    pictures are drawn as their DOT text (to_dot is still what runs), so the
    pages need no system package."""
    monkeypatch.chdir(tmp_path)
    if shutil.which("dot") is None:
        monkeypatch.setattr(sg.printing, "_render", _dot_text_as_picture)
    with sg.config.change():
        yield tmp_path


def _has_python(page):
    return re.search(r"^```python\s*$", page.read_text(encoding="utf-8"), re.M) is not None


@pytest.mark.parametrize("page", [p for p in PAGES if _has_python(p)],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_code_blocks_run(page, page_sandbox):
    mktestdocs = pytest.importorskip("mktestdocs", reason="mktestdocs is not installed: "
                                                          "pip install -e '.[test]'")
    mktestdocs.check_md_file(page, memory=True)
