"""Smoke test of analyses/toy_birth.py: one layer in the papers' setting and the old one, and two layers, for two steps."""

from __future__ import annotations

import json

import pandas as pd
from analyses_checks import assert_finite, assert_provenance_of

TINY = ["--steps", "2", "--seq-len", "32", "--batch-size", "4", "--eval-every", "1", "--test-sequences", "16"]
SETTINGS = ("1layer_paper", "1layer_today", "2layer")


def test_writes_summary_metrics_configs_and_figure(load_script, tmp_path, capsys):
    load_script("toy_birth").main(["--out", str(tmp_path), *TINY])
    assert f"wrote {tmp_path}" in capsys.readouterr().out

    summary = json.loads((tmp_path / "summary.json").read_text())
    runs = {run["setting"]: run for run in summary["runs"]}
    assert set(runs) == set(SETTINGS)
    assert_finite([runs[s][m] for s in SETTINGS for m in ("icl_acc", "p_correct", "loss_non_trigger")])
    assert all(0.0 <= runs[s]["icl_acc"] <= 1.0 for s in SETTINGS)
    assert (runs["1layer_paper"]["arch"], runs["1layer_paper"]["trigger_output"]) == ("standard", "uniform")
    assert (runs["1layer_today"]["arch"], runs["1layer_today"]["trigger_output"]) == ("simplified", "exclude_trigger")
    assert_finite([runs["2layer"][f"{p}_final"] for p in ("probe_wo2", "probe_wk2", "probe_wk1")])
    assert summary["test_sequences"] == 16

    accuracy = pd.read_csv(tmp_path / "accuracy.csv")
    assert len(accuracy) == 3
    for name in SETTINGS:
        config = json.loads((tmp_path / f"config_{name}.json").read_text())
        assert config["optim"]["steps"] == 2 and config["data"]["seq_len"] == 32
        assert_provenance_of(tmp_path / f"config_{name}.json")
        metrics = pd.read_json(tmp_path / f"metrics_{name}.jsonl", lines=True)
        assert {"step", "icl_acc"} <= set(metrics.columns) and metrics["step"].max() == 2
        assert_finite(metrics["icl_acc"])
    assert (tmp_path / "birth.png").stat().st_size > 0
