"""GSM8K figure: accuracy per edit with Wilson 95% intervals. Numerical modules never import this one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from interp.plots import GRID, new_figure, save_figure, themed


@themed(GRID)
def accuracy_by_edit(summary: pd.DataFrame, path: str | Path, *, title: str) -> Path:
    """One row per config (baseline first), a dot at its accuracy and a bar over its interval;
    the baseline's interval shaded across the plot."""
    n_rows = len(summary)
    fig = new_figure((7.5, min(40.0, 1.2 + 0.28 * n_rows)))
    ax = fig.subplots()
    y = list(range(n_rows))[::-1]
    base = summary.iloc[0]
    ax.axvspan(base["ci_low"], base["ci_high"], color="0.85", zorder=0, label="baseline 95% interval")
    ax.axvline(base["accuracy"], color="0.5", lw=1, ls="--", zorder=1)
    colours = ["black" if e == "baseline" else "tab:blue" for e in summary["edit"]]
    for yi, (_, row), colour in zip(y, summary.iterrows(), colours):
        ax.plot([row["ci_low"], row["ci_high"]], [yi, yi], color=colour, lw=2, zorder=2)
        ax.plot(row["accuracy"], yi, "o", color=colour, zorder=3)
    ax.set_yticks(y)
    ax.set_yticklabels(summary["edit"], fontsize=8 if n_rows > 20 else 10)
    ax.set_xlabel("accuracy (Wilson 95% interval)")
    ax.set_xlim(left=0)
    ax.set_title(title, fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)
