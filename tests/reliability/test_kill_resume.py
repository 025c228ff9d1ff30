"""Random-kill resume, for every resumable command: ``interp checkpoint-sweep``, ``laser-sweep`` and
``gsm8k`` killed with SIGKILL at random moments (drawn from a seeded numpy Generator) several
times, then run to the end, give exactly the tables of an uninterrupted run, never write a
finished part again, and a reader never finds a torn file in between.

The runs are driven by ``run_killer.py`` in its own process: it imports the CLI once and forks
one child per run (a fresh interpreter per run would pay several seconds of imports each). A
moment is drawn after the child holds its folder's lock, so the window covers opening the
sources, writing the definition, each part and the tables' rebuilds; an attempt that finishes
first is simply not killed. ``-s`` prints the attempts.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pandas as pd
import pytest
from kill_driver import drive_until

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL") or not hasattr(os, "fork"), reason="needs SIGKILL and fork")

ATTEMPTS = 4
SEED = 20240614
ARGS = ["--steps", "all", "--task", "factual", "--n", "6", "--laser", "1:mlp_in:0.5", "--device", "cpu"]
TIMEOUT_S = 300


def _kill_and_resume(tmp_path: Path, seconds: float, n_parts: int, command: list[str]) -> dict:
    """Drive ``interp COMMAND`` through ATTEMPTS random kills and a final run; check what holds for
    every command (no torn file, enough kills, a clean end, no finished part written again)."""
    out = Path(command[command.index("--out") + 1])
    _, final = drive_until(tmp_path, out, seconds, n_parts, command, seed=SEED, attempts=ATTEMPTS, timeout=TIMEOUT_S,
                           exercised=lambda attempts, final: final["parts_before"] > 0)
    assert final["parts_before"] > 0, "no run was killed after writing a part: the resume from parts was not exercised"
    assert final["rewritten"] == []  # finished parts are kept, not made again
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]
    return final


def _reference(tmp_path: Path, command: list[str]) -> tuple[Path, float]:
    """``interp COMMAND`` run once without interruption, in this process: (its folder, the seconds
    until its last part was written). The kills are drawn over that span, where the parts are made;
    the tables' rebuild and figures after it are covered by the margin of one part."""
    from cli_helpers import run

    folder = tmp_path / "uninterrupted"
    t0 = time.time()
    result = run(*command, "--out", str(folder))
    assert result.exit_code == 0, result.output
    last = max(p.stat().st_mtime for p in (folder / "parts").rglob("*.parquet"))
    return folder, last - t0


def _assert_same_tables(out: Path, reference: Path, names: tuple[str, ...], drop: tuple[str, ...] = ()) -> None:
    for name in names:
        got, want = (pd.read_parquet(folder / name).drop(columns=list(drop), errors="ignore") for folder in (out, reference))
        pd.testing.assert_frame_equal(got, want, check_exact=True, obj=name)


# -- checkpoint-sweep ------------------------------------------------------------------------------

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
    final = _kill_and_resume(tmp_path, seconds, len(steps), ["checkpoint-sweep", "--model", str(tiny_steps_dir), *ARGS, "--out", str(out)])
    assert f"{final['parts_before']} already done" in final["output"]  # finished steps are not evaluated again
    assert sorted(p.name for p in (out / "parts").glob("*.parquet")) == sorted(f"{p.name}.parquet" for p in steps)
    _assert_same_tables(out, reference, ("results.parquet", "summary.parquet"))


# -- laser-sweep ---------------------------------------------------------------------------------------

LASER_ARGS = ["--task", "factual", "--n", "96", "--layers", "all", "--rhos", "0.5,0.1", "--controls", "--lm-tokens", "256",
              "--compose", "2", "--device", "cpu"]
LASER_PARTS = 1 + 2 * 2 * (2 + 2 + 1) + 1  # baseline; 2 layers x 2 matrices x (lowrank, random) x 2 rhos + zero; compose step 2


def test_laser_sweep_killed_at_random_moments_then_resumed_equals_the_uninterrupted_run(tiny_model_dirs, tmp_path):
    model = str(tiny_model_dirs["gpt2"])
    reference, seconds = _reference(tmp_path, ["laser-sweep", "--model", model, *LASER_ARGS])
    assert len(list((reference / "parts").rglob("*.parquet"))) == LASER_PARTS

    out = tmp_path / "killed"
    final = _kill_and_resume(tmp_path, seconds, LASER_PARTS, ["laser-sweep", "--model", model, *LASER_ARGS, "--out", str(out)])
    assert "best (chosen on" in final["output"]
    _assert_same_tables(out, reference, ("results.parquet", "summary.parquet", "compose.parquet"))
    best, want = (json.loads((folder / "best.json").read_text()) for folder in (out, reference))
    assert {k: v for k, v in best.items() if k not in ("seconds", "svd_cache")} == {k: v for k, v in want.items() if k not in ("seconds", "svd_cache")}


# -- gsm8k ------------------------------------------------------------------------------------------------

GSM_PROBLEMS = 16


def _gsm_file(folder: Path) -> Path:
    rows = [{"question": f"Ann has {i} apples and buys {i + 2} more. How many apples does she have?",
             "answer": f"{i} + {i + 2} = <<{i}+{i + 2}={2 * i + 2}>>{2 * i + 2}\n#### {2 * i + 2}"} for i in range(GSM_PROBLEMS)]
    path = folder / "test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_gsm8k_killed_at_random_moments_then_resumed_equals_the_uninterrupted_run(long_tiny_dirs, tmp_path):
    data = _gsm_file(tmp_path)
    args = ["--model", str(long_tiny_dirs["llama"]), "--data", str(data), "--n-shot", "1", "--max-new-tokens", "16",
            "--batch-size", "2", "--laser", "0:mlp_in:0.5", "--device", "cpu"]
    reference, seconds = _reference(tmp_path, ["gsm8k", *args])
    n_parts = 2 * GSM_PROBLEMS // 2  # two configs, batches of two problems
    assert len(list((reference / "parts").rglob("*.parquet"))) == n_parts

    out = tmp_path / "killed"
    final = _kill_and_resume(tmp_path, seconds, n_parts, ["gsm8k", *args, "--out", str(out)])
    assert "baseline: accuracy" in final["output"]
    # timings differ from run to run; after a kill, the problems left are batched anew
    _assert_same_tables(out, reference, ("results.parquet",), drop=("batch", "batch_wall_s"))
    _assert_same_tables(out, reference, ("summary.parquet",), drop=("tokens_per_s", "generation_s"))
