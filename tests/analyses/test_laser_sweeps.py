"""Smoke test of analyses/laser_sweeps.py: one committed run's grid, on the tiny GPT-2 with a few prompts."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from analyses_checks import assert_finite

RUN = "smollm2-135m/factual-controls"


def test_runs_a_named_grid_on_another_model(load_script, tmp_path, tiny_model_dirs, capsys):
    script = load_script("laser_sweeps")
    script.main([RUN, "--model", str(tiny_model_dirs["gpt2"]), "--n", "8", "--out", str(tmp_path)])
    assert capsys.readouterr().out.startswith(f"== {RUN}\n")

    folder = tmp_path / RUN
    config = json.loads((folder / "config.json").read_text())
    assert config["model"]["name"] == str(tiny_model_dirs["gpt2"]) and config["n"] == 8
    assert config["controls"] is True and config["layers"] == script.RUNS[RUN]["layers"]

    summary = pd.read_parquet(folder / "summary.parquet")
    assert {"config", "kind", "layer", "matrix", "rho", "delta_lm_loss"} <= set(summary.columns)
    assert {"lowrank", "zero", "random"} <= set(summary["kind"])
    edited = summary[summary["layer"] >= 0]
    assert_finite(edited["delta_lm_loss"])

    best = json.loads((folder / "best.json").read_text())
    assert best["kind"] == "lowrank" and best["edit"] in set(summary["config"])
    assert_finite([best["gain_heldout"], best["delta_lm_loss"]])
    for name in ("heatmap.png", "p_the_vs_p_answer_best.png"):
        assert (folder / name).stat().st_size > 0


def test_an_unknown_run_stops_before_any_work(load_script, tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        load_script("laser_sweeps").main(["smollm2-135m/nope", "--out", str(tmp_path)])
    assert excinfo.value.code == 2
    assert "smollm2-135m/nope" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())
