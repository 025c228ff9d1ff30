"""Scores over the maps: Spearman between scopes, FF amplification by token-pair category.

A map ``N`` (output i, input j <= i) is turned into *shares* by dividing each row by its sum
(``ATTN-W`` rows already sum to one), so rows of different norms compare.

* Spearman: per prompt, between the shares of two scopes over every pair ``j <= i`` of rows
  ``i >= 1`` (row 0 holds one pair); then mean, std and count over prompts.
* FF amplification of a pair ``(i, j)``, ``j < i``: ``log2(share_S(i,j) / share_ATB(i,j))``
  for S = ATBFF (the FF output), and, to see what the residual and norm after it leave of
  that, for S = ATBFFRES and ATBFFRESLN. Pairs are pooled over prompts by category:

  - ``same_word``: both tokens are pieces of one word (the tokenizer's character offsets
    against the text's words, runs of ``\\w``; punctuation and BOS belong to no word);
  - ``previous_token``: ``j = i - 1``, not the same word;
  - ``same_distance``: ``i - j`` equals the distance (>= 2) of a same-word pair of that
    prompt, not the same word (a distance-matched control);
  - ``other``: all remaining pairs ``j < i``.

  Shares include the diagonal, so absolute values move with how much the scope keeps of
  each token itself; compare categories with each other within a scope.
* Off-diagonal share of a scope: mean over rows ``i >= 1`` of the share outside the diagonal
  (how much of position i's vector comes from other tokens; ATBFF's is 0 for GPT-NeoX).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr
from transformers import PreTrainedTokenizerBase

from interp.attribution.layout import AMPLIFIED_SCOPES, SCOPE_PAIRS, SCOPES

log = logging.getLogger(__name__)

CATEGORIES: tuple[str, ...] = ("same_word", "previous_token", "same_distance", "other")
NOT_A_PAIR = -1
_WORD = re.compile(r"\w+")


def word_ids(tokenizer: PreTrainedTokenizerBase, text: str, ids: list[int]) -> list[int | None]:
    """The word (index of a ``\\w+`` run of ``text``) each token of ``ids`` starts in, or None.

    ``ids`` is what the model sees (possibly with BOS first); tokens before the text's own
    tokens (BOS) get None."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    own, offsets = list(enc["input_ids"]), enc.get("offset_mapping")
    prefix = len(ids) - len(own)
    if offsets is None or prefix < 0 or list(ids[prefix:]) != own:
        log.warning("no character offsets for %r: its tokens are not assigned to words", text[:40])
        return [None] * len(ids)
    owner = np.full(len(text) + 1, -1)
    for w, match in enumerate(_WORD.finditer(text)):
        owner[match.start() : match.end()] = w
    out: list[int | None] = [None] * prefix
    for start, end in offsets:
        word = None
        for k in range(start, min(end, len(text))):
            if owner[k] >= 0:
                word = int(owner[k])
                break
        out.append(word)
    return out


def pair_categories(words: list[int | None]) -> np.ndarray:
    """``(T, T)`` category codes (index into :data:`CATEGORIES`) for ``j < i``; -1 elsewhere."""
    T = len(words)
    w = np.array([-1 if x is None else x for x in words])
    i, j = np.tril_indices(T, k=-1)
    same = (w[i] >= 0) & (w[i] == w[j])
    dist = i - j
    matched = np.isin(dist, np.unique(dist[same & (dist >= 2)]))
    codes = np.full(len(i), 3)
    codes[matched] = 2
    codes[dist == 1] = 1
    codes[same] = 0
    out = np.full((T, T), NOT_A_PAIR)
    out[i, j] = codes
    return out


def shares(m: np.ndarray) -> np.ndarray:
    """Each row divided by its sum (rows of zeros stay zero)."""
    total = m.sum(-1, keepdims=True)
    return np.divide(m, total, out=np.zeros_like(m, dtype=np.float64), where=total > 0)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho between two maps' shares over pairs ``j <= i``, rows ``i >= 1``; nan if undefined."""
    T = a.shape[0]
    i, j = np.tril_indices(T)
    keep = i >= 1
    x, y = shares(a)[i[keep], j[keep]], shares(b)[i[keep], j[keep]]
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def log2_amplification(after: np.ndarray, before: np.ndarray) -> np.ndarray:
    """``log2(share_after / share_before)`` for every entry (nan where either share is 0)."""
    a, b = shares(after), shares(before)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log2(a / b)
    out[~np.isfinite(out)] = np.nan
    return out


