"""The loss curve of a training run (``DIR/loss.png``): a matplotlib Figure saved atomically, no global backend switch."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from interp.io import temp_path


def plot_loss(history: Sequence[dict], path: str | Path, *, title: str = "training loss") -> Path:
    """Training loss by step (each step's batch, and its running mean over 2% of the run), log-scaled steps."""
    path = Path(path)
    steps = [h["step"] for h in history]
    losses = [h["loss"] for h in history]
    fig = Figure(figsize=(6.4, 4.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(steps, losses, lw=0.5, alpha=0.4, color="tab:blue", label="batch loss")
    window = max(1, len(losses) // 50)
    if window > 1:
        smooth = [sum(losses[max(0, i - window + 1) : i + 1]) / len(losses[max(0, i - window + 1) : i + 1]) for i in range(len(losses))]
        ax.plot(steps, smooth, lw=1.5, color="tab:blue", label=f"mean of {window} steps")
    if steps and steps[-1] > 10:
        ax.set_xscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy (nats per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    tmp = temp_path(path)
    fig.savefig(tmp, dpi=120)
    os.replace(tmp, path)
    return path
