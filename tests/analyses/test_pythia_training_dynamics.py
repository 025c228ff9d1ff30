"""Smoke test of analyses/pythia_training_dynamics.py on a local folder of tiny GPT-NeoX checkpoints,
and its user errors (one line, exit code 2, no traceback)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from analyses_checks import assert_finite, assert_one_line_exit_2, assert_provenance_of

from interp.models.tiny import TinyConfig, make_tiny_model

STEPS = (0, 1, 2)


@pytest.fixture(scope="module")
def tiny_steps(tmp_path_factory, tiny_tokenizer):
    """``step{N}/`` folders of tiny random GPT-NeoX models, as ``interp tiny DIR --steps 0,1,2`` writes them."""
    root = tmp_path_factory.mktemp("pythia") / "tiny-neox"
    for step in STEPS:
        make_tiny_model(root / f"step{step}", TinyConfig(arch="gpt-neox", seed=700 + step), tiny_tokenizer)
    return root


def test_sweeps_both_tasks_with_the_default_edit(load_script, tmp_path, tiny_steps, capsys):
    out = tmp_path / "out"
    load_script("pythia_training_dynamics").main(
        ["--model", str(tiny_steps), "--steps", "all", "--n", "4", "--device", "cpu", "--out", str(out)]
    )
    printed = capsys.readouterr().out

    config = json.loads((out / "config.json").read_text())
    assert config["tasks"] == ["ioi", "factual"]
    assert_provenance_of(out / "config.json")
    [edit] = config["laser_edits"]  # "auto": the last layer's MLP input of the 2-layer model
    assert edit.startswith("1:mlp_in:")
    factual = pd.read_parquet(out / "factual" / "results.parquet")
    assert set(factual["relation"]) == {"located_in"}  # the paper's "X is located in" prompts only

    for task in ("ioi", "factual"):
        assert f"{task}: {len(STEPS)} steps in {out / task}" in printed
        summary = pd.read_parquet(out / task / "summary.parquet")
        assert sorted(summary["step"].unique()) == list(STEPS)
        assert summary["edit"].nunique() == 2  # the unedited model and the LASER edit
        assert len(summary) == 2 * len(STEPS)
        assert_finite(summary[["mean_p_answer", "mean_p_the"]].to_numpy().ravel())
        results = pd.read_parquet(out / task / "results.parquet")
        assert set(results["step"]) == set(STEPS) and results.groupby(["step", "edit"]).size().eq(4).all()
        for name in ("training_dynamics.png", "ratio.png"):
            assert (out / task / name).stat().st_size > 0


def test_an_unknown_pythia_size_is_one_line(load_script, tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        load_script("pythia_training_dynamics").main(["--model", "EleutherAI/pythia-3m", "--out", str(tmp_path / "x")])
    assert_one_line_exit_2(excinfo, capsys, "pythia-3m", "--laser")
    assert not (tmp_path / "x").exists()


def test_an_unknown_task_is_one_line(load_script, tmp_path, capsys):
    with pytest.raises(SystemExit) as excinfo:
        load_script("pythia_training_dynamics").main(["--tasks", "ioi,arithmetic", "--out", str(tmp_path / "x")])
    assert_one_line_exit_2(excinfo, capsys, "arithmetic", "ioi, factual")


def test_a_bad_sweep_option_is_one_line_before_any_sweep(load_script, tmp_path, tiny_steps, capsys):
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as excinfo:
        load_script("pythia_training_dynamics").main(["--model", str(tiny_steps), "--dtype", "float17", "--out", str(out)])
    assert_one_line_exit_2(excinfo, capsys, "--dtype", "float17")
    assert not (out / "ioi").exists()
