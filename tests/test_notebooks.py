"""The notebooks in examples/notebooks/: stored without outputs, and run top to bottom.

They run in a fresh Jupyter kernel (nbclient + ipykernel, the `test` extra),
with the working folder a temporary one.  The kernel inherits this process's
environment (so it compiles into the suite's temporary compiledir), with the
backend named by SYMGRAPH_TEST_MODE, else the reference backend: the tutorial
compiles six functions, and with Numba that alone is half a minute on a busy
2-core machine (CI's SYMGRAPH_TEST_MODE=numba run covers the compiled path).
"""
import os
import pathlib

import pytest

nbformat = pytest.importorskip("nbformat")

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "examples" / "notebooks")
                   .glob("*.ipynb"))


def test_there_is_a_tutorial():
    assert "tutorial.ipynb" in [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: cell {k} has outputs; clear them before committing " \
                f"(jupyter nbconvert --clear-output --inplace {path.name})"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    mode = os.environ.get("SYMGRAPH_TEST_MODE") or "python"
    flags = os.environ.get("SYMGRAPH_FLAGS", "")
    monkeypatch.setenv("SYMGRAPH_FLAGS", ",".join(filter(None, [flags, f"mode={mode}"])))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    # every code cell ran; the tutorial's training reached a useful accuracy
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    if path.name == "tutorial.ipynb":
        accuracy = float(text.split("test accuracy after")[1].split(":")[1].split()[0])
        assert accuracy > 0.9
        assert any("image/png" in o.get("data", {}) for o in outputs)     # the plot
