"""Summary edge cases that mutation testing found untested: a subset of the prompts (``idx``), empty
tables and groups, P(" the") of zero, an infinite log-ratio, group order and unused categories."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from interp.scoring.summary import summarize, summarize_by, summarize_groups


def _table():
    p_answer = np.array([0.2, 0.01, 0.5, 0.3])
    p_the = np.array([0.1, 0.1, 0.05, 0.3])
    return pd.DataFrame({
        "p_answer": p_answer, "p_the": p_the, "log_ratio": np.log(p_answer) - np.log(p_the),
        "rank": [1, 30, 2, 7], "top1": [True, False, False, True], "exact": [True, False, False, False],
        "logp_answer_full": [-1.6, -6.0, -0.9, -2.0],
    })


@pytest.mark.parametrize("idx", [[2, 0], np.array([2, 0]), (2, 0)])
def test_summary_of_a_subset_equals_the_summary_of_its_rows(idx):
    table = _table()
    got = summarize(table, idx)
    expected = summarize(table.iloc[[2, 0]].reset_index(drop=True))
    assert got == pytest.approx(expected)
    assert got["n_prompts"] == 2 and got["median_rank"] == 1.5 and got["top1_acc"] == 0.5
    assert got != pytest.approx(summarize(table))  # the subset really is another summary
    as_dict = {name: table[name].to_numpy() for name in table}  # a dict of arrays works the same
    assert summarize(as_dict, idx) == pytest.approx(expected)


def test_an_empty_table_is_nan_without_warnings():
    empty = _table().iloc[:0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "mean of empty slice"
        s = summarize(empty)
    assert s["n_prompts"] == 0
    for key in ("mean_p_answer", "top1_acc", "exact_acc", "median_rank", "mean_log_ratio"):
        assert math.isnan(s[key]), key


def test_zero_p_the_and_infinite_log_ratio():
    table = pd.DataFrame({"p_answer": [0.0, 0.2], "p_the": [0.0, 0.0], "log_ratio": [-math.inf, 1.0]})
    s = summarize(table)
    assert s["ratio_of_means"] == math.inf  # mean P(" the") is 0: no division
    assert math.isnan(s["geo_mean_ratio"])  # the mean log-ratio is -inf: no geometric mean


def test_a_table_without_p_answer_is_refused():
    with pytest.raises(KeyError) as err:
        summarize({"p_the": [0.1]})
    assert err.value.args == ("a per-prompt table needs a p_answer column to be summarised",)


def test_by_relation_is_sorted_and_skips_unused_categories():
    table = _table().assign(relation=pd.Categorical(["c", "a", "c", "a"], categories=["c", "b", "a"]))
    by = summarize_by(table, "relation")
    assert list(by) == ["c", "a"]  # in category order, the unused "b" left out
    assert by["a"]["n_prompts"] == 2 and by["a"]["mean_p_answer"] == pytest.approx((0.01 + 0.3) / 2)
    plain = summarize_by(_table().assign(relation=["c", "a", "c", "b"]), "relation")
    assert list(plain) == ["a", "b", "c"]


def test_groups_in_order_of_first_appearance():
    table = _table().assign(step=[8, 0, 8, 0], edit=pd.Categorical(["x", "none", "x", "none"], categories=["none", "y", "x"]))
    groups = summarize_groups(table, ["step", "edit"])
    assert groups[["step", "edit"]].astype(str).values.tolist() == [["8", "x"], ["0", "none"]]  # no empty "y" groups
    assert groups["n_prompts"].tolist() == [2, 2]
    single = summarize_groups(table, ["step"])
    assert single["step"].tolist() == [8, 0] and single["n_prompts"].tolist() == [2, 2]
    empty = summarize_groups(table.iloc[:0], ["step", "edit"])
    assert list(empty.columns) == ["step", "edit", "n_prompts"] and empty.empty
