"""Rank-k truncation keeps exactly the top k singular directions: the edited weight inside
``apply_edits`` (through the SVD cache, on every tiny family) equals a hand ``torch.linalg.svd``
reconstruction with k computed by hand from the shape, its rank is k (not k+1), and what was
removed is the bottom of the spectrum."""

from __future__ import annotations

import math

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.svd_cache import SVDCache
from interp.edits.weights import resolve


def _hand_k(rho: float, shape: tuple[int, int]) -> int:
    # k = max(1, floor(rho * min(m, n))), written out here so the test does not trust rank_for
    return max(1, math.floor(rho * min(shape)))


@pytest.mark.parametrize(("matrix", "rho"), [("mlp_in", 0.25), ("mlp_out", 0.05), ("attn_o", 0.5)])
def test_lowrank_is_the_top_k_reconstruction(tiny_model, matrix, rho):
    handle = resolve(tiny_model, 1, matrix)
    W = handle.read().double()
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    k = _hand_k(rho, handle.shape)
    assert 1 <= k < min(handle.shape) and S[k - 1] > S[k] * (1 + 1e-6)  # distinct top-k: the answer is unique
    top = (U[:, :k] * S[:k]) @ Vh[:k]
    with apply_edits(tiny_model, [f"1:{matrix}:{rho}"], svd_cache=SVDCache()) as report:
        edited = handle.read().double()
    assert list(report.ranks.values()) == [k]
    torch.testing.assert_close(edited, top, atol=1e-4, rtol=1e-4)
    assert torch.linalg.matrix_rank(edited.float()).item() == k
    # the removed part is the bottom of the spectrum: its singular values are S[k:], its largest S[k]
    removed = torch.linalg.svdvals(W - edited)
    torch.testing.assert_close(removed[: min(handle.shape) - k], S[k:], atol=1e-4, rtol=1e-3)
    # and the kept part has the top singular values S[:k]
    torch.testing.assert_close(torch.linalg.svdvals(edited)[:k], S[:k], atol=1e-4, rtol=1e-4)


def test_remove_top_removes_exactly_k_top_directions(tiny_gpt2):
    handle = resolve(tiny_gpt2, 0, "mlp_in")
    W = handle.read().double()
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    k = 3
    with apply_edits(tiny_gpt2, ["0:mlp_in:remove_top:3"]):
        edited = handle.read().double()
    torch.testing.assert_close(edited, W - (U[:, :k] * S[:k]) @ Vh[:k], atol=1e-4, rtol=1e-4)
    assert torch.linalg.matrix_rank((W - edited).float()).item() == k
