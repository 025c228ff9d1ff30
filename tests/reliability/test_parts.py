"""Sweep parts are checked against their names, parts outside the schedule are ignored, and a merge
that lacks steps exits 2 naming them (issue 22, item 3).

The fixture runs the two shards of a sweep of the tiny GPT-NeoX checkpoints (steps 0, 1, 2, 4, 8;
shard 0/2 has 0, 2, 8 and shard 1/2 has 1, 4) and merges them: the whole sweep every case compares to.
"""

from __future__ import annotations

import json
import logging
import shutil

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.models.spec import ModelSpec

ARGS = {"steps": "all", "task": "factual", "n": 6, "device": "cpu"}


def _sweep(model, out, **extra):
    return run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(model)), **ARGS, **extra))


@pytest.fixture(scope="module")
def shards(tmp_path_factory, tiny_steps_dir):
    """(shard 0/2 folder, shard 1/2 folder, their merge)."""
    root = tmp_path_factory.mktemp("parts")
    folders = [root / f"shard{i}" for i in (0, 1)]
    for i, folder in enumerate(folders):
        _sweep(tiny_steps_dir, folder, shard=f"{i}/2")
    whole = root / "whole"
    result = run("checkpoint-sweep", "--merge", *map(str, folders), "--out", str(whole))
    assert result.exit_code == 0, result.output
    return folders[0], folders[1], whole


def _steps(folder) -> list[int]:
    return sorted(int(s) for s in pd.read_parquet(folder / "results.parquet")["step"].unique())


def _same_tables(out, whole) -> None:
    for name in ("results.parquet", "summary.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(whole / name))


def test_merge_of_one_shard_of_two_names_the_missing_steps_and_shard(shards, tmp_path):
    shard0, _, _ = shards
    out = tmp_path / "merged"
    result = run("checkpoint-sweep", "--merge", str(shard0), "--out", str(out))
    assert_one_line_error(result, "the merge is incomplete: 2 of 5 steps", "(steps 1, 4)", "shard 1/2 was not given")
    assert _steps(out) == [0, 2, 8]  # what it has is written; merging the other shard in completes it
    assert run("checkpoint-sweep", "--merge", str(shards[1]), "--out", str(out)).exit_code == 0
    _same_tables(out, shards[2])


def _damage(folder, how: str) -> None:
    """Make ``parts/step4`` hold step 8's rows, or describe step 8 in its json."""
    parts = folder / "parts"
    if how == "rows":
        shutil.copy(parts / "step8.parquet", parts / "step4.parquet")
    else:
        shutil.copy(parts / "step8.json", parts / "step4.json")


@pytest.mark.parametrize("how", ["rows", "json"])
def test_a_part_holding_another_steps_results_is_redone_on_resume(shards, tiny_steps_dir, tmp_path, caplog, how):
    out = tmp_path / "sweep"
    shutil.copytree(shards[2], out)
    _damage(out, how)
    with caplog.at_level(logging.WARNING, logger="interp"):
        report = _sweep(tiny_steps_dir, out)
    assert report.evaluated == [4] and list(report.reevaluated) == [4]
    assert "step 8" in report.reevaluated[4]
    assert any("step 4:" in m and "evaluated again" in m for m in caplog.messages)
    _same_tables(out, shards[2])


@pytest.mark.parametrize("how", ["rows", "json"])
def test_a_part_holding_another_steps_results_is_refused_by_merge(shards, tmp_path, how):
    _, shard1, _ = shards
    source = tmp_path / "shard1"
    shutil.copytree(shard1, source)
    (source / "parts" / "step8.parquet").write_bytes((shards[2] / "parts" / "step8.parquet").read_bytes())
    (source / "parts" / "step8.json").write_bytes((shards[2] / "parts" / "step8.json").read_bytes())
    _damage(source, how)
    out = tmp_path / "merged"
    result = run("checkpoint-sweep", "--merge", str(shards[0]), str(source), "--out", str(out))
    assert_one_line_error(result, "the merge is incomplete: 1 of 5 steps", "(step 4)", "step 8", str(source))
    results = pd.read_parquet(out / "results.parquet")
    assert _steps(out) == [0, 1, 2, 8]
    assert not results.duplicated(["step", "edit", "prompt_index"]).any()


def _stray(folder) -> None:
    """A well-formed part of step 5, which the sweep's steps (0, 1, 2, 4, 8) do not have."""
    parts = folder / "parts"
    frame = pd.read_parquet(parts / "step8.parquet").assign(step=5)
    frame.to_parquet(parts / "step5.parquet")
    meta = json.loads((parts / "step8.json").read_text())
    (parts / "step5.json").write_text(json.dumps({**meta, "step": 5}))


def test_a_part_outside_the_schedule_is_ignored_with_a_warning_on_resume(shards, tiny_steps_dir, tmp_path, caplog):
    out = tmp_path / "sweep"
    shutil.copytree(shards[2], out)
    _stray(out)
    with caplog.at_level(logging.WARNING, logger="interp"):
        report = _sweep(tiny_steps_dir, out)
    assert report.evaluated == [] and report.already_done == [0, 1, 2, 4, 8]
    assert any("steps 5" in m and "not in the sweep's steps" in m for m in caplog.messages)
    _same_tables(out, shards[2])
    assert (out / "parts" / "step5.parquet").is_file()  # ignored, not deleted: the sweep did not write it


def test_a_part_outside_the_schedule_is_not_merged(shards, tmp_path, caplog):
    source = tmp_path / "whole"
    shutil.copytree(shards[2], source)
    _stray(source)
    out = tmp_path / "merged"
    with caplog.at_level(logging.WARNING, logger="interp"):
        result = run("checkpoint-sweep", "--merge", str(source), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert any("steps 5" in m and "ignored" in m for m in caplog.messages)
    _same_tables(out, shards[2])
    assert not (out / "parts" / "step5.parquet").exists()


# -- gsm8k: a resumed or rerun run writes the summary of an uninterrupted one ------------------------------

TIMING = ("generation_s", "tokens_per_s")


def _gsm_args(tiny_model_dirs, data, out, *extra):
    return ["gsm8k", "--model", str(tiny_model_dirs["llama"]), "--data", str(data), "--n-shot", "1",
            "--max-new-tokens", "8", "--batch-size", "2", "--device", "cpu", "--out", str(out), *extra]


def _untimed(value):
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k not in TIMING}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


@pytest.fixture(scope="module")
def gsm_reference(tmp_path_factory, tiny_model_dirs):
    """(data file, an uninterrupted run with one --laser edit)."""
    root = tmp_path_factory.mktemp("gsm")
    data = root / "test.jsonl"
    data.write_text("".join(
        json.dumps({"question": f"Ann has {i} apples and buys {i + 2} more. How many apples does she have?",
                    "answer": f"{i} + {i + 2} = {2 * i + 2}\n#### {2 * i + 2}"}) + "\n" for i in range(4)))
    out = root / "reference"
    result = run(*_gsm_args(tiny_model_dirs, data, out, "--laser", "0:mlp_in:0.5"))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert {"n_matrices_edited", "n_hooks", "backend"} <= set(summary) and summary["n_matrices_edited"] == 1
    return data, out


def test_gsm8k_rerun_from_results_alone_writes_the_same_summary(gsm_reference, tiny_model_dirs, tmp_path):
    """A folder whose rows are all in results.parquet (no parts: committed, or parts removed)."""
    data, reference = gsm_reference
    out = tmp_path / "rerun"
    shutil.copytree(reference, out)
    shutil.rmtree(out / "parts")
    result = run(*_gsm_args(tiny_model_dirs, data, out, "--laser", "0:mlp_in:0.5"))
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text()) == json.loads((reference / "summary.json").read_text())
    pd.testing.assert_frame_equal(pd.read_parquet(out / "summary.parquet"), pd.read_parquet(reference / "summary.parquet"))


