"""Accuracy of a set of generations with its Wilson 95% interval, per edit."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``k / n`` (``(0, 1)`` for ``n == 0``)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return low, high


def summarize(frame: pd.DataFrame) -> dict[str, Any]:
    """``n, n_correct, accuracy, ci_low, ci_high`` (Wilson 95%), how many generations had no number,
    and the generation speed (tokens generated per second of generation wall time)."""
    n = int(len(frame))
    k = int(frame["correct"].sum())
    low, high = wilson(k, n)
    tokens = int(frame["n_generated_tokens"].sum())
    wall = float(frame.drop_duplicates("batch")["batch_wall_s"].sum()) if n else 0.0
    return {
        "n": n,
        "n_correct": k,
        "accuracy": k / n if n else math.nan,
        "ci_low": low,
        "ci_high": high,
        "n_no_answer": int(frame["pred"].isna().sum()),
        "n_stopped_at_length": int((frame["finish"] == "length").sum()),
        "n_generated_tokens": tokens,
        "generation_s": wall,
        "tokens_per_s": tokens / wall if wall > 0 else math.nan,
    }
