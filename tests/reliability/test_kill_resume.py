"""Random-kill resume: ``interp checkpoint-sweep`` killed with SIGKILL at random moments (drawn from
a seeded numpy Generator) several times, then run to the end, gives exactly the
``results.parquet`` and ``summary.parquet`` of an uninterrupted run, and a reader never finds a
torn file in between.

The runs are driven by ``sweep_killer.py`` in its own process: it imports the CLI once and forks
one child per run (a fresh interpreter per run would pay several seconds of imports each). A
moment is drawn after the child holds its folder's lock, so the window covers opening the
sources, writing ``sweep.json``, each step's part and the tables' rebuilds; an attempt that
finishes first is simply not killed. ``-s`` prints the attempts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not hasattr(os, "fork"), reason="needs SIGKILL and fork")

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ATTEMPTS = 4
SEED = 20240614
ARGS = ["--steps", "all", "--task", "factual", "--n", "6", "--laser", "1:mlp_in:0.5", "--device", "cpu"]
TIMEOUT_S = 300


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_steps_dir) -> tuple[Path, float]:
    """The same sweep run once without interruption (in this process): (folder, seconds it took)."""
    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.edits.spec import Edit
    from interp.models.spec import ModelSpec

    out = tmp_path_factory.mktemp("kill") / "uninterrupted"
    t0 = time.perf_counter()
    run_sweep(SweepConfig(
        out=str(out), model=ModelSpec.parse(str(tiny_steps_dir)), steps="all", task="factual", n=6,
        laser=(Edit.parse("1:mlp_in:0.5"),), device="cpu",
    ))
    return out, time.perf_counter() - t0


def test_killed_at_random_moments_then_resumed_equals_the_uninterrupted_run(tiny_steps_dir, uninterrupted, tmp_path):
    reference, seconds = uninterrupted
    steps = sorted(tiny_steps_dir.glob("step*"))
    out = tmp_path / "killed"
    report_path = tmp_path / "report.json"
    command = [sys.executable, str(HERE / "sweep_killer.py"), str(report_path), str(SEED), str(ATTEMPTS), f"{seconds:.3f}",
               str(len(steps)), "--", "--model", str(tiny_steps_dir), *ARGS, "--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    driver = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, timeout=TIMEOUT_S)
    assert driver.returncode == 0, driver.stderr[-3000:]
    report = json.loads(report_path.read_text())
    attempts, final = report["attempts"], report["final"]
    print("attempts:", [{k: a[k] for k in ("moment", "killed", "parts_before", "rc")} for a in attempts])

    for a in attempts:
        assert not a["torn"], f"attempt {a['attempt']} left torn files: {a['torn']}"
        assert a["killed"] or a["rc"] == 0, (tmp_path / f"attempt{a['attempt']}.log").read_text()[-2000:]
    assert sum(a["killed"] for a in attempts) >= 2, f"too few runs were killed before finishing: {attempts}"

    assert final["rc"] == 0, final["output"][-2000:]
    assert not final["torn"]
    assert f"{final['parts_before']} already done" in final["output"]  # finished steps are not evaluated again
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    assert sorted(p.name for p in (out / "parts").glob("*.parquet")) == sorted(f"{p.name}.parquet" for p in steps)
    for name in ("results.parquet", "summary.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), pd.read_parquet(reference / name), check_exact=True, obj=name)
