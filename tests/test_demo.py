"""The README's first command: the digits MLP demo trains to 95% and writes its pictures."""
import shutil

import pytest

from symgraph import demo


def test_demo_trains_digits_to_95_percent(tmp_path, capsys):
    result = demo.run(epochs=30, out=str(tmp_path))
    text = capsys.readouterr().out
    assert result["accuracy"] >= 0.95
    # the cost before and after the optimizer, with node counts
    assert "the cost as written (" in text and "the cost after the optimizer (" in text
    assert "log_softmax" in text            # the stable rewrite is visible
    assert "training steps per second" in text
    assert (tmp_path / "training.png").stat().st_size > 1000
    if shutil.which("dot"):
        assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    else:
        assert "graphviz's `dot` was not found" in text


def test_demo_command_line_options(tmp_path):
    with pytest.raises(SystemExit):
        demo.main(["--mode", "fastest"])
    assert demo.main(["--epochs", "30", "--mode", "python", "--out", str(tmp_path)]) == 0
