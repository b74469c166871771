"""MkDocs hooks: the parts of the site that are generated from the code at build time.

* ``docs/optimizer.md`` holds a marker that is replaced by the pass list and
  every rule of the rule tables (symgraph/optimize/rules.py), each with its
  name (the key ``optimize_outputs(..., stats=Counter())`` counts it under),
  the comment written next to its row in the table (for a function rule
  without one, the function's docstring), and for pattern rows an example
  made by building the row's left side and running that one rule on it.  The
  page cannot drift from the rules.
* ``printing.md`` shows pictures drawn by ``sg.printing.pydotprint`` while the
  site is built, of the model that the page's first ```python block builds (run
  here, with ``mode='python'``: the optimized graph is the same for every
  backend, and nothing is compiled): the cost as built, the cost after the
  optimizer, and the compiled training step.  They are written into the site
  only (never into docs/).  Without graphviz's ``dot`` program each picture is
  a placeholder that says so.

Named in mkdocs.yml under ``hooks:``.
"""
import ast
import importlib
import inspect
import io
import os
import re
import shutil
import sys
import tokenize

from mkdocs.structure.files import File

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:              # the checkout's symgraph, installed or not
    sys.path.insert(0, ROOT)

RULES_MARKER = "<!-- generated: optimizer rules -->"
GROUPS = ("CANONICAL", "STABILIZE", "SPECIALIZE", "FOLD")


# ------------------------------------------------------------ the rule page
def _comments_by_line(source):
    comments = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            comments[tok.start[0]] = tok.string.lstrip("#").strip()
    return comments


