"""The loss curve of a training run (``DIR/loss.png``), drawn with the one plotting module (:mod:`interp.plots`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from interp.plots import new_figure, save_figure, themed


@themed()
def plot_loss(history: Sequence[dict], path: str | Path, *, title: str = "training loss") -> Path:
    """Training loss by step (each step's batch, and its running mean over 2% of the run); log-scaled steps."""
    steps = np.array([h["step"] for h in history])
    losses = np.array([h["loss"] for h in history])
    fig = new_figure((6.4, 4.0))
    ax = fig.subplots()
    ax.plot(steps, losses, lw=0.5, alpha=0.4, color="tab:blue", label="batch loss")
    window = max(1, len(losses) // 50)
    if window > 1:
        sums = np.cumsum(np.concatenate([[0.0], losses]))
        counts = np.minimum(np.arange(1, len(losses) + 1), window)
        smooth = (sums[1:] - sums[np.maximum(0, np.arange(1, len(losses) + 1) - window)]) / counts
        ax.plot(steps, smooth, lw=1.5, color="tab:blue", label=f"mean of {window} steps")
    if len(steps) and steps[-1] > 10:
        ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(title)
    ax.legend()
    return save_figure(fig, path)
