"""Smoke test of analyses/toy_birth.py: the one- vs two-layer comparison for two training steps."""

from __future__ import annotations

import json

import pandas as pd

from analyses_checks import assert_finite

TINY = ["--steps", "2", "--seq-len", "32", "--batch-size", "4", "--eval-every", "1", "--test-sequences", "16"]


def test_writes_summary_metrics_config_and_figure(load_script, tmp_path, capsys):
    load_script("toy_birth").main(["--out", str(tmp_path), *TINY])
    assert f"wrote {tmp_path}" in capsys.readouterr().out

    summary = json.loads((tmp_path / "summary.json").read_text())
    numbers = [summary[f"{m}_{n}layer"] for m in ("acc", "p_correct", "loss_non_trigger") for n in (1, 2)]
    assert_finite(numbers)
    assert all(0.0 <= summary[f"acc_{n}layer"] <= 1.0 for n in (1, 2))
    assert set(summary["probes_2layer_final"]) == {"probe_wo2", "probe_wk2", "probe_wk1"}
    assert_finite(summary["probes_2layer_final"].values())
    assert summary["test_sequences"] == 16

    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["n_layers"] == 2 and config["optim"]["steps"] == 2 and config["data"]["seq_len"] == 32
    for n in (1, 2):
        metrics = pd.read_json(tmp_path / f"metrics_{n}layer.jsonl", lines=True)
        assert {"step", "icl_acc"} <= set(metrics.columns)
        assert metrics["step"].max() == 2
        assert_finite(metrics["icl_acc"])
    assert (tmp_path / "birth.png").stat().st_size > 0
