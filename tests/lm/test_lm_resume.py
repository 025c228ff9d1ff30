"""Kill and resume: a training run stopped at any moment and started again ends bit-identical to an uninterrupted one on CPU.

Two ways: an exception raised inside the loop (in this process, deterministic), and ``interp lm
train`` killed with SIGKILL at random moments several times by ``lm_killer.py`` (its own process
forks one child per run; ``-s`` prints the attempts). Both compare every checkpoint's weights, byte
for byte, and the loss history with the uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.lm.conftest import TINY_STEPS, cli_sets, tiny_config

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
KILL_STEPS = 96  # checkpoints 0, 1, 2, ..., 64 and every 8 steps to 96 (KILL_SETS): kills land between many of them
KILL_SETS = {"checkpoints__n_evenly": 12}
ATTEMPTS = 5
SEED = 20240917
TIMEOUT_S = 300


def _train(cfg, out: Path):
    from interp.lm.train import train

    return train(cfg, out, device="cpu", progress=False)


def _history(run: Path) -> list[dict]:
    return json.loads((run / "train.json").read_text())["history"]


def _same_checkpoints(run: Path, reference: Path) -> None:
    steps = sorted(p.name for p in reference.glob("step*"))
    assert sorted(p.name for p in run.glob("step*")) == steps
    for name in steps:
        assert (run / name / "model.safetensors").read_bytes() == (reference / name / "model.safetensors").read_bytes(), name
    assert _history(run) == _history(reference)


class _Stop(Exception):
    pass


def test_interrupted_inside_the_loop_then_resumed_equals_the_uninterrupted_run(tiny_run, tmp_path, monkeypatch):
    import interp.lm.train as train_module

    real = train_module.lm_loss
    calls = {"n": 0}

    def stop_at_step_20(model, batch):
        calls["n"] += 1
        if calls["n"] == 20:
            raise _Stop
        return real(model, batch)

    out = tmp_path / "run"
    monkeypatch.setattr(train_module, "lm_loss", stop_at_step_20)
    with pytest.raises(_Stop):
        _train(tiny_config(), out)
    monkeypatch.setattr(train_module, "lm_loss", real)
    assert [p.parent.name for p in out.glob("step*/trainer_state.pt")] == ["step16"]  # the newest before the stop
    assert not (out / f"step{TINY_STEPS}").exists()
    result = _train(tiny_config(), out)
    assert result.resumed_from == 16
    _same_checkpoints(out, tiny_run)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> tuple[Path, float]:
    out = tmp_path_factory.mktemp("kill") / "uninterrupted"
    t0 = time.perf_counter()
    _train(tiny_config(steps=KILL_STEPS, **KILL_SETS), out)
    return out, time.perf_counter() - t0


@pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not hasattr(os, "fork"), reason="needs SIGKILL and fork")
def test_killed_at_random_moments_then_resumed_is_bit_identical(uninterrupted, tmp_path):
    reference, seconds = uninterrupted
    out = tmp_path / "killed"
    report_path = tmp_path / "report.json"
    args = ["--out", str(out), "--size", "tiny", "--steps", str(KILL_STEPS), *cli_sets(), "--set", "checkpoints.n_evenly=12",
            "--device", "cpu", "--no-progress"]
    command = [sys.executable, str(HERE / "lm_killer.py"), str(report_path), str(SEED), str(ATTEMPTS), f"{seconds:.3f}",
               str(KILL_STEPS), "--", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    driver = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=TIMEOUT_S)
    assert driver.returncode == 0, driver.stderr[-3000:]
    report = json.loads(report_path.read_text())
    attempts, final = report["attempts"], report["final"]
    print(f"uninterrupted: {seconds:.2f} s; attempts:", [{k: a[k] for k in ("after_step", "moment", "killed", "checkpoints_before", "rc")} for a in attempts])

    for a in attempts:
        assert not a["torn"], f"attempt {a['attempt']} left torn files: {a['torn']}"
        assert a["killed"] or a["rc"] == 0, (tmp_path / f"attempt{a['attempt']}.log").read_text()[-2000:]
    after = [a["checkpoints_before"] for a in attempts[1:]] + [final["checkpoints_before"]]
    mid_training = [a for a, saved in zip(attempts, after) if a["killed"] and (not saved or max(saved) < KILL_STEPS)]
    assert len(mid_training) >= 2, f"too few runs were killed before the training ended: {attempts}"
    assert final["rc"] == 0, final["output"][-2000:]
    assert not final["torn"]
    line = json.loads(final["output"].strip().splitlines()[-1])
    before = final["checkpoints_before"]
    assert line["resumed_from"] == (max(before) if before else None) or not before
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    _same_checkpoints(out, reference)
