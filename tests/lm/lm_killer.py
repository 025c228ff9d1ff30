"""Run ``interp lm train ARGS`` in child processes, SIGKILL them at random moments, then once more to the end.

Used by ``test_lm_resume.py``: ``python lm_killer.py REPORT SEED ATTEMPTS SECONDS STEPS -- ARGS...``.
The heavy imports happen once, here, before any tensor work; each run is a ``fork`` of this
process that calls the CLI (so no run pays the imports, and no child inherits a thread pool).
The moments are drawn from ``numpy.random.default_rng(SEED)``: the first attempt is killed
uniformly within the start-up (the first 15% of ``SECONDS``, an uninterrupted run's time of
``STEPS`` steps, counted from the moment the child holds the run folder's lock: corpus, tokenizer,
the first checkpoints); each later one once a checkpoint drawn uniformly from those still to come
(``train.json``'s schedule, the last excluded) is in place, after a delay drawn uniformly over the
time of the steps up to the next one, so the kill lands anywhere in training or checkpoint writing. REPORT (json) lists each attempt (the checkpoints it found, whether it was killed,
files a reader would find torn) and the final run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np

import interp.cli  # noqa: F401 - the command and the library it calls, imported once before forking
import interp.lm.train  # noqa: F401

POLL_S = 0.005


def _child(args: list[str], log: Path) -> None:
    """In the forked child: run the command with stdout/stderr into ``log``; never returns."""
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    code = 1
    try:
        from interp.cli import app

        app(["lm", "train", *args], standalone_mode=True)
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _holds_lock(out: Path, pid: int) -> bool:
    try:
        return (out / ".interp.lock.pid").read_text().strip() == str(pid)
    except OSError:
        return False


def _run_once(args: list[str], out: Path, log: Path, moment: float | None, after_step: int | None = None) -> dict:
    """One run; killed ``moment`` seconds after it takes the lock, or after ``step{after_step}`` appears (None: to the end)."""
    pid = os.fork()
    if pid == 0:
        _child(args, log)
    killed = False
    if moment is not None:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return {"moment": moment, "after_step": after_step, "killed": False, "rc": os.waitstatus_to_exitcode(status)}
            ready = _holds_lock(out, pid) if after_step is None else (out / f"step{after_step}").is_dir()
            if ready:
                break
            time.sleep(POLL_S)
        time.sleep(moment)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"moment": moment, "after_step": after_step, "killed": False, "rc": os.waitstatus_to_exitcode(status)}
        os.kill(pid, signal.SIGKILL)
        killed = True
    _, status = os.waitpid(pid, 0)
    return {"moment": moment, "after_step": after_step, "killed": killed, "rc": os.waitstatus_to_exitcode(status)}


def _schedule(out: Path) -> list[int]:
    try:
        return list(json.loads((out / "train.json").read_text())["schedule"]["checkpoints"])
    except (OSError, ValueError, KeyError):
        return []


def _checkpoints(out: Path) -> list[int]:
    return sorted(int(p.name[4:]) for p in out.glob("step*") if p.name[4:].isdigit())


def _torn(out: Path) -> list[str]:
    """Files a reader would open (not the hidden temporaries) that are incomplete."""
    torn = []
    if (out / "train.json").exists():
        try:
            json.loads((out / "train.json").read_text())
        except ValueError as err:
            torn.append(f"train.json: {err}")
    for step in _checkpoints(out):
        names = {p.name for p in (out / f"step{step}").iterdir()}
        if not {"config.json", "model.safetensors", "tokenizer.json"} <= names:
            torn.append(f"step{step}: {sorted(names)}")
    return torn


def main(argv: list[str]) -> None:
    split = argv.index("--")
    report_path, seed, attempts, seconds, steps = Path(argv[0]), int(argv[1]), int(argv[2]), float(argv[3]), int(argv[4])
    args = argv[split + 1:]
    out = Path(args[args.index("--out") + 1])
    rng = np.random.default_rng(seed)
    runs = []
    per_step = seconds * 0.85 / steps
    for attempt in range(attempts):
        before = _checkpoints(out)
        done = before[-1] if before else 0
        to_come = [c for c in _schedule(out) if done < c < steps]
        if attempt == 0 or not to_come:
            after_step, moment = None, float(rng.uniform(0.0, 0.15 * seconds))
        else:
            after_step = int(rng.choice(to_come))
            following = min([c for c in _schedule(out) if c > after_step], default=steps)
            moment = float(rng.uniform(0.0, per_step * (following - after_step)))
        log = report_path.with_name(f"attempt{attempt}.log")
        runs.append({"attempt": attempt, "checkpoints_before": before, **_run_once(args, out, log, moment, after_step),
                     "torn": _torn(out)})
    final_log = report_path.with_name("final.log")
    final = {"checkpoints_before": _checkpoints(out), **_run_once(args, out, final_log, None), "output": final_log.read_text(),
             "torn": _torn(out)}
    report_path.write_text(json.dumps({"attempts": runs, "final": final}, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
