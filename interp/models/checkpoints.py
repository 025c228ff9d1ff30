"""Training checkpoints: the Pythia schedule and local ``step{N}/`` folders."""

from __future__ import annotations

import bisect
import re
from pathlib import Path
from typing import Any

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


def _few(keys: set[str], n: int = 3) -> str:
    ordered = sorted(keys)
    more = f", ... ({len(ordered) - n} more)" if len(ordered) > n else ""
    return ", ".join(ordered[:n]) + more


def check_loading_info(info: dict[str, Any], where: str) -> None:
    """UsageError when a checkpoint's tensors do not match its config: ``info`` is ``from_pretrained``'s
    loading info (``missing_keys``, ``unexpected_keys``, ``mismatched_keys``), toy loads give the same keys.

    Such a checkpoint does not belong to its config (fewer layers stored than declared, another
    architecture's weights): transformers would initialise the missing tensors at random and drop
    the rest, so every result would be noise.
    """
    missing = set(info.get("missing_keys") or ())
    unexpected = set(info.get("unexpected_keys") or ())
    resized = {str(entry[0]) for entry in info.get("mismatched_keys") or ()}
    if not (missing or unexpected or resized):
        return
    parts = []
    if missing:
        parts.append(f"{len(missing)} tensors the config needs are missing ({_few(missing)})")
    if unexpected:
        parts.append(f"{len(unexpected)} stored tensors are unexpected ({_few(unexpected)})")
    if resized:
        parts.append(f"{len(resized)} have the wrong shape ({_few(resized)})")
    raise UsageError(
        f"the weights of {where} do not match its config.json: {'; '.join(parts)}; put the config.json "
        f"the weights were saved with next to them (or the weights of this config), instead of loading random weights"
    )
