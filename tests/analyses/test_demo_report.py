"""Smoke test of analyses/demo_report.py: the `make demo` table, on run folders of the tiny GPT-2."""

from __future__ import annotations

import shutil

import pytest
from analyses_checks import assert_finite
from cli_helpers import run


@pytest.fixture
def demo_root(tmp_path, tiny_model_dirs, laser_controls_run):
    """``results/demo`` as `make demo` lays it out: one eval run per task and a LASER sweep."""
    root = tmp_path / "demo"
    for task in ("ioi", "factual"):
        result = run("eval", "--model", str(tiny_model_dirs["gpt2"]), "--task", task, "--n", "8",
                     "--out", str(root / task), "--device", "cpu")
        assert result.exit_code == 0, result.output
    shutil.copytree(laser_controls_run, root / "laser-factual")
    return root


def test_prints_one_row_per_task_and_the_laser_line(load_script, demo_root, capsys):
    load_script("demo_report").main([str(demo_root)])
    lines = capsys.readouterr().out.splitlines()

    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[:4] == ["task", "model", "prompts", "skipped"]
    assert len(header) == 9
    rows = {cells[0]: cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:4])}
    assert set(rows) == {"ioi", "factual"}
    for cells in rows.values():
        assert len(cells) == len(header)
        assert int(cells[2]) + int(cells[3]) >= 1
        assert_finite(cells[4:8])
    assert_finite([rows["ioi"][8]])  # the IO-S logit difference exists for IOI only
    assert rows["factual"][8] == "–"

    laser = [line for line in lines if line.startswith("LASER sweep laser-factual:")]
    assert len(laser) == 1 and "best edit" in laser[0]


def test_an_empty_folder_says_to_run_make_demo(load_script, tmp_path):
    with pytest.raises(SystemExit, match="make demo"):
        load_script("demo_report").main([str(tmp_path)])
