"""Figures: the one place every figure writer gets its theme, its blank figure and its atomic save.

A writer draws on a :class:`matplotlib.figure.Figure` made by :func:`new_figure` (the object API:
no pyplot figure manager, so no backend is needed or switched, and a notebook's backend and open
figures are left alone), inside :func:`themed` (a context manager, also usable as a decorator),
which applies a seaborn theme to the matplotlib settings for the drawing only and puts the
caller's settings back afterwards; :func:`save_figure` writes the file atomically::

    @themed(GRID)
    def my_figure(frame, path):
        fig = new_figure((6, 4))
        ax = fig.subplots()
        ax.plot(frame["step"], floored(frame["p_answer"]))
        ax.set_yscale("log")
        return save_figure(fig, path)

Draw *and save* inside the theme: matplotlib reads its settings when each artist is made, and
tick labels are made when the figure is drawn, i.e. while it is saved.

Numerical modules never import this one (figures are drawn only when a run writes them).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib import cycler
from matplotlib.figure import Figure

from interp.io import temp_path

#: Probabilities below this are drawn at this value on log axes (a probability of 0 has no place there).
PROB_FLOOR = 1e-12

#: The colour palette of every line and scatter figure (seaborn's "deep").
PALETTE = "deep"
#: Colour maps: signed changes (centred at 0) and shares / non-negative maps.
DIVERGING_CMAP = "RdBu"
SEQUENTIAL_CMAP = "viridis"
#: Line styles that tell edits apart when colour already encodes a quantity.
LINESTYLES: tuple[Any, ...] = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (3, 1, 1, 1, 1, 1)))
#: A reference line (y = x, ratio 1): thin, grey, dashed.
REFERENCE_LINE: dict[str, Any] = {"color": "0.4", "lw": 1, "ls": "--"}


@dataclass(frozen=True)
class Theme:
    """A seaborn theme (axes ``style``, ``context``, font scale, palette); ``style=None`` is matplotlib's own defaults."""

    style: str | None
    context: str = "notebook"
    font_scale: float = 1.0

    def rc(self) -> dict[str, Any]:
        """The matplotlib settings ``seaborn.set_theme`` would set for this theme (without touching the global ones)."""
        if self.style is None:
            return {}
        rc: dict[str, Any] = dict(sns.plotting_context(self.context, self.font_scale))
        rc.update(sns.axes_style(self.style, rc={"font.family": "sans-serif"}))
        rc["axes.prop_cycle"] = cycler("color", sns.color_palette(PALETTE))
        return rc


#: Scatters and line plots.
GRID = Theme("whitegrid")
#: Heatmaps (no grid lines across the cells).
HEATMAP = Theme("white")
#: The analyses' large two-panel figures.
TALK = Theme("whitegrid", "talk", 0.8)
#: Matplotlib's defaults, no seaborn theme (the attribution maps).
MATPLOTLIB = Theme(None)


@contextmanager
def themed(theme: Theme = GRID) -> Iterator[None]:
    """Matplotlib's defaults plus ``theme`` inside the block (or the decorated function); the caller's settings after it."""
    with mpl.style.context("default"), mpl.rc_context(theme.rc()):
        yield


def new_figure(figsize: tuple[float, float], **kwargs: Any) -> Figure:
    """A blank figure (object API, no pyplot state); add axes with ``fig.subplots(...)``. Make it inside :func:`themed`."""
    return Figure(figsize=figsize, **kwargs)


def save_figure(fig: Figure, path: str | Path, *, dpi: int = 130, tight: bool = True) -> Path:
    """Write ``fig`` to ``path`` atomically (a temporary name, then a rename) and close it.

    If saving fails, neither ``path`` nor the temporary file is left behind. ``tight`` crops the
    figure to what is drawn (``bbox_inches="tight"``). A figure made by pyplot is closed there too.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight" if tight else None, format=path.suffix.lstrip(".") or None)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:  # a no-op for figures pyplot does not manage
            pyplot.close(fig)
    return path


def floored(values: pd.Series) -> pd.Series:
    """Probabilities as drawn on a log axis: values below :data:`PROB_FLOOR` raised to it."""
    return values.clip(lower=PROB_FLOOR)


def log_axis_low(*values: pd.Series) -> float:
    """The lower limit of a log probability axis: half the smallest floored value (at least :data:`PROB_FLOOR`)."""
    return max(PROB_FLOOR, float(min(floored(v).min() for v in values)) / 2)


def palette(n: int) -> list[tuple[float, float, float]]:
    """``n`` colours of :data:`PALETTE`."""
    return sns.color_palette(PALETTE, n)


def share_above_diagonal(frame: pd.DataFrame) -> float:
    """Share of rows where P(answer) beats P(" the") (points above the y = x line)."""
    return float(np.mean(frame["p_answer"] > frame["p_the"]))
