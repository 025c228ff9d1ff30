"""The SVD cache: exact, hit on reuse, recomputed when the matrix changed, bounded."""

from __future__ import annotations

import torch

from interp.edits.svd_cache import SVDCache


def test_hit_miss_and_exactness():
    W = torch.randn(40, 24)
    cache = SVDCache()
    first = cache.get(("l0", "mlp_in"), W)
    second = cache.get(("l0", "mlp_in"), W.clone())
    assert first is second and (cache.misses, cache.hits) == (1, 1)
    torch.testing.assert_close(first.reconstruct(24), W, atol=1e-5, rtol=0)
    changed = W.clone()
    changed[0, 0] += 1.0
    third = cache.get(("l0", "mlp_in"), changed)  # same key, different values: recomputed
    assert third is not first and cache.misses == 2


def test_memory_bound_evicts_least_recently_used():
    mats = [torch.randn(30, 20) for _ in range(4)]
    one = SVDCache().get("x", mats[0]).nbytes
    cache = SVDCache(max_bytes=2 * one)
    for i, W in enumerate(mats[:3]):
        cache.get(i, W)
    assert len(cache) == 2 and 0 not in cache and cache.nbytes <= 2 * one
    cache.get(1, mats[1])  # 1 becomes most recent
    cache.get(3, mats[3])  # evicts 2
    assert 1 in cache and 3 in cache and 2 not in cache
