"""Smoke test of analyses/toy_noisy_recall.py: two training steps of a small noisy-recall model."""

from __future__ import annotations

import json

import pandas as pd
from analyses_checks import assert_finite, assert_provenance_of

TINY = ["--steps", "2", "--d-model", "16", "--seq-len", "32", "--batch-size", "4", "--eval-every", "1",
        "--test-sequences", "16"]


def test_writes_summary_checkpoints_metrics_and_figure(load_script, tmp_path, capsys):
    out, run = tmp_path / "out", tmp_path / "run"
    load_script("toy_noisy_recall").main(["--out", str(out), "--keep-run", str(run), *TINY])
    assert f"wrote {out}" in capsys.readouterr().out

    summary = json.loads((out / "summary.json").read_text())
    assert_finite(summary[f"{m}_{v}"] for m in ("p_noise", "icl_acc", "p_correct") for v in ("full", "no_mlp2"))
    assert summary["train_noise"] == 0.5 and summary["test_sequences"] == 16
    removals = summary["remove_top_mlp2"]
    assert [(r["matrix"], r["k"]) for r in removals] == [(m, k) for m in ("mlp_in", "mlp_out") for k in (1, 2, 4)]
    assert_finite([r[key] for r in removals for key in ("p_noise", "p_correct", "icl_acc")])
    truncations = summary["truncate_mlp2"]
    assert {(t["matrix"], t["rho"]) for t in truncations} == {(m, r) for m in ("mlp_in", "mlp_out") for r in (0.01, 0.05, 0.25)}
    assert all(t["rank"] >= 1 for t in truncations)
    assert_finite(t[k] for t in truncations for k in ("p_noise", "p_correct", "icl_acc"))

    config = json.loads((out / "config.json").read_text())
    assert config["model"]["d_model"] == 16 and config["model"]["d_mlp"] == 64 and config["optim"]["steps"] == 2
    assert_provenance_of(out / "config.json")

    checkpoints = pd.read_csv(out / "checkpoints.csv")
    assert checkpoints["step"].max() == 2 and checkpoints["step"].is_unique
    assert {f"{m}_{v}" for m in ("p_noise", "p_correct") for v in ("full", "no_mlp2")} <= set(checkpoints.columns)
    assert_finite(checkpoints.drop(columns="step").to_numpy().ravel())

    metrics = pd.read_json(out / "metrics.jsonl", lines=True)
    assert {"step", "p_noise", "p_correct", "icl_acc"} <= set(metrics.columns)
    assert (out / "noisy_recall.png").stat().st_size > 0
    assert any(run.iterdir())  # --keep-run kept the checkpoints
