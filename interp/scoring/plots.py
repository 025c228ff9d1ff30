"""Figure of an evaluation: P(" the") against P(answer), one point per prompt. Numerical modules never import this one."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import seaborn as sns

from interp.plots import GRID, REFERENCE_LINE, floored, log_axis_low, new_figure, save_figure, share_above_diagonal, themed


@themed(GRID)
def p_the_vs_p_answer(
    frame: pd.DataFrame,
    path: str | Path,
    *,
    title: str,
    hue: str | None = None,
    answer_label: str = "P(answer)",
    the_label: str = 'P(" the")',
) -> Path:
    """One point per prompt: P(" the") (x) against P(answer) (y), log axes, with the y = x line.

    Points above the diagonal are prompts where the answer beats " the".
    """
    data = frame.assign(_x=floored(frame["p_the"]), _y=floored(frame["p_answer"]))
    fig = new_figure((6.2, 5.4))
    ax = fig.subplots()
    sns.scatterplot(data=data, x="_x", y="_y", hue=hue, ax=ax, s=28, alpha=0.75, edgecolor="none")
    lo = log_axis_low(data["_x"], data["_y"])
    ax.plot([lo, 1], [lo, 1], **REFERENCE_LINE, label="P(answer) = P(the)")
    ax.set(xscale="log", yscale="log", xlim=(lo, 1.2), ylim=(lo, 1.2), xlabel=the_label, ylabel=answer_label)
    share = share_above_diagonal(frame)
    ax.set_title(f"{title}\n{share:.0%} of prompts above the diagonal (answer beats the)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return save_figure(fig, path)
