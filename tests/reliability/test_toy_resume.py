"""A killed ``interp toy train`` resumes (issue 22, item 3): started again with the same options it
continues from its newest checkpoint and ends with the weights (bit for bit) and ``metrics.jsonl``
(the wall time ``time_s`` aside) of an uninterrupted run; another config is refused in one line
naming the option; a finished run started again trains nothing and says so.

The random kills (SIGKILL, moments drawn from a seeded generator) are driven by ``run_killer.py``,
as for the other resumable commands (``test_kill_resume.py``); an exception raised from inside the
training loop stands in for a kill at a chosen step, so one resume from the middle is always tested.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import signal
from pathlib import Path

import pytest
import torch
from cli_helpers import assert_one_line_error, run
from kill_driver import drive_until
from safetensors.torch import load_file

from interp.store import STATE_FILE
from interp.toy.checkpoint import checkpoint_steps
from interp.toy.configs import preset, with_overrides
from interp.toy.train import train

STEPS = 64
TINY = {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16, "optim.batch_size": 16,
        "eval_sequences": 16}
ARGS = ["toy", "train", "--task", "noisy-recall", "--steps", str(STEPS), "--eval-every", "4", "--device", "cpu",
        *(a for k, v in TINY.items() for a in ("--set", f"{k}={v}"))]
ATTEMPTS = 5
SEED = 20240615
TIMEOUT_S = 600
KILL_SPAN = 0.6


def _config(**changes):
    return with_overrides(preset("chen", "noisy-recall", steps=STEPS), {**TINY, "eval_every": 4, **changes})


def _records(run_dir: Path) -> list[dict]:
    """metrics.jsonl without the wall time (the one field that differs between two runs)."""
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "time_s"} for line in lines]


def _assert_same_run(got: Path, want: Path) -> None:
    """The same step folders, each with bit-identical weights, the same records and the same config."""
    steps = sorted(p.name for p in want.glob("step*"))
    assert sorted(p.name for p in got.glob("step*")) == steps == sorted(f"step{s}" for s in checkpoint_steps(STEPS))
    for name in steps:
        a, b = load_file(str(got / name / "model.safetensors")), load_file(str(want / name / "model.safetensors"))
        assert a.keys() == b.keys(), name
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name}/{key}"
        assert (got / name / "config.json").read_text() == (want / name / "config.json").read_text()
    assert _records(got) == _records(want)
    assert [r["step"] for r in _records(got)] == sorted({*range(0, STEPS + 1, 4), *checkpoint_steps(STEPS)})
    config, reference = (json.loads((d / "config.json").read_text()) for d in (got, want))
    assert config.pop("provenance")["finished"] and reference.pop("provenance")["finished"]
    assert config == reference and config["format"] == "interp-toy"
    # the training state is kept in the newest checkpoint only; nothing temporary is left
    assert [p.parent.name for p in got.rglob(STATE_FILE)] == [f"step{STEPS}"]
    assert not [p for p in got.rglob("*") if ".tmp" in p.name]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, float]:
    """The run trained once without interruption, through the CLI in this process: (folder, seconds
    its training loop took, by its last record)."""
    out = tmp_path_factory.mktemp("toy-resume") / "uninterrupted"
    result = run(*ARGS, "--out", str(out))
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])["time_s"]


class Killed(Exception):
    pass


def test_a_run_stopped_mid_way_resumes_to_the_uninterrupted_run(uninterrupted, tmp_path, caplog):
    reference, _ = uninterrupted
    out = tmp_path / "stopped"

    def stop_at_20(record: dict) -> None:
        if record["step"] == 20:
            raise Killed  # after checkpoint 16 (with its state) and the records up to 20

    with pytest.raises(Killed):
        train(_config(), out, on_record=stop_at_20)
    assert [r["step"] for r in _records(out)][-1] == 20 and (out / "step16" / STATE_FILE).is_file()
    assert not (out / "step8" / STATE_FILE).exists()  # older states are dropped
    assert json.loads((out / "config.json").read_text())["provenance"]["finished"] is None
    with caplog.at_level(logging.INFO, logger="interp"):
        result = run(*ARGS, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"resuming {out} from step 16 of {STEPS}" in caplog.text
    _assert_same_run(out, reference)
    provenance = json.loads((out / "config.json").read_text())["provenance"]
    assert len(provenance["earlier_sessions"]) == 1  # the session that was stopped


def test_killed_at_random_moments_then_resumed_equals_the_uninterrupted_run(uninterrupted, tmp_path):
    if not hasattr(signal, "SIGKILL") or not hasattr(os, "fork"):
        pytest.skip("needs SIGKILL and fork")
    reference, seconds = uninterrupted
    out = tmp_path / "killed"
    # each attempt is killed within 0.6 of the training time after taking the lock, so several are
    # killed mid-way and the run advances from one to the next (a finished run makes the rest no-ops)

    def resumed_from(attempts: list[dict], final: dict) -> list[int]:
        """The steps the sessions resumed from (each logs it)."""
        logs = [(tmp_path / f"attempt{a['attempt']}.log").read_text() for a in attempts] + [final["output"]]
        return [int(m) for text in logs for m in re.findall(r"resuming .* from step (\d+) of", text)]

    def exercised(attempts: list[dict], final: dict) -> bool:
        _assert_same_run(out, reference)
        return max(resumed_from(attempts, final), default=0) > 0

    attempts, final = drive_until(tmp_path, out, KILL_SPAN * seconds, 1, [*ARGS, "--out", str(out)], seed=SEED,
                                  attempts=ATTEMPTS, timeout=TIMEOUT_S, exercised=exercised)
    resumed = resumed_from(attempts, final)
    provenance = json.loads((out / "config.json").read_text())["provenance"]
    assert resumed and max(resumed) > 0, f"no session resumed from a step after 0 (resumed from: {resumed})"
    assert len(provenance["earlier_sessions"]) >= 2


def test_another_config_is_refused_naming_the_option_and_the_run_is_left_as_it_was(uninterrupted, tmp_path):

    out = shutil.copytree(uninterrupted[0], tmp_path / "run")
    before = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert_one_line_error(run(*ARGS, "--seed", "1", "--out", str(out)), f"{out} holds a toy training run with different options",
                          "--seed was 0, now 1", "use another --out")
    assert_one_line_error(run(*ARGS, "--set", "optim.lr=0.01", "--out", str(out)), "optim.lr was 0.03, now 0.01")
    after = {p.relative_to(out).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in out.rglob("*") if p.is_file()}
    assert after == before


def test_a_finished_run_again_is_a_no_op_that_says_so(uninterrupted, tmp_path, caplog):

    out = shutil.copytree(uninterrupted[0], tmp_path / "run")
    before = {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    with caplog.at_level(logging.INFO, logger="interp"):
        result = run(*ARGS, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"{out} holds this run, finished (step {STEPS} of {STEPS}); nothing to train" in caplog.text
    assert "resuming" not in caplog.text and "step 4 " not in caplog.text  # nothing was trained
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert printed == {k: last[k] for k in ("step", "icl_acc", "p_noise", "p_correct")}
    after = {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes()) for p in out.rglob("*") if p.is_file()}
    assert after == before  # not a byte written, not even config.json's provenance
