"""Exact SVDs of raw weight matrices, computed once per matrix and reused for every rho.

A sweep truncates the same matrix at many ranks; the SVD (float32, ``torch.linalg.svd`` via
:func:`interp.edits.lowrank.svd`) is the expensive part and does not depend on rho. The cache
keeps the most recently used SVDs up to a memory bound (least recently used evicted first).

An entry is keyed by ``(layer, matrix)`` and carries a fingerprint of the matrix it was
computed from (shape, dtype, float64 sum and norm), so a matrix that changed since (another
edit still applied, a different model) is recomputed rather than served stale.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.edits.lowrank import SVD, svd

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 1 << 30  # 1 GiB: ~200 SmolLM2 MLP matrices


def fingerprint(W: Tensor) -> tuple:
    """Cheap identity of a matrix's values: shape, dtype, float64 sum and Frobenius norm."""
    w = W.detach()
    return (tuple(W.shape), W.dtype, float(w.sum(dtype=torch.float64)), float(torch.linalg.vector_norm(w, dtype=torch.float64)))


@dataclass
class _Entry:
    fingerprint: tuple
    svd: SVD


class SVDCache:
    """LRU cache of exact SVDs with a memory bound (bytes of U, S, Vh held)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    @property
    def nbytes(self) -> int:
        return sum(e.svd.nbytes for e in self._entries.values())

    def get(self, key: Hashable, W: Float[Tensor, "m n"]) -> SVD:
        """The SVD of ``W`` (stored under ``key``): from the cache when ``W`` is unchanged, else computed."""
        fp = fingerprint(W)
        entry = self._entries.get(key)
        if entry is not None and entry.fingerprint == fp:
            self.hits += 1
            self._entries.move_to_end(key)
            return entry.svd
        self.misses += 1
        result = svd(W)
        self._entries[key] = _Entry(fp, result)
        self._entries.move_to_end(key)
        self._evict()
        return result

    def _evict(self) -> None:
        total = self.nbytes
        while total > self.max_bytes and len(self._entries) > 1:
            _, entry = self._entries.popitem(last=False)
            total -= entry.svd.nbytes
        if total > self.max_bytes:  # a single SVD larger than the bound: keep nothing
            self._entries.clear()

    def clear(self) -> None:
        self._entries.clear()

    def stats(self) -> dict[str, int]:
        return {"hits": self.hits, "misses": self.misses, "entries": len(self), "bytes": self.nbytes}
