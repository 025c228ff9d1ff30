"""The global character bigram model of Tiny Shakespeare, read from the committed table.

``shakespeare_bigram.json`` (made by ``analyses/make_bigram_table.py``) holds the 65
characters and their unigram and bigram counts; this module turns them into the marginal
and conditional probabilities the data generators sample from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from jaxtyping import Float
from torch import Tensor

TABLE_PATH = Path(__file__).with_name("shakespeare_bigram.json")


@dataclass(frozen=True)
class BigramModel:
    """Characters, unigram marginal pi(v) and transition matrix P(next = j | current = i)."""

    chars: tuple[str, ...]
    marginal: Float[Tensor, " n_chars"]
    transition: Float[Tensor, "n_chars n_chars"]

    def __post_init__(self) -> None:
        n = len(self.chars)
        if self.marginal.shape != (n,) or self.transition.shape != (n, n):
            raise ValueError(f"bigram table shapes do not match {n} characters")

    @property
    def n_chars(self) -> int:
        return len(self.chars)

    def most_frequent(self, k: int) -> list[int]:
        """Indices of the k most frequent characters, most frequent first."""
        return torch.argsort(self.marginal, descending=True, stable=True)[:k].tolist()

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] if i < self.n_chars else "<noise>" for i in ids)


def from_counts(chars: list[str], unigram_counts: list[int], bigram_counts: list[list[int]]) -> BigramModel:
    """Normalise counts; a character never followed by anything gets the marginal as its row."""
    unigrams = torch.tensor(unigram_counts, dtype=torch.float64)
    counts = torch.tensor(bigram_counts, dtype=torch.float64)
    marginal = unigrams / unigrams.sum()
    row_sums = counts.sum(dim=1, keepdim=True)
    transition = torch.where(row_sums > 0, counts / row_sums.clamp_min(1), marginal.expand_as(counts))
    return BigramModel(tuple(chars), marginal.float(), transition.float())


@lru_cache(maxsize=1)
def shakespeare_bigram() -> BigramModel:
    """The committed Tiny Shakespeare character bigram model (65 characters)."""
    table = json.loads(TABLE_PATH.read_text(encoding="utf-8"))
    return from_counts(table["chars"], table["unigram_counts"], table["bigram_counts"])
