"""The loss curve of a training run (``DIR/loss.png``), drawn with the one plotting module (:mod:`interp.plots`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from interp.plots import new_figure, save_figure, themed


@themed()
def plot_loss(history: Sequence[dict], path: str | Path, *, title: str = "training loss") -> Path:
    """Training loss by step (each step's batch, and its mean over the last tenth of the steps so far); log-scaled steps."""
    steps = np.array([h["step"] for h in history])
    losses = np.array([h["loss"] for h in history])
    fig = new_figure((6.4, 4.0))
    ax = fig.subplots()
    ax.plot(steps, losses, lw=0.5, alpha=0.4, color="tab:blue", label="batch loss")
    if len(losses) > 10:
        # the mean over the last tenth of the steps so far: an even smoothing on the log-scaled step axis
        sums = np.concatenate([[0.0], np.cumsum(losses)])
        ends = np.arange(1, len(losses) + 1)
        starts = ends - np.maximum(1, np.ceil(0.1 * ends).astype(int))
        ax.plot(steps, (sums[ends] - sums[starts]) / (ends - starts), lw=1.5, color="tab:blue", label="mean of the last 10% of steps")
    if len(steps) and steps[-1] > 10:
        ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)
