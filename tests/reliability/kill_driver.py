"""The random-kill tests' driver: ``run_killer.py`` over one command, the checks every attempt must
pass, and a kill span that widens when the kills missed what the test needs.

The span is drawn from the in-process reference run's time, but the forked child can run at
another speed (a loaded CI machine, a cold cache), so a span that fits one machine can end before
the first part or checkpoint on another: the span is tried at :data:`SPAN_SCALES` times until
``exercised`` holds.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SPAN_SCALES = (1, 2, 4)


def drive(tmp_path: Path, span: float, n_parts: int, args: list[str], *, seed: int, attempts: int, timeout: float) -> tuple[list[dict], dict]:
    """``run_killer.py`` over ``interp ARGS`` with kills drawn within ``span`` seconds: (attempts, final run),
    each attempt untorn and either killed or finished, the final run finished and untorn."""
    report_path = tmp_path / "report.json"
    driver = subprocess.run(
        [sys.executable, str(HERE / "run_killer.py"), str(report_path), str(seed), str(attempts), f"{span:.3f}",
         str(n_parts), "--", *args],
        capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}, cwd=REPO,
        timeout=timeout,
    )
    assert driver.returncode == 0, driver.stderr[-3000:]
    report = json.loads(report_path.read_text())
    runs, final = report["attempts"], report["final"]
    print(f"span {span:.2f} s, attempts:", [{k: a[k] for k in ("moment", "killed", "parts_before", "rc")} for a in runs])
    for a in runs:
        assert not a["torn"], f"attempt {a['attempt']} left torn files: {a['torn']}"
        assert a["killed"] or a["rc"] == 0, (tmp_path / f"attempt{a['attempt']}.log").read_text()[-2000:]
    assert final["rc"] == 0 and not final["torn"], final["output"][-2000:]
    return runs, final


def drive_until(tmp_path: Path, out: Path, seconds: float, n_parts: int, args: list[str], *, seed: int, attempts: int,
                timeout: float, exercised: Callable[[list[dict], dict], bool]) -> tuple[list[dict], dict]:
    """:func:`drive` from an empty ``out`` with the span ``seconds`` times each of :data:`SPAN_SCALES` in
    turn, until ``exercised(attempts, final)``; the last try's (attempts, final), with at least two kills."""
    for scale in SPAN_SCALES:
        shutil.rmtree(out, ignore_errors=True)
        runs, final = drive(tmp_path, seconds * scale, n_parts, args, seed=seed, attempts=attempts, timeout=timeout)
        if exercised(runs, final):
            break
    assert sum(a["killed"] for a in runs) >= 2, f"too few runs were killed before finishing: {runs}"
    return runs, final