def offdiag_share(m: np.ndarray) -> float:
    """Mean over rows i >= 1 of the share of the row outside the diagonal (0: no token mixing)."""
    s = shares(m)
    if s.shape[0] < 2:
        return float("nan")
    return float(np.mean(1.0 - np.diag(s)[1:]))


def _stats(values: list[float]) -> dict:
    v = np.asarray([x for x in values if np.isfinite(x)], dtype=np.float64)
    if not len(v):
        return {"mean": None, "std": None, "n": 0}
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(len(v))}


@dataclass
class LayerScores:
    """Per-prompt values of one layer, pooled as prompts arrive."""

    errors: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    spearman: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    amplification: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=lambda: defaultdict(list))
    prompts_with: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    offdiag: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))


class ScoreBook:
    """Collects one prompt's maps at a time; :meth:`summary` aggregates over prompts."""

    def __init__(self, layers: tuple[int, ...]) -> None:
        self.layers = {layer: LayerScores() for layer in layers}
        self.n_prompts = 0

    def add(self, layer: int, maps: dict[str, np.ndarray], categories: np.ndarray, errors: dict[str, float]) -> None:
        """One prompt's maps (``(T, T)`` each) and worst relative errors at ``layer``."""
        book = self.layers[layer]
        for component, err in errors.items():
            book.errors[component].append(float(err))
        for a, b in SCOPE_PAIRS:
            book.spearman[f"{a}->{b}"].append(spearman(maps[a], maps[b]))
        for scope in AMPLIFIED_SCOPES:
            ratio = log2_amplification(maps[scope], maps["ATB"])
            for code, cat in enumerate(CATEGORIES):
                values = ratio[categories == code]
                values = values[np.isfinite(values)]
                if len(values):
                    book.amplification[(scope, cat)].append(values)
                    book.prompts_with[(scope, cat)] += 1
        for scope in SCOPES:
            book.offdiag[scope].append(offdiag_share(maps[scope]))

    def layer_summary(self, layer: int) -> dict:
        book = self.layers[layer]
        errors = {
            c: {"max": float(np.max(v)), "mean": float(np.mean(v)), "n": len(v)} for c, v in book.errors.items()
        }
        amp: dict[str, dict] = {}
        for scope in AMPLIFIED_SCOPES:
            amp[scope] = {}
            for cat in CATEGORIES:
                chunks = book.amplification.get((scope, cat), [])
                v = np.concatenate(chunks) if chunks else np.zeros(0)
                amp[scope][cat] = {
                    "mean_log2_ratio": float(v.mean()) if len(v) else None,
                    "std_log2_ratio": float(v.std()) if len(v) else None,
                    "median_ratio": float(2.0 ** np.median(v)) if len(v) else None,
                    "n_pairs": int(len(v)),
                    "n_prompts": int(book.prompts_with.get((scope, cat), 0)),
                }
        return {
            "completeness": errors,
            "spearman": {pair: _stats(v) for pair, v in book.spearman.items()},
            "amplification": amp,
            "ff_offdiag_share": _stats(book.offdiag["ATBFF"]),
            "offdiag_share": {scope: _stats(v) for scope, v in book.offdiag.items()},
        }

    def summary(self) -> dict:
        per_layer = {str(layer): self.layer_summary(layer) for layer in self.layers}
        worst = {"value": -1.0, "layer": None, "component": None}
        for layer, s in per_layer.items():
            for comp, e in s["completeness"].items():
                if e["max"] > worst["value"]:
                    worst = {"value": e["max"], "layer": int(layer), "component": comp}
        return {"per_layer": per_layer, "worst_completeness_error": worst, "across_layers": _across(per_layer)}


def _mean(values: list) -> float | None:
    v = [x for x in values if x is not None and np.isfinite(x)]
    return float(np.mean(v)) if v else None


def _across(per_layer: dict) -> dict:
    """Unweighted means over layers of the per-layer means (what the CLI prints)."""
    layers = list(per_layer.values())
    if not layers:
        return {}
    pairs = layers[0]["spearman"].keys()
    return {
        "spearman": {p: _mean([s["spearman"][p]["mean"] for s in layers]) for p in pairs},
        "amplification_mean_log2_ratio": {
            scope: {cat: _mean([s["amplification"][scope][cat]["mean_log2_ratio"] for s in layers]) for cat in CATEGORIES}
            for scope in AMPLIFIED_SCOPES
        },
        "ff_offdiag_share": _mean([s["ff_offdiag_share"]["mean"] for s in layers]),
        "offdiag_share": {sc: _mean([s["offdiag_share"][sc]["mean"] for s in layers]) for sc in layers[0]["offdiag_share"]},
    }
