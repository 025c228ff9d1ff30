"""LASER figures: heatmaps of a sweep's summary (layers x rho, one panel per matrix) and before/after scatters.

Numerical modules never import this one (see :mod:`interp.plots`).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns

from interp.plots import (
    DIVERGING_CMAP,
    GRID,
    HEATMAP,
    REFERENCE_LINE,
    floored,
    log_axis_low,
    new_figure,
    save_figure,
    share_above_diagonal,
    themed,
)

#: file name -> (summary column, colour-bar label)
HEATMAPS: dict[str, tuple[str, str]] = {
    "heatmap.png": ("delta_log_ratio", 'change in mean log P(answer)/P(" the")'),
    "heatmap_top1.png": ("delta_top1_acc", "change in top-1 accuracy"),
    "heatmap_logp_answer_full.png": ("delta_logp_answer_full", "change in mean log P(whole answer)"),
    "heatmap_gain_over_zero.png": ("gain_over_zero", "LASER gain over zero-ablation (mean log ratio)"),
    "heatmap_lm_loss.png": ("delta_lm_loss", "change in LM loss (nats)"),
}


@themed(HEATMAP)
def heatmap(summary: pd.DataFrame, value: str, path: str | Path, *, title: str, label: str, kind: str = "lowrank") -> Path:
    """Layers (rows) x rho (columns, largest first), one panel per matrix; diverging colours centred at 0."""
    data = summary[(summary["kind"] == kind) & (summary["layer"] >= 0)]
    matrices = list(dict.fromkeys(data["matrix"]))
    layers = sorted(data["layer"].unique())
    rhos = sorted(data["rho"].unique(), reverse=True)
    vmax = float(np.nanmax(np.abs(data[value].to_numpy(dtype=float)))) if len(data) else 1.0
    vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
    height = max(3.2, 0.26 * len(layers) + 1.8)
    panel = max(3.0, 0.6 * len(rhos) + 0.8)
    fig = new_figure((panel * len(matrices) + 1.4, height))
    axes = fig.subplots(1, len(matrices), squeeze=False)
    annotate = len(layers) * len(rhos) <= 400
    for i, (ax, matrix) in enumerate(zip(axes[0], matrices)):
        table = (
            data[data["matrix"] == matrix]
            .pivot_table(index="layer", columns="rho", values=value, aggfunc="mean")
            .reindex(index=layers, columns=rhos)
        )
        with warnings.catch_warnings():  # seaborn's own use of a deprecated matplotlib call
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            sns.heatmap(
                table, ax=ax, cmap=DIVERGING_CMAP, center=0.0, vmin=-vmax, vmax=vmax, annot=annotate, fmt=".2f",
                annot_kws={"fontsize": 6}, cbar=i == len(matrices) - 1,
                cbar_kws={"label": label} if i == len(matrices) - 1 else None, linewidths=0.3, linecolor="white",
            )
        ax.set_title(matrix, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("layer" if i == 0 else "")
        ax.set_xticklabels([f"{r:g}" for r in rhos], rotation=0, fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.supxlabel("rho (fraction of the rank kept)", fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)


def laser_heatmaps(summary: pd.DataFrame, out: str | Path, *, title: str) -> list[Path]:
    """Every heatmap whose column the summary has (change in log ratio, top-1; with controls gain over zero, LM loss)."""
    written = []
    for name, (column, label) in HEATMAPS.items():
        if column in summary and summary[column].notna().any():
            written.append(heatmap(summary, column, Path(out) / name, title=title, label=label))
    return written


@themed(GRID)
def before_after(
    before: pd.DataFrame, after: pd.DataFrame, path: str | Path, *, title: str, after_label: str
) -> Path:
    """Two panels, one point per prompt: P(" the") against P(answer), unedited and edited, log axes with y = x."""
    fig = new_figure((11, 5.2))
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    lo = log_axis_low(*(f[c] for f in (before, after) for c in ("p_the", "p_answer")))
    for ax, frame, name in ((axes[0], before, "unedited"), (axes[1], after, after_label)):
        x, y = floored(frame["p_the"]), floored(frame["p_answer"])
        ax.scatter(x, y, s=22, alpha=0.7, edgecolor="none")
        ax.plot([lo, 1], [lo, 1], **REFERENCE_LINE)
        ax.set(xscale="log", yscale="log", xlim=(lo, 1.2), ylim=(lo, 1.2), xlabel='P(" the")')
        share = share_above_diagonal(frame)
        geo = float(np.exp(frame["log_ratio"].astype(float).mean()))
        ax.set_title(f"{name}\n{share:.0%} above the diagonal · geo-mean P(answer)/P(the) = {geo:.3g}x", fontsize=9)
    axes[0].set_ylabel("P(answer)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return save_figure(fig, path)
