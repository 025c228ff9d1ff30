"""Which checkpoints a sweep evaluates, and which of them one shard takes.

``--steps`` is ``all`` (every step of the schedule), ``log`` (0, 1, 2, 4, ..., 512, then about
two steps per octave up to the last step, plus 14000 where the schedule has it), ``paper``
(:data:`PAPER_STEPS`: every Pythia checkpoint up to step 14000) or a comma-separated list
(``0,512,step1000``), each step checked against the schedule. ``--shard I/N`` takes every N-th step starting at the I-th,
so the N shards partition the steps and each gets early and late checkpoints alike.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from interp.errors import UsageError
from interp.models.checkpoints import check_step, parse_step

#: The dense early part of ``log``: step 0 and the powers of two up to 512 (Pythia's early checkpoints).
LOG_EARLY: tuple[int, ...] = (0,) + tuple(2**k for k in range(10))
#: Past the early part, ``log`` aims at 512 * 2 ** (k / LOG_PER_OCTAVE), snapped to the schedule.
LOG_PER_OCTAVE = 2
#: The step at which Chen, Bruna & Bietti (ICLR 2025) report their Pythia ratios ("14K steps").
PAPER_RATIO_STEP = 14000
#: Steps ``log`` adds whenever the schedule has them.
LOG_ALWAYS: tuple[int, ...] = (PAPER_RATIO_STEP,)
#: ``--steps paper``: the window of the paper's Pythia training-dynamics figure, from
#: initialisation to the step of its reported ratios, at every Pythia checkpoint in it (0, 1, 2,
#: 4, ..., 512, then every 1000 steps to 14000; 25 steps). The paper does not list its figure's
#: steps in a form we could find, so this set is our choice; it includes 14000 by construction.
PAPER_STEPS: tuple[int, ...] = LOG_EARLY + tuple(range(1000, PAPER_RATIO_STEP + 1, 1000))

_SHARD_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def log_steps(schedule: Sequence[int]) -> list[int]:
    """0, 1, 2, 4, ..., 512, then about two steps per octave up to the last, all taken from ``schedule``.

    Each target is snapped to the nearest step of the schedule (ties to the smaller), duplicates
    are dropped, the last step is always included and so are the :data:`LOG_ALWAYS` steps the
    schedule has. For Pythia's 154 steps this gives 27: 0, 1, 2, ..., 512, 1000, 2000, 3000,
    4000, 6000, 8000, 12000, 14000, 16000, ..., 131000, 143000.
    """
    ordered = sorted(set(schedule))
    if not ordered:
        return []
    last = ordered[-1]
    targets: list[float] = list(LOG_EARLY)
    k = 1
    while (target := LOG_EARLY[-1] * 2 ** (k / LOG_PER_OCTAVE)) < last:
        targets.append(target)
        k += 1
    chosen = {min(ordered, key=lambda s: (abs(s - t), s)) for t in targets}
    chosen.add(last)
    chosen.update(s for s in LOG_ALWAYS if s in set(ordered))
    return sorted(chosen)


def resolve_steps(spec: str, schedule: Sequence[int], what: str) -> list[int]:
    """The sorted steps ``spec`` (``all``, ``log``, ``paper`` or a list) names in ``schedule``.

    A listed step that is not in the schedule raises a UsageError naming the nearest valid ones;
    so does ``paper`` on a schedule without all of :data:`PAPER_STEPS` (e.g. a local run).
    """
    ordered = sorted(set(schedule))
    if not ordered:
        raise UsageError(f"{what} has no checkpoints")
    text = spec.strip().lower()
    if text == "all":
        return ordered
    if text == "log":
        return log_steps(ordered)
    if text == "paper":
        present = set(ordered)
        missing = [s for s in PAPER_STEPS if s not in present]
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (", ..." if len(missing) > 5 else "")
            raise UsageError(
                f"--steps paper names Pythia checkpoints 0..{PAPER_RATIO_STEP}, but {what} lacks {shown}; "
                "use all, log or a list of its steps"
            )
        return list(PAPER_STEPS)
    items = [part for part in spec.split(",") if part.strip()]
    if not items:
        raise UsageError(f"--steps takes all, log, paper or a list like 0,512,1000; got {spec!r}")
    steps = {check_step(parse_step(item), ordered, what) for item in items}
    return sorted(steps)


@dataclass(frozen=True)
class Shard:
    """Shard ``index`` of ``count``: every ``count``-th step starting at position ``index``."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise UsageError(f"--shard must be I/N with 0 <= I < N, got {self.index}/{self.count}")

    @classmethod
    def parse(cls, text: str | None) -> Shard:
        """``"2/8"`` -> Shard(2, 8); None or empty -> the whole sweep (0/1)."""
        if text is None or not text.strip():
            return cls()
        match = _SHARD_RE.match(text)
        if not match:
            raise UsageError(f"--shard must be I/N with 0 <= I < N (e.g. 0/4), got {text!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    def select(self, steps: Sequence[int]) -> list[int]:
        """This shard's share of ``steps`` (taken in sorted order, round robin)."""
        return sorted(steps)[self.index :: self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

