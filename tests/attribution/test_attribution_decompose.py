"""Per-token decompositions on tiny GPT-2, GPT-NeoX and Llama models: completeness against the
hooked forward, causality, per-head consistency, determinism, NeoX's token-local FF."""

from __future__ import annotations

import torch

from interp.attribution.attribute import attribute_texts
from interp.attribution.capture import capture
from interp.attribution.decompose import attention_parts, head_parts, value_vectors
from interp.attribution.layout import SCOPES, BlockLayout, layer_weights

SERIAL = {"attn", "res1", "ln2", "ff", "res2", "ln_next"}


def test_every_component_sums_to_the_hooked_output(tiny_model, prompts):
    """Parts + bias equal each component's recorded output within 1e-4 relative error (IG at 512 steps)."""
    batch, results = attribute_texts(tiny_model, prompts, layers=range(tiny_model.n_layers), ig_steps=512)
    real = batch.attention_mask.bool()
    assert sorted(results) == list(range(tiny_model.n_layers))
    for layer, res in results.items():
        assert set(res.errors) == SERIAL, layer
        for component, err in res.errors.items():
            worst = err[real].max().item()
            assert worst < 1e-4, (tiny_model.arch.model_type, layer, component, worst)


def test_maps_are_causal_and_cover_every_scope(tiny_model, prompts):
    batch, results = attribute_texts(tiny_model, prompts, layers=[1], ig_steps=8)
    res = results[1]
    assert tuple(res.maps) == SCOPES
    T = batch.input_ids.shape[1]
    upper = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    for scope, m in res.maps.items():
        assert m.shape == (2, T, T)
        assert torch.all(m[:, upper] == 0), scope
        assert torch.all(m >= 0), scope
    torch.testing.assert_close(res.maps["ATTN-W"].sum(-1)[batch.attention_mask.bool()], torch.ones(int(batch.attention_mask.sum())))


def test_per_head_maps_sum_to_the_head_summed_map(tiny_model, prompts):
    """ATTN-W: per-head weights average to the map. ATTN-N: per-head vectors alpha^h f^h sum over
    heads to the vectors whose norms are the map, and their own norms are the per-head maps."""
    batch, results = attribute_texts(tiny_model, prompts, layers=[0], ig_steps=8)
    res = results[0]
    torch.testing.assert_close(res.head_maps["ATTN-W"].mean(1), res.maps["ATTN-W"])
    layout = BlockLayout.of(tiny_model)
    cache = capture(tiny_model, layout, (0,), batch.input_ids, batch.attention_mask, batch.last_index)
    f = value_vectors(cache["blocks.0.attn.hook_v"], layer_weights(tiny_model, 0).W_O, layout.n_heads)
    pattern = cache["blocks.0.attn.hook_pattern"]
    per_head = head_parts(pattern, f)
    summed = attention_parts(pattern, f, None).parts
    assert per_head.shape[1] == layout.n_heads
    torch.testing.assert_close(per_head.sum(1), summed, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(summed.norm(dim=-1), res.maps["ATTN-N"], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(per_head.norm(dim=-1), res.head_maps["ATTN-N"], atol=1e-6, rtol=1e-5)
    # norms are sub-additive: the head-summed map never exceeds the sum of the per-head maps
    assert torch.all(res.maps["ATTN-N"] <= res.head_maps["ATTN-N"].sum(1) + 1e-6)


def test_maps_are_deterministic(tiny_model, prompts):
    _, first = attribute_texts(tiny_model, prompts, layers=[0, 1], ig_steps=16)
    _, second = attribute_texts(tiny_model, prompts, layers=[0, 1], ig_steps=16)
    for layer in (0, 1):
        for scope in SCOPES:
            assert torch.equal(first[layer].maps[scope], second[layer].maps[scope]), (layer, scope)


def test_attribution_leaves_the_model_unchanged(tiny_model, prompts):
    ids = torch.tensor([tiny_model.tokenizer.encode_prompt(prompts[0])])
    with torch.no_grad():
        before = tiny_model.bridge(ids)
        attribute_texts(tiny_model, prompts, layers=[0, 1], ig_steps=4)
        after = tiny_model.bridge(ids)
    assert torch.equal(before, after)


def test_gpt_neox_ff_mixes_no_tokens_within_the_layer(tiny_model_dirs, prompts):
    """GPT-NeoX's parallel MLP reads x_i alone: its ATBFF map is diagonal; a serial GPT-2's is not."""
    from interp.models.loading import load_model

    for arch, parallel in (("gpt-neox", True), ("gpt2", False)):
        model = load_model(str(tiny_model_dirs[arch]), device="cpu")
        assert BlockLayout.of(model).parallel is parallel
        batch, results = attribute_texts(model, prompts, layers=[0, 1], ig_steps=8)
        T = batch.input_ids.shape[1]
        off = ~torch.eye(T, dtype=torch.bool)
        for res in results.values():
            ff = res.maps["ATBFF"]
            if parallel:
                assert torch.all(ff[:, off] == 0)
                assert torch.all(torch.diagonal(ff, dim1=1, dim2=2)[batch.attention_mask.bool()] > 0)
            else:
                assert ff[:, off].max() > 0
