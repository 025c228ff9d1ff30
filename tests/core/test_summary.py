"""The one summary: both ratios on a hand example, delta naming, groups."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from interp.scoring.summary import delta, summarize, summarize_by, summarize_groups


def _table():
    p_answer = np.array([0.2, 0.01, 0.5])
    p_the = np.array([0.1, 0.1, 0.05])
    return pd.DataFrame({
        "p_answer": p_answer, "p_the": p_the, "log_ratio": np.log(p_answer) - np.log(p_the),
        "rank": [1, 30, 2], "top1": [True, False, False], "exact": [True, False, False],
        "logp_answer_full": [-1.6, -6.0, -0.9], "relation": ["a", "b", "a"],
    })


def test_both_ratios_on_a_hand_example():
    s = summarize(_table())
    # ratio of means: (0.2 + 0.01 + 0.5) / 3 over (0.1 + 0.1 + 0.05) / 3 = 0.71 / 0.25
    assert s["ratio_of_means"] == pytest.approx(0.71 / 0.25)
    # geometric mean of the per-prompt ratios 2, 0.1, 10: (2 * 0.1 * 10) ** (1/3) = 2 ** (1/3)
    assert s["geo_mean_ratio"] == pytest.approx(2 ** (1 / 3))
    assert s["top1_acc"] == pytest.approx(1 / 3) and s["exact_acc"] == pytest.approx(1 / 3)
    assert s["median_rank"] == 2 and s["n_prompts"] == 3
    assert s["mean_logp_answer_full"] == pytest.approx(-8.5 / 3)


def test_delta_names_and_values():
    base = summarize(_table())
    edited_table = _table().assign(p_the=[0.01, 0.01, 0.01])
    edited_table["log_ratio"] = np.log(edited_table["p_answer"]) - np.log(edited_table["p_the"])
    change = delta(summarize(edited_table), base)
    assert change["delta_p_the"] == pytest.approx(0.01 - 0.25 / 3)
    assert "delta_ratio_of_means" not in change and "delta_n_prompts" not in change
    assert set(change) >= {"delta_p_answer", "delta_log_ratio", "delta_top1_acc", "delta_logp_answer_full"}


def test_groups_and_by_relation():
    by = summarize_by(_table(), "relation")
    assert by["a"]["n_prompts"] == 2 and by["b"]["ratio_of_means"] == pytest.approx(0.1)
    groups = summarize_groups(_table(), ["relation"])
    assert groups["relation"].tolist() == ["a", "b"] and math.isclose(groups["n_prompts"].sum(), 3)
