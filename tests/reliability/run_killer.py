"""Run ``interp COMMAND ARGS`` in child processes, SIGKILL them at random moments, then once more to the end.

Used by ``test_kill_resume.py``: ``python run_killer.py REPORT SEED ATTEMPTS SECONDS N_PARTS -- COMMAND ARGS...``
(COMMAND one word of the CLI: ``checkpoint-sweep``, ``laser-sweep``, ``gsm8k``).
The heavy imports happen once, here, before any tensor work; each run is a ``fork`` of this
process that calls the CLI (so no run pays the imports, and no child inherits a thread pool).
The moment of each kill is drawn from ``numpy.random.default_rng(SEED)``, uniformly over the
time the work left would take (``SECONDS`` is an uninterrupted run's, which writes ``N_PARTS``
parts), counted from the moment the child holds the output folder's lock. REPORT (json) lists
each attempt and the final run, and the finished parts the final run wrote again (none should be).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

import interp.checkpoint_sweeps.plots  # noqa: F401 - the figures' matplotlib too
import interp.checkpoint_sweeps.run  # noqa: F401
import interp.cli  # noqa: F401 - the commands and the library they call, imported once before forking
import interp.gsm8k.plots  # noqa: F401
import interp.gsm8k.run  # noqa: F401
import interp.laser.plots  # noqa: F401
import interp.laser.run  # noqa: F401

POLL_S = 0.005


def _child(args: list[str], log: Path) -> None:
    """In the forked child: run the command with stdout/stderr into ``log``; never returns."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 1
    try:
        from interp.cli import main

        main(args)  # as the console command: its logging too ("resuming ... from step N")
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _start(args: list[str], log: Path) -> int:
    pid = os.fork()
    if pid == 0:
        _child(args, log)
    return pid


def _holds_lock(out: Path, pid: int) -> bool:
    try:
        return (out / ".interp.lock.pid").read_text().strip() == str(pid)
    except OSError:
        return False


def _run_once(args: list[str], out: Path, log: Path, moment: float | None) -> dict:
    """One run; killed ``moment`` seconds after it takes the lock (None: run to the end)."""
    pid = _start(args, log)
    killed = False
    if moment is not None:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"moment": moment, "killed": False, "rc": os.waitstatus_to_exitcode(status)}
            if _holds_lock(out, pid):
                break
            time.sleep(POLL_S)
        time.sleep(moment)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"moment": moment, "killed": False, "rc": os.waitstatus_to_exitcode(status)}
        os.kill(pid, signal.SIGKILL)
        killed = True
    _, status = os.waitpid(pid, 0)
    return {"moment": moment, "killed": killed, "rc": os.waitstatus_to_exitcode(status)}


def _torn_files(out: Path) -> list[str]:
    """Files a reader would open (not the hidden temporaries) that do not parse."""
    torn = []
    for path in out.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            try:
                if path.suffix == ".parquet":
                    pd.read_parquet(path)
                elif path.suffix == ".json":
                    json.loads(path.read_text())
            except Exception as err:  # noqa: BLE001 - reported, the test fails on it
                torn.append(f"{path.relative_to(out)}: {type(err).__name__}")
    return torn


def _parts(out: Path) -> dict[str, int]:
    """{part: its parquet's mtime in ns} for the finished parts (parts/**/*.parquet, temporaries left out)."""
    folder = out / "parts"
    found = folder.rglob("*.parquet") if folder.is_dir() else []
    return {p.relative_to(folder).as_posix(): p.stat().st_mtime_ns for p in found if not p.name.startswith(".")}


def main(argv: list[str]) -> None:
    split = argv.index("--")
    report_path, seed, attempts, seconds, n_parts = Path(argv[0]), int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4])
    args = argv[split + 1:]
    out = Path(args[args.index("--out") + 1])
    rng = np.random.default_rng(seed)
    runs = []
    for attempt in range(attempts):
        parts = len(_parts(out))
        remaining = seconds * (n_parts - parts + 1) / (n_parts + 1)  # +1: the tables' final rebuild
        moment = float(rng.uniform(0.0, remaining))
        log = report_path.with_name(f"attempt{attempt}.log")
        runs.append({"attempt": attempt, "parts_before": parts, **_run_once(args, out, log, moment), "torn": _torn_files(out)})
    before = _parts(out)
    final_log = report_path.with_name("final.log")
    final = {"parts_before": len(before), **_run_once(args, out, final_log, None), "output": final_log.read_text(),
             "torn": _torn_files(out)}
    after = _parts(out)
    final["rewritten"] = sorted(name for name, mtime in before.items() if after.get(name) != mtime)
    report_path.write_text(json.dumps({"attempts": runs, "final": final}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
