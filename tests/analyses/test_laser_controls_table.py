"""Smoke test of analyses/laser_controls_table.py on a `laser-sweep --controls` run of the tiny GPT-2."""

from __future__ import annotations

import json

import pytest
from analyses_checks import assert_finite

COLUMNS = ["heldout_delta_log_ratio", "delta_p_answer", "delta_p_the", "delta_top1_acc", "delta_lm_loss"]


def test_one_line_per_edit_kind_at_the_chosen_place(load_script, laser_controls_run, capsys):
    load_script("laser_controls_table").main([str(laser_controls_run)])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "config", *COLUMNS]

    best = json.loads((laser_controls_run / "best.json").read_text())
    place = f"{best['layer']}:{best['matrix']}:"
    run_name = f"{laser_controls_run.parent.name}/{laser_controls_run.name}"
    configs = []
    for line in lines[1:]:
        cells = line.split()
        assert cells[0] == run_name and len(cells) == 2 + len(COLUMNS), line
        configs.append(cells[1])
        assert_finite(cells[2:])
    assert sorted(configs) == sorted([best["edit"], place + "zero", f"{place}random:{best['rho']:g}"])


def test_no_run_folder_is_an_error(load_script):
    with pytest.raises(SystemExit, match="--controls"):
        load_script("laser_controls_table").main([])
