"""`interp laser-sweep` and `interp eval --laser/--edit` through typer's runner: happy paths and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs):
    return str(tiny_model_dirs["gpt2"])


def sweep(model_dir, out, *extra):
    return run("laser-sweep", "--model", model_dir, "--task", "factual", "--n", "8", "--out", str(out), "--device", "cpu", *extra)


def test_sweep_happy_path(gpt2_dir, tmp_path):
    out = tmp_path / "s"
    result = sweep(gpt2_dir, out, "--layers", "1", "--rhos", "0.5,0.1", "--select-frac", "0.5")
    assert result.exit_code == 0, result.output
    assert "best (chosen on 4 selection prompts)" in result.output and "held-out" in result.output
    best = json.loads((out / "best.json").read_text())
    assert best["layer"] == 1 and best["matrix"] in ("mlp_in", "mlp_out") and best["rho"] in (0.5, 0.1)
    assert len(pd.read_parquet(out / "summary.parquet")) == 1 + 2 * 2


def test_sweep_with_mean_ablation_kind(gpt2_dir, tmp_path):
    out = tmp_path / "m"
    result = sweep(gpt2_dir, out, "--layers", "1", "--matrices", "mlp_out", "--rhos", "0.5", "--kinds", "lowrank,mean",
                   "--lm-tokens", "256")
    assert result.exit_code == 0, result.output
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["config"]) == ["baseline", "1:mlp_out:lowrank:0.5", "1:mlp_out:mean"]
    assert summary["delta_log_ratio"].abs().iloc[2] > 0


@pytest.mark.parametrize(
    "extra, needles",
    [
        (("--kinds", "zero"), ("--kinds must include lowrank",)),
        (("--kinds", "lowrank,shrink"), ("unknown edit kind 'shrink'",)),
        (("--layers", "5"), ("layer 5 is out of range", "2 layers")),
        (("--layers", "0:9"), ("out of range", "2 layers")),
        (("--matrices", "mlp_gate"), ("'mlp_gate' does not exist in GPT-2 models", "choose from mlp_in, mlp_out, attn_q")),
        (("--matrices", "mlp_middle"), ("unknown matrix 'mlp_middle'",)),
        (("--rhos", "0"), ("rho must be in (0, 1]",)),
        (("--rhos", "0.5,1.5"), ("rho must be in (0, 1]",)),
        (("--rhos", "-0.1"), ("rho must be in (0, 1]",)),
        (("--rhos", ""), ("--rhos is empty",)),
        (("--layers", "1:1"), ("grid is empty",)),
        (("--matrices", ","), ("--matrices is empty",)),
        (("--select-frac", "1"), ("--select-frac",)),
        (("--max-lm-loss-increase", "-0.1"), ("--max-lm-loss-increase must be >= 0",)),
        (("--controls", "--lm-text", "/nonexistent/ref.txt"), ("--lm-text /nonexistent/ref.txt does not exist",)),
        (("--compose", "0"), ("--compose must be >= 1",)),
    ],
)
def test_sweep_bad_input(gpt2_dir, tmp_path, extra, needles):
    assert_one_line_error(sweep(gpt2_dir, tmp_path / "bad", *extra), *needles)


def test_sweep_lm_text_shorter_than_a_context(gpt2_dir, tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("Only a few words here.")
    result = sweep(gpt2_dir, tmp_path / "o", "--layers", "1", "--rhos", "0.5", "--controls", "--lm-text", str(short))
    assert_one_line_error(result, "shorter than one context")


def test_eval_with_edits(gpt2_dir, tmp_path):
    out = tmp_path / "e"
    result = run("eval", "--model", gpt2_dir, "--task", "factual", "--n", "8", "--out", str(out),
                 "--laser", "1:mlp_in:0.1", "--edit", "0:mlp_out:zero", "--edit", "1:attn_v:random:0.5",
                 "--edit", "1:attn_o:mean")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["edits"] == ["1:mlp_in:lowrank:0.1", "0:mlp_out:zero", "1:attn_v:random:0.5", "1:attn_o:mean"]
    assert summary["n_matrices_edited"] == 3 and summary["n_hooks"] == 1
    assert summary["delta_lm_loss"] == pytest.approx(summary["lm_loss"] - summary["baseline_lm_loss"])
    assert "mean_p_function" in summary
    assert summary["delta_p_answer"] == pytest.approx(summary["mean_p_answer"] - summary["baseline"]["mean_p_answer"])
    assert {"delta_p_the", "delta_log_ratio", "delta_top1_acc", "delta_p_function"} <= set(summary)
    assert json.loads((out / "config.json").read_text())["edits"] == summary["edits"]


@pytest.mark.parametrize(
    "extra, needles",
    [
        (("--laser", "7:mlp_in:0.5"), ("layer 7 is out of range", "layers 0..1")),
        (("--laser", "0:mlp_gate:0.5"), ("'mlp_gate' does not exist in GPT-2 models", "choose from")),
        (("--laser", "0:mlp_in:0"), ("rho must be in (0, 1]",)),
        (("--laser", "0:mlp_in:2"), ("rho must be in (0, 1]",)),
        (("--edit", "0:mlp_in:shrink:0.5"), ("unknown edit kind 'shrink'",)),
        (("--edit", "0:mlp_in:random"), ("needs a rho",)),
        (("--laser", "0:mlp_in:zero:0.5"), ("--laser takes LAYER:MATRIX:RHO",)),
        (("--laser", "0:mlp_in:zero"), ("--laser takes LAYER:MATRIX:RHO",)),
        (("--edit", "0:mlp_in:zero", "--lm-text", "/nonexistent.txt"), ("does not exist",)),
    ],
)
def test_eval_bad_edits(gpt2_dir, tmp_path, extra, needles):
    result = run("eval", "--model", gpt2_dir, "--task", "factual", "--n", "4", "--out", str(tmp_path / "x"), *extra)
    assert_one_line_error(result, *needles)


def test_a_sweep_started_again_evaluates_only_what_it_lacks_and_refuses_other_options(gpt2_dir, tmp_path, monkeypatch):
    import interp.laser.parts as parts

    args = ("--layers", "0,1", "--rhos", "0.5,0.1", "--controls", "--lm-tokens", "256", "--compose", "2", "--relations",
            "located_in,capital_of")
    whole = tmp_path / "whole"
    assert sweep(gpt2_dir, whole, *args).exit_code == 0
    out = tmp_path / "again"
    assert sweep(gpt2_dir, out, *args).exit_code == 0
    names = sorted(p.stem for p in (out / "parts").glob("*.parquet"))
    assert len(names) == 1 + 2 * 2 * (2 + 2 + 1) and (out / "parts" / "compose" / "step2.parquet").is_file()

    # (baseline; 2 layers x 2 matrices x lowrank, random at 2 rhos and zero) a run killed part way: two configs never written, one part truncated, the tables not rebuilt
    for name in ("1_mlp_out_random_0.1", "0_mlp_in_zero"):
        (out / "parts" / f"{name}.parquet").unlink()
    (out / "parts" / "baseline.parquet").write_bytes((out / "parts" / "baseline.parquet").read_bytes()[:40])
    for table in ("results.parquet", "summary.parquet", "best.json"):
        (out / table).unlink()
    evaluated: list[str] = []
    real = parts.run_configs

    def counting(model, configs, *a, **k):
        evaluated.extend(f"{k.get('fixed', ())}+{c}" for c in configs)
        return real(model, configs, *a, **k)

    monkeypatch.setattr(parts, "run_configs", counting)
    result = sweep(gpt2_dir, out, *args)
    assert result.exit_code == 0, result.output
    assert len(evaluated) == 3  # the baseline and the two lost configs (compose step 2's candidates are read back)
    for table in ("results.parquet", "summary.parquet", "summary_by_relation.parquet", "compose.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / table), pd.read_parquet(whole / table), check_exact=True, obj=table)

    evaluated.clear()
    finished = sweep(gpt2_dir, out, *args, "--batch-size", "3")  # how to run may change; a finished sweep has nothing to do
    assert finished.exit_code == 0 and evaluated == []
    printed = [[line for line in r.output.splitlines() if line.startswith(("best", "gain", "held-out", "LM loss", "composition"))]
               for r in (finished, result)]
    assert len(printed[0]) >= 5 and printed[0] == printed[1]
    assert_one_line_error(sweep(gpt2_dir, out, *args[:-2], "--seed", "1"), "--relations was", "now []", "another --out")
    assert_one_line_error(sweep(gpt2_dir, out, *args, "--seed", "1"), "--seed was 0, now 1", "the same options to resume")
    assert_one_line_error(sweep(gpt2_dir, out, *args, "--rhos", "0.5"), "--rhos was [0.5, 0.1], now [0.5]")
    assert evaluated == []


def test_a_prompts_file_is_compared_by_content(gpt2_dir, tmp_path):
    prompts = tmp_path / "facts.jsonl"
    rows = [{"prompt": "The capital of France is", "answer": " Paris"}, {"prompt": "The sky is", "answer": " blue"},
            {"prompt": "Water is", "answer": " wet"}]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "s"
    args = ("laser-sweep", "--model", gpt2_dir, "--n", "3", "--layers", "1", "--rhos", "0.5", "--device", "cpu", "--out", str(out))
    assert run(*args, "--task", f"prompts:{prompts}").exit_code == 0
    moved = tmp_path / "moved" / "facts.jsonl"
    moved.parent.mkdir()
    prompts.rename(moved)
    assert run(*args, "--task", f"prompts:{moved}").exit_code == 0  # the same content elsewhere resumes
    moved.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))
    assert_one_line_error(run(*args, "--task", f"prompts:{moved}"), "the content of the --task file differs")


@pytest.mark.parametrize("folder", sorted(
    str(p.parent.relative_to(Path(__file__).resolve().parents[2]))
    for p in (Path(__file__).resolve().parents[2] / "results").glob("**/best.json")
))
def test_the_committed_sweep_folders_still_read(folder):
    from interp.laser.run import LaserSweep, run_store

    root = Path(__file__).resolve().parents[2] / folder
    definition = run_store(root).read_definition()
    config = LaserSweep.from_dict(json.loads((root / "config.json").read_text()))
    assert definition.command == "laser-sweep" and definition.defining["rhos"] == list(config.rhos)
