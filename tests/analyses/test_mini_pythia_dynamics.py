"""Smoke test of analyses/mini_pythia_dynamics.py: train the tiny preset a few steps, choose a LASER edit at the
middle checkpoint, sweep every checkpoint with it and its zero control, draw the figure; and its user errors."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from analyses_checks import assert_one_line_exit_2, assert_provenance_of

from interp.models.checkpoints import local_steps


def test_trains_chooses_an_edit_and_sweeps_every_checkpoint(load_script, tmp_path, capsys):
    script = load_script("mini_pythia_dynamics")
    run, out = tmp_path / "run", tmp_path / "out"
    script.main(["--size", "tiny", "--steps", "8", "--n", "12", "--tasks", "factual", "--run", str(run), "--out", str(out)])
    printed = capsys.readouterr().out

    phases = json.loads((out / "phases.json").read_text())["factual"]
    steps = sorted(local_steps(run))
    assert steps[-1] == 8 and phases["mid_step"] == 4  # the checkpoint nearest half the run
    best = json.loads((out / "laser-factual" / "best.json").read_text())
    assert phases["laser"] == best["edit"] and phases["control"] == phases["laser"].replace(f"lowrank:{best['rho']:g}", "zero")
    summary = pd.read_parquet(out / "factual" / "summary.parquet")
    assert sorted(summary["step"].unique()) == steps  # every checkpoint
    assert set(summary["edit"]) == {"none", phases["laser"], phases["control"]}
    # the printed gain is the ratio of the edited and unedited ratios of means, step by step
    base = summary[summary["edit"] == "none"].set_index("step")["ratio_of_means"]
    edited = summary[summary["edit"] == phases["laser"]].set_index("step")["ratio_of_means"]
    for step, gain in phases["laser_gain_by_step"].items():
        assert gain == pytest.approx(edited[int(step)] / base[int(step)])
    assert (out / "dynamics.png").stat().st_size > 0 and (out / "train.json").is_file()
    assert_provenance_of(out / "config.json")
    assert_provenance_of(out / "train.json")
    assert f"LASER {phases['laser']} (chosen at step 4)" in printed


def test_first_for_good_and_phases(load_script):
    script = load_script("mini_pythia_dynamics")
    assert script.first_for_good([0, 1, 2, 4], [True, False, True, True]) == 2
    assert script.first_for_good([0, 1, 2], [True, True, False]) is None
    assert script.first_for_good([0, 1], [True, True]) == 0


def test_bad_input_is_one_line(load_script, tmp_path, capsys):
    script = load_script("mini_pythia_dynamics")
    for args, needle in ((["--tasks", "ioi,nope"], "--tasks"), (["--threads", "0"], "--threads"), (["--set", "model.nope=1"], "model.nope")):
        with pytest.raises(SystemExit) as excinfo:
            script.main([*args, "--run", str(tmp_path / "run"), "--out", str(tmp_path / "out")])
        assert_one_line_exit_2(excinfo, capsys, needle)
    assert not (tmp_path / "run").exists()  # refused before any training
