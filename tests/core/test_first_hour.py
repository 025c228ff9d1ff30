"""A researcher's first hour: predict with edits, eval with per-prompt baselines, the Python front door."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_helpers import run

import interp
from interp.errors import UsageError


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs):
    return str(tiny_model_dirs["gpt2"])


def test_predict_shows_unedited_and_edited_side_by_side(gpt2_dir):
    result = run("predict", "The city is located in", "--model", gpt2_dir, "--device", "cpu", "--top-k", "3",
                 "--laser", "1:mlp_in:0.1", "--edit", "0:mlp_out:zero")
    assert result.exit_code == 0, result.output
    assert "edits: 1:mlp_in:lowrank:0.1+0:mlp_out:zero" in result.output and "unedited" in result.output


def test_predict_edits_change_the_top_tokens(tiny_gpt2):
    """Zeroing both MLPs' output matrices (and biases) is the model with both MLP outputs hooked to zero."""
    import torch

    from interp.scoring.predict import top_tokens, top_tokens_edited

    prompt = "The city is located in"
    before, after = top_tokens_edited(tiny_gpt2, prompt, ["0:mlp_out:zero", "1:mlp_out:zero"], k=5)
    assert [p.token_id for p in before] == [p.token_id for p in top_tokens(tiny_gpt2, prompt, 5)]
    assert [p.probability for p in before] != [p.probability for p in after]
    no_mlp = [(f"blocks.{layer}.hook_mlp_out", lambda act, hook: torch.zeros_like(act)) for layer in (0, 1)]
    with tiny_gpt2.bridge.hooks(fwd_hooks=no_mlp):
        expected = top_tokens(tiny_gpt2, prompt, 5)
    assert [p.token_id for p in after] == [p.token_id for p in expected]
    assert [p.probability for p in after] == pytest.approx([p.probability for p in expected], abs=1e-6)
    assert top_tokens(tiny_gpt2, prompt, 5) == before  # the edits and the hooks are gone


def test_eval_with_edits_keeps_each_prompts_baseline_and_can_skip_the_lm_cost(gpt2_dir, tmp_path):
    out = tmp_path / "e"
    result = run("eval", "--model", gpt2_dir, "--task", "factual", "--n", "8", "--out", str(out), "--device", "cpu",
                 "--laser", "1:mlp_in:0.1", "--no-lm-cost")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert "lm_loss" not in summary and summary["edits"] == ["1:mlp_in:lowrank:0.1"]
    frame = pd.read_parquet(out / "results.parquet")
    plain = tmp_path / "plain"
    assert run("eval", "--model", gpt2_dir, "--task", "factual", "--n", "8", "--out", str(plain), "--device", "cpu").exit_code == 0
    unedited = pd.read_parquet(plain / "results.parquet")
    for name in ("p_answer", "p_the", "log_ratio", "rank", "top1", "logp_answer_full"):
        assert (frame[f"baseline_{name}"].to_numpy() == unedited[name].to_numpy()).all(), name
    assert summary["baseline"]["mean_p_answer"] == pytest.approx(unedited["p_answer"].mean())
    assert "baseline:" in result.output and "{" not in result.output.split("baseline:")[1].splitlines()[0]


def test_laser_summary_leaves_rho_empty_for_kinds_without_one(tiny_gpt2, tiny_model_dirs, tmp_path):
    from interp.edits.grid import LayerSpec
    from interp.laser.run import LaserSweep, run_laser_sweep
    from interp.models.spec import ModelSpec

    config = LaserSweep(out=str(tmp_path), model=ModelSpec.parse(str(tiny_model_dirs["gpt2"])), layers=LayerSpec.parse("1"),
                        matrices=("mlp_in",), rhos=(0.5,), kinds=("lowrank", "zero"), n=8, device="cpu")
    run_laser_sweep(config, progress=False, model=tiny_gpt2)
    summary = pd.read_parquet(tmp_path / "summary.parquet").set_index("kind")
    assert pd.isna(summary.loc["zero", "rho"]) and summary.loc["lowrank", "rho"] == 0.5


def test_front_door_takes_strings_and_says_what_to_pass(tiny_gpt2):
    facts = interp.build_task("factual", tiny_gpt2, n=6)
    table = interp.evaluate(tiny_gpt2, facts, edits=["1:mlp_in:0.5"], progress=False)
    assert "baseline_p_answer" in table and len(table) == 6
    with interp.apply_edits(tiny_gpt2, "1:mlp_in:0.5") as report:
        assert report.n_matrices_edited == 1
    with pytest.raises(UsageError, match="needs a loaded model"):
        interp.evaluate("gpt2", facts)
    with pytest.raises(UsageError, match="needs a loaded text model"):
        interp.build_task("factual", "gpt2")
    with pytest.raises(TypeError, match="needs a loaded model"), interp.apply_edits(object(), ["1:mlp_in:0.5"]):
        pass


def test_load_checkpoint_takes_a_run_folder(tmp_path):
    from interp.toy.checkpoint import load_checkpoint, save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=4), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    write_run_config(tmp_path, cfg)
    for step in (0, 4):
        save_checkpoint(tmp_path, step, ToyTransformer(cfg.model, seed=step), cfg)
    from_run, _ = load_checkpoint(tmp_path)
    from_step, _ = load_checkpoint(tmp_path / "step4")
    assert all((a == b).all() for a, b in zip(from_run.state_dict().values(), from_step.state_dict().values()))
