"""The learning-rate schedule and the checkpoint schedule of a training run (pure functions of the step).

Learning rate (Pythia's, as GPT-NeoX's ``AnnealingLR`` with ``cosine`` decay): a linear warmup
over the first ``warmup_frac`` of the steps, then a cosine from the peak down to
``min_lr_frac`` of it at the last step.

Checkpoints (Pythia's schedule scaled to the run): step 0, the powers of two 1, 2, 4, ...,
``log_until`` that are below the last step, then ``n_evenly`` evenly spaced steps ending at the
last one (those after the last power of two). Pythia's own: 0, 1, ..., 512, then every 1000
steps to 143000, i.e. ``log_until=512, n_evenly=143`` for 143000 steps.
"""

from __future__ import annotations

import math

from interp.lm.config import CheckpointConfig, OptimConfig


def warmup_steps(optim: OptimConfig, steps: int) -> int:
    """Steps of linear warmup: ``warmup_frac`` of the run, rounded (Pythia: 1% of 143000 = 1430)."""
    return round(optim.warmup_frac * steps)


def lr_factor(update: int, optim: OptimConfig, steps: int) -> float:
    """The learning rate of optimizer update ``update`` (0-based: the update that makes step ``update + 1``) over the peak."""
    warmup = warmup_steps(optim, steps)
    if update < warmup:
        return (update + 1) / warmup
    progress = (update - warmup) / max(1, steps - 1 - warmup)
    progress = min(1.0, progress)
    return optim.min_lr_frac + (1.0 - optim.min_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * progress))


def checkpoint_steps(steps: int, checkpoints: CheckpointConfig) -> list[int]:
    """The saved steps of a run of ``steps`` updates, ascending; always 0 and ``steps``."""
    early = [0]
    power = 1
    while power <= checkpoints.log_until and power < steps:
        early.append(power)
        power *= 2
    evenly = {round(steps * k / checkpoints.n_evenly) for k in range(1, checkpoints.n_evenly + 1)}
    return sorted(set(early) | {s for s in evenly if s > early[-1]} | {steps})
