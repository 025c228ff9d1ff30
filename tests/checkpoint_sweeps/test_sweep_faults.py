"""A sweep survives a bad step and resume checks what it finds.

A corrupt checkpoint among good ones: the others are evaluated and kept, the step is named with
its reason in warnings.json and the log, the command ends with one line and exit code 2, and a
rerun (after the checkpoint is fixed) retries just that step. A damaged output folder: an
unreadable part or a missing/garbled step json is deleted with a warning and the step evaluated
again (the final tables equal an undamaged run's); a garbled sweep.json is a one-line error
saying how to start over.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.models.spec import ModelSpec


def _cli_args(model: Path, out: Path) -> list[str]:
    # the reference sweep's arguments (conftest.SWEEP_ARGS)
    return ["checkpoint-sweep", "--model", str(model), "--steps", "all", "--task", "factual", "--n", "6", "--device", "cpu", "--out", str(out)]


def _sweep(model: Path, out: Path, sweep_args: dict, **extra):
    return run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(model)), **{**sweep_args, **extra}))


def _warnings(out: Path) -> dict:
    return json.loads((out / "warnings.json").read_text())


def _assert_same_tables(out: Path, reference: Path, assert_same_rows) -> None:
    assert_same_rows(pd.read_parquet(out / "results.parquet"), pd.read_parquet(reference / "results.parquet"))
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "summary.parquet"), pd.read_parquet(reference / "summary.parquet"), rtol=1e-5
    )


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_a_corrupt_step_is_recorded_the_others_kept_and_a_rerun_retries_it(
    damage, steps_dir_copy, reference_sweep, tmp_path, assert_same_rows
):
    ref_dir, expected = reference_sweep
    weights = steps_dir_copy / "step2" / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 3] if damage == "truncated" else b"")
    out = tmp_path / "sweep"

    result = run(*_cli_args(steps_dir_copy, out))
    assert_one_line_error(result, "step 2 could not be evaluated (", "step2", "SafetensorError", "rerun the same command to retry it")
    assert "steps without results yet: 2" in result.stdout
    results = pd.read_parquet(out / "results.parquet")
    assert sorted(results["step"].unique()) == [0, 1, 4, 8]
    assert_same_rows(results, expected[expected["step"] != 2])
    assert list(pd.read_parquet(out / "summary.parquet")["step"]) == [0, 1, 4, 8]
    (failure,) = _warnings(out)["failed_steps"]
    assert failure["step"] == 2 and "step2" in failure["reason"] and "SafetensorError" in failure["reason"]
    assert _warnings(out)["duplicate_weights"] == []
    assert (out / "training_dynamics.png").is_file()
    assert not (out / "parts" / "step2.parquet").exists()

    weights.write_bytes(good)  # the checkpoint is restored: the same command retries step 2 only
    again = run(*_cli_args(steps_dir_copy, out))
    assert again.exit_code == 0, again.output
    assert "evaluated 1 steps (2); 4 already done" in again.stdout
    assert _warnings(out)["failed_steps"] == []
    _assert_same_tables(out, ref_dir, assert_same_rows)


def test_a_failed_step_is_logged_and_the_library_reports_it(steps_dir_copy, sweep_args, tmp_path, caplog):
    (steps_dir_copy / "step4" / "config.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="interp"):
        report = _sweep(steps_dir_copy, tmp_path / "s", sweep_args, prefetch=False)
    assert report.evaluated == [0, 1, 2, 8] and list(report.failed) == [4] and report.missing == [4]
    assert "step 4" in report.failure_message and "rerun" in report.failure_message
    assert any(r.getMessage().startswith("step 4 failed: ") for r in caplog.records)
    assert [f["step"] for f in _warnings(tmp_path / "s")["failed_steps"]] == [4]


def test_a_recorded_failure_stays_in_warnings_until_the_step_has_a_part(steps_dir_copy, tiny_steps_dir, sweep_args, tmp_path):
    out = tmp_path / "s"
    shutil.rmtree(steps_dir_copy / "step8")
    (steps_dir_copy / "step8").mkdir()  # a step folder without weights
    (steps_dir_copy / "step8" / "config.json").write_text(json.dumps({"model_type": "gpt_neox"}))
    assert list(_sweep(steps_dir_copy, out, sweep_args).failed) == [8]
    # a rerun that does not try step 8 (shard 1/2 is steps 1 and 4) keeps its record
    other_shard = _sweep(steps_dir_copy, out, sweep_args, shard="1/2")
    assert other_shard.evaluated == [] and not other_shard.failed
    assert [f["step"] for f in _warnings(out)["failed_steps"]] == [8]
    shutil.rmtree(steps_dir_copy / "step8")
    shutil.copytree(tiny_steps_dir / "step8", steps_dir_copy / "step8")
    fixed = _sweep(steps_dir_copy, out, sweep_args)
    assert fixed.evaluated == [8] and not fixed.failed and fixed.failure_message is None
    assert _warnings(out)["failed_steps"] == []


@pytest.mark.parametrize(
    "damage",
    ["empty part", "truncated part", "missing json", "garbled json", "json without fingerprint"],
)
def test_a_damaged_part_is_evaluated_again(damage, reference_sweep, tiny_steps_dir, sweep_args, tmp_path, caplog, assert_same_rows):
    ref_dir, _ = reference_sweep
    out = tmp_path / "sweep"
    shutil.copytree(ref_dir, out)
    part, meta = out / "parts" / "step4.parquet", out / "parts" / "step4.json"
    if damage == "empty part":
        part.write_bytes(b"")
    elif damage == "truncated part":
        part.write_bytes(part.read_bytes()[:100])
    elif damage == "missing json":
        meta.unlink()
    elif damage == "garbled json":
        meta.write_text('{"fingerprint": "ab')
    else:
        meta.write_text(json.dumps({"step": 4}))
    with caplog.at_level(logging.WARNING, logger="interp"):
        report = _sweep(tiny_steps_dir, out, sweep_args)
    assert report.evaluated == [4] and report.already_done == [0, 1, 2, 8] and list(report.reevaluated) == [4]
    assert any("step 4:" in r.getMessage() and "evaluated again" in r.getMessage() for r in caplog.records)
    assert not report.failed
    _assert_same_tables(out, ref_dir, assert_same_rows)
    assert json.loads(meta.read_text())["fingerprint"]


def test_a_damaged_part_found_by_the_command_is_reported_and_redone(reference_sweep, tiny_steps_dir, tmp_path):
    ref_dir, _ = reference_sweep
    out = tmp_path / "sweep"
    shutil.copytree(ref_dir, out)
    (out / "parts" / "step1.parquet").write_bytes(b"")
    result = run(*_cli_args(tiny_steps_dir, out))
    assert result.exit_code == 0, result.output
    assert "evaluated 1 steps (1); 4 already done" in result.stdout


@pytest.mark.parametrize("content", [b"", b'{"format": "interp-checkpoint-sweep", "argu', b"\xff\xfe\x00garbage", b"[1, 2]"])
def test_a_garbled_sweep_json_is_a_one_line_error_saying_how_to_start_over(content, reference_sweep, tiny_steps_dir, tmp_path):
    ref_dir, _ = reference_sweep
    out = tmp_path / "sweep"
    shutil.copytree(ref_dir, out)
    (out / "sweep.json").write_bytes(content)
    result = run(*_cli_args(tiny_steps_dir, out))
    assert_one_line_error(result, f"{out / 'sweep.json'} is ", f"remove the folder {out}", "another --out")
    merged = run("checkpoint-sweep", "--merge", str(out), "--out", str(tmp_path / "merged"))
    assert_one_line_error(merged, "sweep.json is ", "start the sweep over")


def test_every_step_failing_is_one_line_naming_them_all(steps_dir_copy, tmp_path):
    for step in (0, 1, 2, 4, 8):
        (steps_dir_copy / f"step{step}" / "model.safetensors").write_bytes(b"")
    out = tmp_path / "sweep"
    result = run(*_cli_args(steps_dir_copy, out))
    assert_one_line_error(result, "steps 0, 1, 2, 4, 8 could not be evaluated (step 0: ", "retry them")
    assert [f["step"] for f in _warnings(out)["failed_steps"]] == [0, 1, 2, 4, 8]
    assert pd.read_parquet(out / "results.parquet").empty


def test_merge_leaves_out_an_unreadable_part_with_a_warning(reference_sweep, tmp_path, caplog):
    ref_dir, _ = reference_sweep
    shard = tmp_path / "shard"
    shutil.copytree(ref_dir, shard)
    (shard / "parts" / "step8.json").write_text("{")
    with caplog.at_level(logging.WARNING, logger="interp"):
        result = run("checkpoint-sweep", "--merge", str(shard), "--out", str(tmp_path / "merged"))
    # the merge writes the steps it has, then exits 2 naming the one it lacks (issue 22: it exited 0 with 4/5)
    assert_one_line_error(result, "the merge is incomplete: 1 of 5 steps", "(step 8)", "step8.json is unreadable")
    assert "steps without results yet: 8" in result.stdout
    assert any("step 8 of" in m and "not merged" in m for m in caplog.messages)
    assert sorted(pd.read_parquet(tmp_path / "merged" / "results.parquet")["step"].unique()) == [0, 1, 2, 4]


def test_merge_into_a_folder_with_a_damaged_part_copies_the_step_again(reference_sweep, tmp_path, caplog):
    ref_dir, _ = reference_sweep
    merged = tmp_path / "merged"
    assert run("checkpoint-sweep", "--merge", str(ref_dir), "--out", str(merged)).exit_code == 0
    (merged / "parts" / "step4.json").write_text("{")  # the target's own sidecar garbled
    (merged / "parts" / "step2.parquet").write_bytes(b"")  # and one of its parts emptied
    with caplog.at_level(logging.WARNING, logger="interp"):
        result = run("checkpoint-sweep", "--merge", str(ref_dir), "--out", str(merged))
    assert result.exit_code == 0, result.output
    assert {int(m.split()[1].rstrip(":")) for m in caplog.messages if "deleted its part" in m} == {2, 4}
    pd.testing.assert_frame_equal(pd.read_parquet(merged / "results.parquet"), pd.read_parquet(ref_dir / "results.parquet"))
