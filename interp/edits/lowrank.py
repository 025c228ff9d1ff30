"""Exact SVD and rank-k reconstruction of weight matrices.

Used by every rank edit (:mod:`interp.edits.apply`): LASER's ``lowrank``, ``remove_top``. The SVD is
always computed in float32, whatever the weight's dtype, and the reconstruction is cast
back to the weight's dtype.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.edits.spec import check_rho


def rank_for(rho: float, shape: tuple[int, ...]) -> int:
    """k = max(1, floor(rho * min(m, n))) for a matrix of ``shape``; rho in (0, 1]."""
    rho = check_rho(rho)
    full = min(shape[-2], shape[-1])
    # floor with a tolerance so that e.g. 0.1 * 1000 gives 100, not 99
    return max(1, int(math.floor(rho * full + 1e-9)))


@dataclass(frozen=True)
class SVD:
    """Thin SVD W = U diag(S) Vh of one matrix, in float32."""

    U: Float[Tensor, "m r"]
    S: Float[Tensor, " r"]
    Vh: Float[Tensor, "r n"]

    @property
    def full_rank(self) -> int:
        return self.S.shape[0]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (self.U, self.S, self.Vh))

    def reconstruct(self, k: int, dtype: torch.dtype | None = None) -> Float[Tensor, "m n"]:
        """The best rank-k approximation U[:, :k] diag(S[:k]) Vh[:k]."""
        W = (self.U[:, :k] * self.S[:k]) @ self.Vh[:k]
        return W if dtype is None else W.to(dtype)


def svd(W: Float[Tensor, "m n"]) -> SVD:
    """Exact thin SVD of ``W`` computed in float32 on W's device."""
    U, S, Vh = torch.linalg.svd(W.detach().to(torch.float32), full_matrices=False)
    return SVD(U=U, S=S, Vh=Vh)


def truncate(W: Float[Tensor, "m n"], rho: float) -> Float[Tensor, "m n"]:
    """Rank-k truncation of ``W`` with k = rank_for(rho), in W's dtype. rho = 1 returns W itself."""
    k = rank_for(rho, tuple(W.shape))
    if k >= min(W.shape):
        return W.detach().clone()
    return svd(W).reconstruct(k, dtype=W.dtype)
