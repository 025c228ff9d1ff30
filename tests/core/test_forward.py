"""Batched, padded, last-position-only forward passes equal one-prompt-at-a-time full passes."""

from __future__ import annotations

import torch

from interp.scoring.forward import last_logits, make_batches

PROMPTS = [
    "When the morning came, the travellers went to the market in",
    "The city is located in",
    "A letter arrived from",
    "They bought bread and wine, and then they walked along the river to the old bridge and",
]


def test_batched_padded_equals_single(tiny_model):
    batches = make_batches(tiny_model, PROMPTS, batch_size=3)
    assert sorted(i for b in batches for i in b.indices) == list(range(len(PROMPTS)))
    for batch in batches:
        logits = last_logits(tiny_model, batch)
        for row, i in enumerate(batch.indices):
            ids = torch.tensor([tiny_model.tokenizer.encode_prompt(PROMPTS[i])])
            with torch.no_grad():
                full = tiny_model.bridge(ids)[0, -1]
            assert torch.allclose(logits[row], full, atol=1e-4), (tiny_model.arch.model_type, i)


def test_identity_hook_leaves_logits_unchanged(tiny_model):
    (batch,) = make_batches(tiny_model, PROMPTS, batch_size=8)
    before = last_logits(tiny_model, batch)
    names = [f"blocks.{layer}.hook_resid_pre" for layer in range(tiny_model.n_layers)] + ["blocks.0.mlp.hook_post"]
    with tiny_model.bridge.hooks(fwd_hooks=[(n, lambda x, hook: x) for n in names]):
        after = last_logits(tiny_model, batch)
    assert torch.equal(before, after)
