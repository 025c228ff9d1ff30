"""Figures (seaborn, headless). Numerical modules never import this one."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from interp.io import temp_path  # noqa: E402

_FLOOR = 1e-12  # probabilities below this are drawn at the floor of the log axes


def _save(fig: plt.Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    fig.savefig(tmp, dpi=130, bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


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
    sns.set_theme(style="whitegrid", context="notebook")
    data = frame.assign(
        _x=frame["p_the"].clip(lower=_FLOOR), _y=frame["p_answer"].clip(lower=_FLOOR)
    )
    fig, ax = plt.subplots(figsize=(6.2, 5.4))
    sns.scatterplot(data=data, x="_x", y="_y", hue=hue, ax=ax, s=28, alpha=0.75, edgecolor="none")
    lo = max(_FLOOR, float(min(data["_x"].min(), data["_y"].min())) / 2)
    ax.plot([lo, 1], [lo, 1], color="0.4", lw=1, ls="--", label="P(answer) = P(the)")
    ax.set(xscale="log", yscale="log", xlim=(lo, 1.2), ylim=(lo, 1.2), xlabel=the_label, ylabel=answer_label)
    share = float(np.mean(frame["p_answer"] > frame["p_the"]))
    ax.set_title(f"{title}\n{share:.0%} of prompts above the diagonal (answer beats the)", fontsize=10)
    ax.legend(loc="lower right", fontsize=8, frameon=True)
    return _save(fig, path)
