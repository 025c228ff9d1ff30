"""The one summary of a per-prompt table, and the one naming rule for changes.

Every table that scores prompts (``interp eval``, LASER sweeps, checkpoint sweeps, toy
tables) is summarised here, so the same column always means the same thing:

    n_prompts        number of prompts summarised
    mean_<metric>    the mean of a per-prompt column (``mean_p_answer``, ``mean_p_the``,
                     ``mean_log_ratio``, ``mean_p_function``, ``mean_p_s``, ``mean_logit_diff``, ...)
    top1_acc         share of prompts whose answer (first token) is the model's top prediction
    median_rank      median 1-based rank of the answer's first token
    ratio_of_means   mean P(answer) / mean P(" the"): the papers' "average probability ratio"
    geo_mean_ratio   exp(mean log(P(answer) / P(" the"))): the geometric mean of per-prompt ratios

and a change between an edited and an unedited summary is ``delta_<name>`` with any
``mean_`` prefix dropped (``delta_p_answer``, ``delta_log_ratio``, ``delta_top1_acc``).
Tasks with relations (factual) are also summarised per relation (:func:`summarize_by`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: per-prompt columns summarised by their mean when a table has them (in this order)
MEAN_COLUMNS = ("p_answer", "p_the", "log_ratio", "p_function", "p_s", "logit_diff", "logp_answer_full")
#: boolean per-prompt columns summarised as a share: column -> summary key
ACCURACY_COLUMNS = {"top1": "top1_acc", "exact": "exact_acc"}
#: summary keys that are not compared by ``delta`` (counts and ratios of means)
_NOT_DELTA = ("n_prompts", "median_rank", "ratio_of_means", "geo_mean_ratio")

Columns = Mapping[str, Any]  # a DataFrame or a dict of per-prompt arrays


def _column(values: Columns, name: str, idx: Sequence[int] | np.ndarray | None) -> np.ndarray | None:
    if name not in values:
        return None
    col = np.asarray(values[name])
    if col.ndim != 1:
        return None  # scalar measures (lm_loss) are not per-prompt columns
    return col if idx is None else col[np.asarray(idx, dtype=np.int64)]


def _mean(col: np.ndarray) -> float:
    return float(np.mean(col.astype(np.float64))) if len(col) else math.nan


def summarize(values: Columns, idx: Sequence[int] | np.ndarray | None = None) -> dict[str, float]:
    """The summary of the prompts ``idx`` (all when None) of a per-prompt table (see the module docstring)."""
    p_answer = _column(values, "p_answer", idx)
    if p_answer is None:
        raise KeyError("a per-prompt table needs a p_answer column to be summarised")
    out: dict[str, float] = {"n_prompts": int(len(p_answer))}
    for name in MEAN_COLUMNS:
        col = _column(values, name, idx)
        if col is not None:
            out[f"mean_{name}"] = _mean(col)
    for name, key in ACCURACY_COLUMNS.items():
        col = _column(values, name, idx)
        if col is not None:
            out[key] = _mean(col.astype(np.float64))
    rank = _column(values, "rank", idx)
    if rank is not None:
        out["median_rank"] = float(np.median(rank)) if len(rank) else math.nan
    if "mean_p_the" in out:
        out["ratio_of_means"] = out["mean_p_answer"] / out["mean_p_the"] if out["mean_p_the"] > 0 else math.inf
    if "mean_log_ratio" in out:
        out["geo_mean_ratio"] = math.exp(out["mean_log_ratio"]) if math.isfinite(out["mean_log_ratio"]) else math.nan
    return out


def delta(edited: Mapping[str, float], base: Mapping[str, float]) -> dict[str, float]:
    """``delta_<name>`` = edited - base for every summary value both have (counts and ratios left out)."""
    return {
        "delta_" + key.removeprefix("mean_"): float(edited[key]) - float(base[key])
        for key in edited
        if key in base and key not in _NOT_DELTA and isinstance(edited[key], (int, float))
    }


def summarize_by(frame: pd.DataFrame, column: str) -> dict[str, dict[str, float]]:
    """``{value: summarize(rows with that value)}`` for a per-prompt column such as ``relation`` (empty if absent)."""
    if column not in frame:
        return {}
    return {str(value): summarize(group) for value, group in frame.groupby(column, sort=True, observed=True)}


def summarize_groups(frame: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One row per group of ``frame`` (in order of first appearance): the group keys and :func:`summarize`."""
    rows = []
    for keys, group in frame.groupby(list(by), sort=False, observed=True):
        keys = keys if isinstance(keys, tuple) else (keys,)
        rows.append({**dict(zip(by, keys)), **summarize(group)})
    if not rows:
        return pd.DataFrame(columns=[*by, "n_prompts"])
    return pd.DataFrame(rows)