def table_comments(module):
    """{group name: [the comment written for each row, in order]} read from the
    source of the rules module: a comment at the end of the row's lines, else
    the comment lines just above the row."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    comments = _comments_by_line(source)
    found = {}
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name) and node.targets[0].id in GROUPS):
            continue
        if not isinstance(node.value, ast.List):
            raise ValueError(f"{node.targets[0].id} in {module.__name__} is not a list literal: "
                             f"docs/hooks.py cannot read its rows' comments")
        texts, previous_end = [], node.value.lineno
        for elt in node.value.elts:
            trailing = [comments[n] for n in range(elt.lineno, elt.end_lineno + 1) if n in comments
                        and not lines[n - 1].lstrip().startswith("#")]
            above, n = [], elt.lineno - 1
            while n > previous_end and lines[n - 1].lstrip().startswith("#"):
                above.insert(0, comments[n])
                n -= 1
            texts.append(" ".join(trailing or above))
            previous_end = elt.end_lineno
        found[node.targets[0].id] = texts
    return found


def _code(text):
    text = str(text).replace("|", "\\|")
    return f"`{text}`" if text else ""


def _prose(text):
    """A docstring or comment as one line of a table cell (reST's ``x`` as `x`)."""
    text = re.sub(r"``([^`]+)``", r"`\1`", " ".join(text.split()))
    return text.replace("|", "/")


def _example(rule):
    """(before, after) as text for a pattern rule, by running only that rule on
    its own left side; None where the left side cannot be built alone."""
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.optimize.engine import RewritePass
    from symgraph.optimize.pattern import instantiate
    names = {}

    def variable(name):
        if name not in names:
            names[name] = T.dvector(name)
        return names[name]

    class Bindings(dict):
        def __missing__(self, name):
            return variable(name)
    try:
        before = instantiate(rule.lhs, Bindings())
        after = RewritePass("one rule", [rule]).run([before])[0]
    except Exception:
        return None
    if after is before:
        return None
    return sg.pp(before), sg.pp(after)


def _rule_row(k, rule, comment):
    from symgraph.optimize.pattern import Rule
    if isinstance(rule, Rule):
        kind = "pattern" + (" (guarded)" if rule.where is not None else "")
        # a right side that is a function of the bindings needs real types to say
        # anything (which casts, which power): only template rows get an example
        example = None if callable(rule.rhs) and not hasattr(rule.rhs, "instantiate") else \
            _example(rule)
        example = f"{_code(example[0])} → {_code(example[1])}" if example else ""
    else:
        roots = rule.root if isinstance(rule.root, tuple) else (rule.root,)
        fn = rule.fn
        kind = (f"function {_code(fn.__module__.rsplit('.', 1)[-1] + '.' + fn.__name__)} on "
                + ", ".join(r.__name__ for r in roots))
        doc = inspect.getdoc(fn) or _first_paragraph(sys.modules[fn.__module__])
        if doc and not comment:
            comment = doc.split("\n\n")[0]
        example = ""
    # the name is what optimize_outputs(..., stats=Counter()) counts
    return f"| {k} | {_code(rule.name)} | {kind} | {_prose(comment)} | {example} |"


def _first_paragraph(module):
    doc = inspect.getdoc(module) or ""
    return _prose(doc.split("\n\n")[0])


def _split_into_groups(rules, groups):
    """The names of the groups whose concatenation is ``rules``."""
    names, i = [], 0
    while i < len(rules):
        for name, group in groups.items():
            if group and len(rules) - i >= len(group) and \
                    all(a is b for a, b in zip(rules[i:i + len(group)], group)):
                names.append(name)
                i += len(group)
                break
        else:
            raise ValueError(f"a pass's rules are not a concatenation of {list(groups)}")
    return names


def rules_markdown():
    """The generated part of optimizer.md."""
    from symgraph.optimize import fusion, merge, rules, sympy_pass
    from symgraph.optimize.passes import OPTIMIZERS, PASSES
    groups = {name: getattr(rules, name) for name in GROUPS}
    comments = table_comments(rules)
    for name, group in groups.items():
        if len(comments[name]) != len(group):
            raise ValueError(f"rules.{name}: {len(group)} rules but {len(comments[name])} rows "
                             f"in its source")
    out = ["## The passes, in order", "",
           "| # | pass | in optimizers | rule groups | what it does |", "|---|---|---|---|---|"]
    for k, p in enumerate(PASSES, 1):
        inner = getattr(p, "rewrite_pass", p)
        used = ", ".join(f"`{o}`" for o, names in OPTIMIZERS.items() if p.name in names) or "—"
        members = _split_into_groups(getattr(inner, "rules", []), groups)
        if p.name == "merge":
            what = _first_paragraph(merge)
        elif p.name == "sympy":
            what = _first_paragraph(sympy_pass)
        elif p.name == "fusion":
            what = _first_paragraph(fusion)
        elif not hasattr(inner, "rules"):
            # a pass of its own kind: its module says what it does
            what = _first_paragraph(importlib.import_module(type(p).__module__))
        else:
            what = "sweeps its rule groups over the graph, bottom-up, to a fixed point"
        groups_cell = " + ".join(f"[{m}](#{m.lower()})" for m in members) or "—"
        out.append(f"| {k} | `{p.name}` | {used} | {groups_cell} | {what} |")
    out += ["", "Optimizer settings (`sg.config.optimizer`): " +
            "; ".join(f"`{o}`: {', '.join(names) or 'no pass'}" for o, names in OPTIMIZERS.items()),
            ""]
    total = 0
    for name, group in groups.items():
        out += [f"## {name.capitalize()} rules ({len(group)}) {{#{name.lower()}}}", "",
                "| # | rule | kind | what it does (the table's comment) | example (this rule run "
                "alone) |",
                "|---|---|---|---|---|"]
        for k, (rule, comment) in enumerate(zip(group, comments[name]), 1):
            out.append(_rule_row(k, rule, comment))
        out.append("")
        total += len(group)
    out.insert(0, f"*Generated from `symgraph/optimize/rules.py` and `passes.py` when this "
                  f"site was built: {len(PASSES)} passes, {total} rules.*\n")
    return "\n".join(out)


# ---------------------------------------------------------------- pictures
PLACEHOLDER = """<svg xmlns="http://www.w3.org/2000/svg" width="520" height="60">
<rect width="520" height="60" fill="#f5f5f5" stroke="#999"/>
<text x="12" y="35" font-family="sans-serif" font-size="14">graphviz's dot was not installed
when this site was built: no picture.</text></svg>
"""


def _first_python_block(path):
    with open(path, encoding="utf-8") as fh:
        found = re.search(r"^```python\n(.*?)^```", fh.read(), re.S | re.M)
    if found is None:
        raise ValueError(f"{path} has no ```python block to draw pictures from")
    return found.group(1)


def _pictures(docs_dir):
    """{site path: SVG text}: the pictures printing.md shows, of the model its
    first ```python block builds (``cost`` and ``step``)."""
    import symgraph as sg
    page = os.path.join(docs_dir, "printing.md")
    namespace = {"__name__": "printing_md"}
    with sg.config.change(mode="python"):
        exec(compile(_first_python_block(page), page, "exec"), namespace)
    cost, step = namespace["cost"], namespace["step"]
    drawings = {"img/cost.svg": cost, "img/cost_optimized.svg": sg.optimize(cost),
                "img/step.svg": step}
    if not shutil.which("dot"):
        return {path: PLACEHOLDER for path in drawings}
    pictures = {}
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for path, obj in drawings.items():
            written = sg.printing.pydotprint(obj, outfile=os.path.join(tmp, "picture.svg"))
            with open(written, encoding="utf-8") as fh:
                pictures[path] = fh.read()
    return pictures


# ------------------------------------------------------------------- hooks
def on_files(files, config):
    for path, svg in _pictures(config["docs_dir"]).items():
        files.append(File.generated(config, path, content=svg))
    return files


def on_page_markdown(markdown, page, config, files):
    if RULES_MARKER in markdown:
        markdown = markdown.replace(RULES_MARKER, rules_markdown())
    return markdown
