"""PromptSet: aligned rows, validated lengths, subsets that keep the skip report."""

from __future__ import annotations

import pytest

from interp.tasks.base import PromptSet, sample_rows


def _set(n: int = 4) -> PromptSet:
    return PromptSet(
        task="t",
        prompts=tuple(f"p{i}" for i in range(n)),
        answers=tuple(f" a{i}" for i in range(n)),
        answer_ids=tuple(range(n)),
        distractor_ids=tuple((i + 100,) for i in range(n)),
        n_skipped=3,
        skipped={"multi_token_answer": 3},
        columns={"line": tuple(range(1, n + 1))},
    )


def test_subset_slices_rows_and_keeps_skip_report():
    full = _set()
    sub = full.subset([2, 0])
    assert len(sub) == 2
    assert sub.prompts == ("p2", "p0")
    assert sub.answer_ids == (2, 0)
    assert sub.distractor_ids == ((102,), (100,))
    assert sub.columns == {"line": (3, 1)}
    assert (sub.n_skipped, sub.skipped, sub.task) == (full.n_skipped, full.skipped, full.task)


def test_subset_out_of_range():
    with pytest.raises(IndexError):
        _set().subset([4])


@pytest.mark.parametrize("field", ["answers", "answer_ids", "distractor_ids"])
def test_unequal_lengths_rejected(field):
    kwargs = {k: getattr(_set(), k) for k in ("task", "prompts", "answers", "answer_ids", "distractor_ids")}
    kwargs[field] = kwargs[field][:-1]
    with pytest.raises(ValueError, match=field):
        PromptSet(**kwargs)


def test_short_column_rejected():
    with pytest.raises(ValueError, match="line"):
        PromptSet(task="t", prompts=("p",), answers=(" a",), answer_ids=(1,), distractor_ids=((),), columns={"line": ()})


def test_sample_rows_seeded_and_sorted():
    assert sample_rows(10, None, 0) == list(range(10))
    assert sample_rows(10, 50, 0) == list(range(10))
    rows = sample_rows(100, 7, seed=3)
    assert rows == sample_rows(100, 7, seed=3) and rows == sorted(set(rows)) and len(rows) == 7
    assert rows != sample_rows(100, 7, seed=4)
