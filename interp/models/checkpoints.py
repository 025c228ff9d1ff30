"""Training checkpoints: the Pythia schedule and local ``step{N}/`` folders."""

from __future__ import annotations

import bisect
import re
from pathlib import Path

from interp.errors import UsageError

#: The 154 revisions ``stepN`` that every Pythia model size publishes: step 0, the powers of two up to
#: 512, then every 1000 steps up to 143000 (the same list as TransformerLens's PYTHIA_CHECKPOINTS, tested).
PYTHIA_STEPS: tuple[int, ...] = (0, *(2**k for k in range(10)), *range(1000, 143001, 1000))

_STEP_RE = re.compile(r"^(?:step)?(\d+)$")
_STEP_DIR_RE = re.compile(r"^step(\d+)$")


def is_pythia(name: str) -> bool:
    return name.startswith("EleutherAI/pythia")


def parse_step(value: str | int) -> int:
    """``14000``, ``"14000"`` or ``"step14000"`` -> 14000."""
    if isinstance(value, int):
        step = value
    else:
        match = _STEP_RE.match(value.strip())
        if not match:
            raise UsageError(f"checkpoint {value!r} is not a step; write it as 14000 or step14000")
        step = int(match.group(1))
    if step < 0:
        raise UsageError(f"checkpoint step must be >= 0, got {step}")
    return step


def nearest_steps(step: int, schedule: list[int] | tuple[int, ...], n: int = 2) -> list[int]:
    """The schedule's steps closest to ``step`` (below and above)."""
    ordered = sorted(schedule)
    i = bisect.bisect_left(ordered, step)
    around = ordered[max(0, i - n + 1) : i + n - 1 + 1]
    return sorted(around, key=lambda s: (abs(s - step), s))[:n]


def check_step(step: int, schedule: list[int] | tuple[int, ...], what: str) -> int:
    """Return ``step`` if it is in ``schedule``, else a UsageError naming the nearest valid steps."""
    if step in schedule:
        return step
    near = " or ".join(str(s) for s in sorted(nearest_steps(step, schedule)))
    raise UsageError(f"step {step} is not a checkpoint of {what}; nearest valid steps: {near}")


def local_steps(folder: str | Path) -> dict[int, Path]:
    """The ``step{N}/`` sub-folders of a training run, by step."""
    root = Path(folder)
    found = {}
    for child in root.iterdir() if root.is_dir() else []:
        match = _STEP_DIR_RE.match(child.name)
        if match and child.is_dir():
            found[int(match.group(1))] = child
    return dict(sorted(found.items()))
