"""Pair categories from word boundaries, Spearman between scopes, amplification, the score book."""

from __future__ import annotations

import numpy as np
import pytest

from interp.attribution.layout import AMPLIFIED_SCOPES, SCOPES
from interp.attribution.scores import (
    CATEGORIES,
    ScoreBook,
    log2_amplification,
    offdiag_share,
    pair_categories,
    spearman,
    word_ids,
)


def test_pair_categories_by_hand():
    # tokens: BOS, "The", " Dun", "mor", "row", " went", ".", " Ab", "by"
    words = [None, 0, 1, 1, 1, 2, None, 3, 3]
    cats = pair_categories(words)
    code = {c: k for k, c in enumerate(CATEGORIES)}
    assert cats[3, 2] == cats[4, 2] == cats[4, 3] == cats[8, 7] == code["same_word"]
    assert cats[2, 1] == cats[5, 4] == cats[7, 6] == code["previous_token"]
    assert cats[1, 0] == code["previous_token"]  # BOS belongs to no word
    # same-word pairs at distance 2 exist ((4, 2)), so other distance-2 pairs are the matched control
    assert cats[5, 3] == cats[2, 0] == code["same_distance"]
    assert cats[5, 1] == cats[8, 0] == code["other"]  # distance 4 and 8: no same-word pair that far
    assert np.all(cats[np.triu_indices(9)] == -1)  # diagonal and above are not pairs
    assert (cats >= 0).sum() == 9 * 8 // 2


def test_word_ids_follow_the_tokenizer_offsets(tiny_tokenizer):
    from interp.models.tokens import PromptTokenizer

    tok = PromptTokenizer(tiny_tokenizer, prepend_bos=True)
    text = "The travellers saw Zyxwquorth, at dawn."
    ids = tok.encode_prompt(text)
    words = word_ids(tiny_tokenizer, text, ids)
    pieces = [tiny_tokenizer.decode([i]) for i in ids]
    assert words[0] is None and len(words) == len(ids)
    rare = [w for p, w in zip(pieces, words) if p.strip() and p.strip() in "Zyxwquorth"]
    assert len(rare) >= 2 and len(set(rare)) == 1  # a rare word splits into pieces of one word
    assert words[pieces.index(",")] is None and words[pieces.index(".")] is None
    named = [w for w in words if w is not None]
    assert sorted(set(named)) == list(range(6))  # The travellers saw Zyxwquorth at dawn


def test_spearman_and_amplification_of_a_map_with_itself():
    rng = np.random.default_rng(0)
    m = np.tril(rng.random((6, 6)) + 0.1)
    assert spearman(m, m) == 1.0
    assert spearman(m, 2 * m) == 1.0  # shares: a scale changes nothing
    ratio = log2_amplification(m, m)
    assert np.allclose(ratio[np.tril_indices(6)], 0.0)
    assert np.isnan(spearman(m[:1, :1], m[:1, :1]))  # too few pairs


def test_offdiag_share():
    assert offdiag_share(np.diag([1.0, 2.0, 3.0])) == 0.0
    assert offdiag_share(np.tril(np.ones((3, 3)))) == pytest.approx(np.mean([0.5, 2 / 3]))


def test_score_book_counts_pairs_and_prompts():
    rng = np.random.default_rng(1)
    book = ScoreBook((0,))
    words = [None, 0, 1, 1, 2]
    cats = pair_categories(words)
    for _ in range(2):
        maps = {s: np.tril(rng.random((5, 5)) + 0.05) for s in SCOPES}
        book.add(0, maps, cats, {"attn": 1e-7, "ff": 2e-5})
    summary = book.summary()
    layer = summary["per_layer"]["0"]
    assert layer["completeness"]["ff"] == {"max": 2e-5, "mean": 2e-5, "n": 2}
    assert summary["worst_completeness_error"] == {"value": 2e-5, "layer": 0, "component": "ff"}
    for scope in AMPLIFIED_SCOPES:
        counts = {c: layer["amplification"][scope][c]["n_pairs"] for c in CATEGORIES}
        assert counts == {c: 2 * int((cats == k).sum()) for k, c in enumerate(CATEGORIES)}
        assert layer["amplification"][scope]["same_word"]["n_prompts"] == 2
    assert layer["spearman"]["ATB->ATBFF"]["n"] == 2
    assert layer["offdiag_share"]["ATBFF"] == layer["ff_offdiag_share"] and layer["ff_offdiag_share"]["n"] == 2
    assert layer["amplification"]["ATBFF"]["other"]["std_log2_ratio"] >= 0
