"""The package's layers can be seen: no module-level import cycle, every
function-local import says why it is late, and the code generator's shared part
(graph -> plan) runs without Numba (docs/architecture.md)."""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "symgraph")


def _modules():
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, ".")
                found[dotted[:-len(".__init__")] if dotted.endswith(".__init__") else dotted] = path
    return found


MODULES = _modules()


def _targets(module, node):
    """The symgraph modules an import statement in ``module`` names."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = module if MODULES[module].endswith("__init__.py") else module.rsplit(".", 1)[0]
    if node.level:
        parts = base.split(".")[:len(base.split(".")) - node.level + 1]
        target = ".".join(parts + ([node.module] if node.module else []))
    else:
        target = node.module
    return [f"{target}.{a.name}" if f"{target}.{a.name}" in MODULES else target for a in node.names]


def _imports():
    """{module: symgraph modules imported at module level}, [(module, line, text)
    of the imports inside functions without a comment saying why]."""
    edges, silent = {}, []
    for module, path in MODULES.items():
        source = open(path, encoding="utf-8").read()
        lines = source.splitlines()
        tree = ast.parse(source)
        top = {n for stmt in tree.body if not isinstance(stmt, (ast.FunctionDef, ast.ClassDef))
               for n in ast.walk(stmt) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            if node in top:
                targets = [t for t in _targets(module, node) if t.startswith("symgraph")]
                # importing a.b.c runs the packages a and a.b first
                implied = {".".join(t.split(".")[:k]) for t in targets for k in range(2, t.count(".") + 1)}
                edges.setdefault(module, set()).update(
                    t for t in set(targets) | implied
                    if t in MODULES and t != module and not module.startswith(t + "."))
            else:
                line, above = lines[node.lineno - 1], lines[node.lineno - 2].strip()
                if "#" not in line and not above.startswith("#"):
                    silent.append(f"{module}:{node.lineno}: {line.strip()}")
    return edges, silent


def _cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_module_level_import_cycle():
    edges, _ = _imports()
    assert _cycles(edges) == []


def test_the_cycle_check_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_late_import_says_why():
    _, silent = _imports()
    assert silent == [], "function-local imports without a comment:\n" + "\n".join(silent)


def test_the_shared_code_generator_imports_no_numba():
    code = ("import sys\n"
            "import numpy as np\n"
            "import symgraph as sg, symgraph.tensor as T\n"
            "from symgraph.compile import generate, plan, codegen, inplace, backend, debug\n"
            "x = T.dmatrix('x'); w = sg.shared(np.ones((3, 2)), name='w')\n"
            "cost = T.sum(T.tanh(T.dot(x, w)) ** 2)\n"
            "f = sg.function([x], cost, mode='python')\n"
            "program = generate.generate(f.graph)\n"
            "assert program.plan.steps and program.source is None\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'llvmlite')))\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["W2", "W3", "W4"])
def test_benchmark_programs_are_rendered_from_their_plan(name):
    # the CPU program of each benchmark graph is the CPU emitter's rendering of
    # the target-neutral plan, which carries what a GPU emitter needs too
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    try:
        import theano_style
        import workloads
    finally:
        sys.path.pop(0)
    import symgraph as sg
    import symgraph.tensor as T
    from symgraph.compile import plan as steps
    from symgraph.compile.generate import generate
    from symgraph.compile.numba_cpu import emit
    made = []

    def function(inputs, output, updates):
        made.append(sg.function(inputs, output, updates=updates, mode="numba"))
        return made[-1]

    def shared(value, name, broadcastable=None):
        return sg.shared(value, name=name, broadcastable=broadcastable)

    api = theano_style.Api(T=T, shared=shared, function=function, sigmoid=T.nnet.sigmoid,
                           softmax=T.nnet.softmax)
    theano_style.workloads(api)[name](workloads.make_data(name, workloads.QUICK))
    assert made
    for f in made:
        program = f._thunk.program
        kinds = {type(s).__name__ for s in steps.walk(program.plan.steps)}
        assert {"Alloc", "Loop", "Line"} <= kinds, kinds
        n_out = len(f.graph.outputs) - len(f.update_targets)
        n_in = len(f.graph.inputs) - len(f.shared)
        pairs = [(n_out + k, n_in + f.shared.index(t)) for k, t in enumerate(f.update_targets)]
        assert emit.rendered(generate(f.graph, update_pairs=pairs)).source == program.source