def test_gsm8k_edit_added_after_the_baseline_finished_writes_the_same_summary(gsm_reference, tiny_model_dirs, tmp_path):
    data, reference = gsm_reference
    out = tmp_path / "later"
    assert run(*_gsm_args(tiny_model_dirs, data, out)).exit_code == 0
    shutil.rmtree(out / "parts" / "baseline")  # the baseline's rows now only in results.parquet
    result = run(*_gsm_args(tiny_model_dirs, data, out, "--laser", "0:mlp_in:0.5"))
    assert result.exit_code == 0, result.output
    assert _untimed(json.loads((out / "summary.json").read_text())) == _untimed(json.loads((reference / "summary.json").read_text()))
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "summary.parquet").drop(columns=list(TIMING)),
        pd.read_parquet(reference / "summary.parquet").drop(columns=list(TIMING)),
    )


# -- toy eval: a killed run's last step is not its final one ------------------------------------------------


def test_toy_eval_refuses_the_last_step_of_an_unfinished_run(tmp_path):
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=4), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    run_dir = tmp_path / "run"
    write_run_config(run_dir, cfg)
    for step in (0, 1, 2):  # a run killed before step 4, the last of its schedule 0, 1, 2, 4
        save_checkpoint(run_dir, step, ToyTransformer(cfg.model), cfg)
    result = run("toy", "eval", str(run_dir), "--n-sequences", "4", "--device", "cpu")
    assert_one_line_error(result, "unfinished run", "step is 2 of the 4", "--step 2")
    assert not list(run_dir.glob("eval*.json"))
    assert run("toy", "eval", str(run_dir), "--step", "2", "--n-sequences", "4", "--device", "cpu").exit_code == 0
    save_checkpoint(run_dir, 4, ToyTransformer(cfg.model), cfg)  # finished: its last step is final
    assert run("toy", "eval", str(run_dir), "--n-sequences", "4", "--device", "cpu").exit_code == 0
