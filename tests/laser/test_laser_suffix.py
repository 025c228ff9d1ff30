"""Suffix-only evaluation equals a full forward; the block patch is undone."""

from __future__ import annotations

import pytest
import torch

from interp.laser.suffix import residual_at, skip_blocks_below, suffix_all_logits, suffix_logits
from interp.scoring.forward import last_logits, make_batches


def test_suffix_equals_full_forward(tiny_model, prompts):
    for batch in make_batches(tiny_model, prompts, 3):  # padded batches of different lengths
        full = last_logits(tiny_model, batch)
        for layer in range(tiny_model.n_layers):
            resid = residual_at(tiny_model, batch, layer)
            torch.testing.assert_close(suffix_logits(tiny_model, batch, resid, layer), full, atol=1e-5, rtol=0)


def test_advancing_residuals_equals_computing_them_fresh(tiny_model, prompts):
    batch = make_batches(tiny_model, prompts, 8)[0]
    r0 = residual_at(tiny_model, batch, 0)
    r1 = residual_at(tiny_model, batch, 1, resid=r0, from_layer=0)
    torch.testing.assert_close(r1, residual_at(tiny_model, batch, 1), atol=1e-6, rtol=0)
    with pytest.raises(ValueError):
        residual_at(tiny_model, batch, 0, resid=r1, from_layer=1)


def test_all_position_suffix_matches_full(tiny_model, prompts):
    batch = make_batches(tiny_model, prompts, 8)[0]
    with torch.inference_mode():
        full = tiny_model.bridge(batch.input_ids, attention_mask=batch.attention_mask)
    resid = residual_at(tiny_model, batch, 1)
    torch.testing.assert_close(suffix_all_logits(tiny_model, resid, 1, batch.attention_mask), full, atol=1e-5, rtol=0)


def test_skipped_blocks_really_do_not_run_and_are_restored(tiny_model, prompts):
    batch = make_batches(tiny_model, prompts, 8)[0]
    ran = []
    hook = ("blocks.0.hook_mlp_out", lambda act, hook: ran.append(0) or act)
    with tiny_model.bridge.hooks(fwd_hooks=[hook]):
        resid = residual_at(tiny_model, batch, 1)
        ran.clear()
        suffix_logits(tiny_model, batch, resid, 1)
        assert ran == []  # block 0 was skipped
        last_logits(tiny_model, batch)
        assert ran == [0]  # and runs again afterwards
    assert all("forward" not in block.__dict__ for block in tiny_model.bridge.blocks)
    with pytest.raises(RuntimeError, match="x"), skip_blocks_below(tiny_model, 2):
        raise RuntimeError("x")
    assert all("forward" not in block.__dict__ for block in tiny_model.bridge.blocks)
