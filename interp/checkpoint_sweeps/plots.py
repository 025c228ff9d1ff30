"""The sweep's figures, drawn from ``summary.parquet`` (one row per step and edit).

``training_dynamics.png``  mean P(" the"), P(answer) (and P(S) for IOI) against the training step,
                           log axes; solid lines without LASER, dashed (dotted, ...) with each edit.
``ratio.png``              mean P(answer) / mean P(" the") against the step, one line per edit.

Step 0 sits at the origin of a symmetric-log x axis (linear below step 1).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter

from interp.edits.spec import NO_EDIT
from interp.plots import GRID, LINESTYLES, REFERENCE_LINE, floored, new_figure, palette, save_figure, themed


def _edits(summary: pd.DataFrame) -> list[str]:
    edits = list(dict.fromkeys(summary["edit"]))
    return sorted(edits, key=lambda e: (e != NO_EDIT, e))


def _step_label(x: float, _pos: object = None) -> str:
    if x >= 1000 and x % 1000 == 0:
        return f"{x / 1000:g}k"
    return f"{x:g}"


def _style(ax: Axes, steps: pd.Series) -> None:
    distinct = sorted(set(int(s) for s in steps))
    ax.set_xscale("symlog", linthresh=1)
    ax.set_xlim(left=0, right=max(1.0, float(distinct[-1]) * 1.3))
    if len(distinct) <= 8:
        ax.set_xticks(distinct)
    ax.xaxis.set_major_formatter(FuncFormatter(_step_label))
    ax.set_xlabel("training step (symmetric log scale)")


def _edit_label(edit: str) -> str:
    return "no LASER" if edit == NO_EDIT else f"LASER {edit}"


@themed(GRID)
def training_dynamics(
    summary: pd.DataFrame, path: str | Path, *, title: str, the_label: str = 'P(" the")', answer_label: str = "P(answer)"
) -> Path:
    """Mean P(" the"), P(answer) and (IOI) P(S) per step; linestyle = edit, colour = quantity."""
    quantities = [("mean_p_the", the_label), ("mean_p_answer", answer_label)]
    if "mean_p_s" in summary and summary["mean_p_s"].notna().any():
        quantities.append(("mean_p_s", "P(S)"))
    colours = dict(zip((q for q, _ in quantities), palette(len(quantities))))
    fig = new_figure((8.4, 4.6))
    ax = fig.subplots()
    edits = _edits(summary)
    for i, edit in enumerate(edits):
        rows = summary[summary["edit"] == edit].sort_values("step")
        for column, _ in quantities:
            ax.plot(
                rows["step"], floored(rows[column]), color=colours[column],
                linestyle=LINESTYLES[i % len(LINESTYLES)], marker="o", markersize=3, lw=1.6,
            )
    _style(ax, summary["step"])
    ax.set_yscale("log")
    ax.set_ylabel("mean probability of the next token")
    ax.set_title(title, fontsize=10)
    # two legends in one: colour = which probability, line style = which edit
    handles = [Line2D([], [], color=colours[column], lw=2, label=label) for column, label in quantities]
    handles += [
        Line2D([], [], color="0.3", lw=1.6, linestyle=LINESTYLES[i % len(LINESTYLES)], label=_edit_label(edit))
        for i, edit in enumerate(edits)
    ]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=True)
    return save_figure(fig, path)


@themed(GRID)
def ratio_plot(summary: pd.DataFrame, path: str | Path, *, title: str, the_label: str = 'P(" the")') -> Path:
    """Mean P(answer) / mean P(" the") per step, one line per edit; the dashed line is ratio 1."""
    fig = new_figure((8.4, 4.2))
    ax = fig.subplots()
    colours = palette(max(1, len(_edits(summary))))
    for i, edit in enumerate(_edits(summary)):
        rows = summary[summary["edit"] == edit].sort_values("step")
        ax.plot(
            rows["step"], floored(rows["ratio_of_means"]), color=colours[i], linestyle=LINESTYLES[i % len(LINESTYLES)],
            marker="o", markersize=3, lw=1.6, label=_edit_label(edit),
        )
    ax.axhline(1.0, **REFERENCE_LINE)
    _style(ax, summary["step"])
    ax.set_yscale("log")
    ax.set_ylabel(f"P(answer) / {the_label}  (ratio of means)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=True)
    return save_figure(fig, path)
