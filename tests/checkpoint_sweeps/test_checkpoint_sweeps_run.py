"""End-to-end sweeps on tiny checkpoints: the fake Pythia hub, cache deletion, prefetch, shards
and merge, duplicate weights, resume, plots, toy runs, and the command's one-line errors."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.cli import app
from interp.edits.spec import Edit
from interp.errors import UsageError
from interp.models.spec import ModelSpec

runner = CliRunner()


def cli(*args: str):
    return runner.invoke(app, ["checkpoint-sweep", *args])


def assert_one_line_error(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    text = (result.stderr or result.output).strip()
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text, text


# -- Pythia names through a fake hub cache ---------------------------------------------------------


def test_fake_pythia_revisions_resolve_offline(fake_pythia, tmp_path):
    out = tmp_path / "sweep"
    report = run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(fake_pythia), steps="0,2,1000", task="factual", n=4, device="cpu"))
    assert report.evaluated == [0, 2, 1000]
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["step"].unique()) == [0, 2, 1000]
    assert len(results) == 3 * 4 and set(results["edit"]) == {"none"}
    assert {"step", "edit", "p_answer", "p_the", "log_ratio", "rank", "top1"} <= set(results.columns)
    # each revision is its own random model
    assert results.groupby("step")["p_answer"].mean().nunique() == 3
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["step"]) == [0, 2, 1000] and list(summary["n_prompts"]) == [4, 4, 4]
    for name in ("training_dynamics.png", "ratio.png"):
        assert (out / name).stat().st_size > 10_000
    definition = json.loads((out / "sweep.json").read_text())
    assert definition["arguments"]["model"] == fake_pythia and definition["arguments"]["steps"] == "0,2,1000"
    assert json.loads((out / "warnings.json").read_text()) == {"duplicate_weights": [], "failed_steps": []}


def test_no_keep_cache_deletes_each_evaluated_revision(fake_pythia, tmp_path):
    cache = Path(os.environ["HF_HUB_CACHE"])
    source = cache / ("models--" + fake_pythia.replace("/", "--"))
    name = "EleutherAI/pythia-31m"  # a private copy: other tests keep using fake_pythia
    shutil.copytree(source, cache / ("models--" + name.replace("/", "--")))
    refs = cache / ("models--" + name.replace("/", "--")) / "refs"
    report = run_sweep(SweepConfig(out=str(tmp_path / "s"), model=ModelSpec.parse(name), steps="0,1", task="factual", n=3, device="cpu", keep_cache=False))
    assert report.evaluated == [0, 1]
    assert not (refs / "step0").exists() and not (refs / "step1").exists()
    assert (refs / "step2").exists() and (refs / "step1000").exists()
    assert (source / "refs" / "step0").exists()  # the same commit hashes in another repo are left alone
    shutil.rmtree(cache / ("models--" + name.replace("/", "--")))


# -- resume, prefetch, shards, merge ---------------------------------------------------------------


def test_prefetch_gives_the_rows_of_a_plain_loop(reference_sweep, sweep_args, tiny_steps_dir, tmp_path, assert_same_rows):
    _, expected = reference_sweep
    run_sweep(SweepConfig(out=str(tmp_path), model=ModelSpec.parse(str(tiny_steps_dir)), prefetch=False, **sweep_args))
    assert_same_rows(pd.read_parquet(tmp_path / "results.parquet"), expected)


def test_shards_are_disjoint_and_merge_to_the_whole_sweep(reference_sweep, sweep_args, tiny_steps_dir, tmp_path, assert_same_rows):
    ref_dir, expected = reference_sweep
    shard_dirs = [tmp_path / f"shard{i}" for i in range(2)]
    reports = [
        run_sweep(SweepConfig(out=str(d), model=ModelSpec.parse(str(tiny_steps_dir)), shard=f"{i}/2", **sweep_args))
        for i, d in enumerate(shard_dirs)
    ]
    assert [r.evaluated for r in reports] == [[0, 2, 8], [1, 4]]
    assert reports[0].missing == [1, 4]
    concatenated = pd.concat([pd.read_parquet(d / "results.parquet") for d in shard_dirs])
    assert_same_rows(concatenated, expected)
    result = cli("--merge", *map(str, shard_dirs), "--out", str(tmp_path / "merged"))
    assert result.exit_code == 0, result.output
    assert "5 of 5 steps present" in result.output
    assert_same_rows(pd.read_parquet(tmp_path / "merged" / "results.parquet"), expected)
    summary = pd.read_parquet(tmp_path / "merged" / "summary.parquet")
    pd.testing.assert_frame_equal(summary, pd.read_parquet(ref_dir / "summary.parquet"), rtol=1e-5)
    assert (tmp_path / "merged" / "ratio.png").is_file()


def test_rerun_skips_finished_steps_and_refuses_other_arguments(tiny_steps_dir, tmp_path):
    out = str(tmp_path / "s")
    first = run_sweep(SweepConfig(out=out, model=ModelSpec.parse(str(tiny_steps_dir)), steps="0,1", task="factual", n=3, device="cpu"))
    again = run_sweep(SweepConfig(out=out, model=ModelSpec.parse(str(tiny_steps_dir)), steps="1,0", task="factual", n=3, device="cpu"))
    assert first.evaluated == [0, 1] and again.evaluated == [] and again.already_done == [0, 1]
    result = cli("--model", str(tiny_steps_dir), "--steps", "0,1", "--task", "factual", "--n", "4", "--out", out)
    assert_one_line_error(result, "different arguments", "--n was 3, now 4")


# -- integrity ---------------------------------------------------------------------------------------


def test_identical_checkpoints_are_warned_about(steps_dir_copy, tmp_path, caplog):
    shutil.copytree(steps_dir_copy / "step1", steps_dir_copy / "step3")  # step3 = step1, as Pythia's step0 = step1
    with caplog.at_level(logging.WARNING, logger="interp"):
        report = run_sweep(SweepConfig(out=str(tmp_path / "s"), model=ModelSpec.parse(str(steps_dir_copy)), steps="1,2,3", task="factual", n=2, device="cpu"))
    assert report.duplicates == [report.duplicates[0]] and report.duplicates[0].startswith("steps 1, 3 have identical weights")
    assert any("step 3 has the same weights as step 1" in r.getMessage() for r in caplog.records)
    warnings = json.loads((tmp_path / "s" / "warnings.json").read_text())["duplicate_weights"]
    assert [w["steps"] for w in warnings] == [[1, 3]]


# -- toy runs and edits ----------------------------------------------------------------------------


def test_toy_run_noisy_recall_with_and_without_an_edit(toy_run, tmp_path):
    out = tmp_path / "toy"
    run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(toy_run)), steps="log", task="noisy-recall", n=8, laser=(Edit.parse("1:mlp_in:0.1"),), device="cpu"))
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["step"].unique()) == [0, 1, 2]
    assert list(results.groupby(["step", "edit"]).size()) == [8] * 6
    pivot = results.pivot_table(index=["step", "prompt_index"], columns="edit", values="p_answer")
    assert (pivot["none"] != pivot["1:mlp_in:lowrank:0.1"]).any()  # the edit changes the predictions
    summary = pd.read_parquet(out / "summary.parquet")
    assert list(summary["edit"][:2]) == ["none", "1:mlp_in:lowrank:0.1"]
    assert (out / "training_dynamics.png").is_file()
    with pytest.raises(UsageError, match="toy run is swept with --task noisy-recall"):
        run_sweep(SweepConfig(out=str(tmp_path / "x"), model=ModelSpec.parse(str(toy_run)), steps="all", task="factual"))


def test_laser_on_hugging_face_checkpoints(tiny_steps_dir, tmp_path):
    config = SweepConfig(out=str(tmp_path), model=ModelSpec.parse(str(tiny_steps_dir)), steps="0,1", task="factual", n=3, laser=(Edit.parse("1:mlp_in:0.1"),), device="cpu")
    run_sweep(config)
    results = pd.read_parquet(tmp_path / "results.parquet")
    by_relation = pd.read_parquet(tmp_path / "summary_by_relation.parquet")
    assert by_relation.groupby(["step", "edit"])["n_prompts"].sum().eq(3).all()
    edit = "1:mlp_in:lowrank:0.1"  # the canonical spelling
    assert results.groupby(["step", "edit"]).size().to_dict() == {(0, "none"): 3, (0, edit): 3, (1, "none"): 3, (1, edit): 3}
    pivot = results.pivot_table(index=["step", "prompt_index"], columns="edit", values="p_answer")
    assert (pivot["none"] != pivot[edit]).all()  # the edit changes every prediction...
    again = run_sweep(SweepConfig(**{**config.__dict__, "laser": (Edit.parse("1:mlp_in:lowrank:0.1"),)}))
    assert again.evaluated == []  # ...and another spelling of it is the same sweep
    # the weights were restored after each edit: a plain sweep of step 0 gives the "none" rows
    plain = run_sweep(SweepConfig(out=str(tmp_path / "plain"), model=ModelSpec.parse(str(tiny_steps_dir)), steps="0", task="factual", n=3, device="cpu"))
    assert plain.evaluated == [0]
    base = pd.read_parquet(tmp_path / "plain" / "results.parquet")
    pd.testing.assert_series_equal(
        base["p_answer"], results.query("step == 0 and edit == 'none'")["p_answer"].reset_index(drop=True), rtol=1e-6
    )
    with pytest.raises(UsageError, match="layer 5 is out of range"):
        run_sweep(SweepConfig(out=str(tmp_path / "bad"), model=ModelSpec.parse(str(tiny_steps_dir)), steps="0", task="factual", n=3, laser=(Edit.parse("5:mlp_in:0.1"),), device="cpu"))


# -- bad input: one line, exit 2 -------------------------------------------------------------------


def test_error_step_not_in_the_pythia_schedule(tmp_path):
    result = cli("--model", "EleutherAI/pythia-70m", "--steps", "0,1500", "--task", "ioi", "--out", str(tmp_path))
    assert_one_line_error(result, "step 1500", "nearest valid steps: 1000 or 2000")


def test_error_step_not_in_a_local_folder(tiny_steps_dir, tmp_path):
    result = cli("--model", str(tiny_steps_dir), "--steps", "3", "--task", "factual", "--out", str(tmp_path))
    assert_one_line_error(result, "step 3 is not a checkpoint", "2 or 4")


@pytest.mark.parametrize("shard", ["2/2", "1", "x/3"])
def test_error_bad_shard(tiny_steps_dir, tmp_path, shard):
    result = cli("--model", str(tiny_steps_dir), "--steps", "all", "--task", "factual", "--shard", shard, "--out", str(tmp_path))
    assert_one_line_error(result, "--shard must be I/N with 0 <= I < N")


def test_error_folder_without_step_models(tmp_path):
    (tmp_path / "empty").mkdir()
    result = cli("--model", str(tmp_path / "empty"), "--steps", "all", "--task", "factual", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "holds no step*/ models")


def test_error_missing_options_and_stray_folders(tmp_path):
    assert_one_line_error(cli("--model", "EleutherAI/pythia-70m", "--out", str(tmp_path)), "needs --steps, --task")
    assert_one_line_error(cli(str(tmp_path), "--out", str(tmp_path / "o")), "only taken with --merge")
    assert_one_line_error(cli("--merge", str(tmp_path), "--out", str(tmp_path / "o")), "not a checkpoint-sweep folder")
    assert_one_line_error(cli("--model", "gpt2", "--steps", "all", "--task", "ioi", "--out", str(tmp_path)), "EleutherAI/pythia-*")


# -- interp tiny --steps -------------------------------------------------------------------------------


def test_interp_tiny_writes_a_checkpoint_folder(tmp_path):
    from interp.models.checkpoints import local_steps
    from interp.models.loading import load_model

    result = runner.invoke(app, ["tiny", str(tmp_path / "ckpts"), "--arch", "gpt-neox", "--steps", "0,1,2,4"])
    assert result.exit_code == 0, result.output
    assert list(local_steps(tmp_path / "ckpts")) == [0, 1, 2, 4]
    first, second = (load_model(str(tmp_path / "ckpts"), s, device="cpu") for s in (0, 4))
    assert first.raw_model.config.model_type == "gpt_neox"
    w0, w4 = (m.raw_model.get_input_embeddings().weight for m in (first, second))
    assert not w0.equal(w4)  # each step its own weights
    assert_one_line_error(runner.invoke(app, ["tiny", str(tmp_path / "x"), "--steps", "0,a"]), "--steps")
