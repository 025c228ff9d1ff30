"""Kill and resume: a sweep killed with SIGKILL at random moments, then run again with the same
arguments, ends with exactly the rows of an uninterrupted sweep (none lost, none twice) and
never leaves a half-written file where a reader would take it for a whole one."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")

KILLS = 2  # each restart pays ~7 s of imports (torch, transformers) on a small CI machine
STARTUP_TIMEOUT_S = 120


def _command(model: Path, out: Path) -> list[str]:
    # the reference sweep's arguments (conftest.SWEEP_ARGS)
    return [
        sys.executable, "-m", "interp.cli", "checkpoint-sweep", "--model", str(model), "--steps", "all",
        "--task", "factual", "--n", "6", "--device", "cpu", "--out", str(out),
    ]


def _wait_for(log: Path, needle: str, count: int, proc: subprocess.Popen) -> None:
    """Until ``needle`` appears ``count`` times in the log (or the process ends)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if log.read_text(errors="replace").count(needle) >= count:
            return
        time.sleep(0.02)


def _assert_whole_files(out: Path) -> None:
    """Every file a reader would open is complete: parquet and json parse; temporaries are hidden."""
    for path in out.rglob("*"):
        if not path.is_file() or path.name.startswith("."):
            continue
        if path.suffix == ".parquet":
            pd.read_parquet(path)
        elif path.suffix == ".json":
            json.loads(path.read_text())


def test_sigkill_at_random_moments_then_rerun_gives_the_uninterrupted_rows(
    reference_sweep, tiny_steps_dir, tmp_path, assert_same_rows
):
    _, expected = reference_sweep
    out = tmp_path / "killed"
    command = _command(tiny_steps_dir, out)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    steps = sorted(expected["step"].unique())
    rng = random.Random(20240605)
    kills = 0
    for attempt in range(KILLS):
        log = tmp_path / f"attempt{attempt}.log"
        with log.open("w") as stderr:
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
            # kill after a random number of steps (drawn so that each attempt leaves work for the
            # next), at a random moment of the step after them
            remaining = len(steps) - len(list((out / "parts").glob("*.parquet")))
            _wait_for(log, "to evaluate", 1, proc)
            _wait_for(log, " done (", rng.randrange(max(1, remaining // (KILLS - attempt))), proc)
            time.sleep(rng.uniform(0.0, 0.6))
            killed = proc.poll() is None
            if killed:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.wait()
        _assert_whole_files(out)
        print(f"attempt {attempt}: killed {killed}, parts {sorted(p.name for p in out.rglob('step*.parquet'))}")
    assert kills >= 1, "every run finished before it could be killed"
    done_before = len(list((out / "parts").glob("*.parquet")))
    final = subprocess.run(command, capture_output=True, text=True, env=env, timeout=STARTUP_TIMEOUT_S)
    assert final.returncode == 0, final.stderr[-2000:]
    assert f"{done_before} already done" in final.stdout  # finished steps are not evaluated again
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    _assert_whole_files(out)
    assert_same_rows(pd.read_parquet(out / "results.parquet"), expected)
    parts = sorted(p.name for p in (out / "parts").glob("*.parquet"))
    assert parts == sorted(f"step{s}.parquet" for s in steps)
