"""Blocks with norms on the attention and MLP outputs (Gemma 3), fast tier: a tiny random Gemma 3
whose norm weights are redrawn (so each norm matters), decomposed with every component,
``attn_post_norm`` and ``ff_post_norm`` included, summing to the hooked forward's outputs."""

from __future__ import annotations

import pytest
import torch

from interp.attribution.attribute import attribute_texts
from interp.attribution.layout import BlockLayout

COMPONENTS = {"attn", "attn_post_norm", "res1", "ln2", "ff", "ff_post_norm", "res2", "ln_next"}


@pytest.fixture(scope="module")
def tiny_gemma3(tmp_path_factory, tiny_tokenizer):
    from transformers import AutoModelForCausalLM, Gemma3TextConfig

    from interp.models.loading import load_model

    bos = int(tiny_tokenizer.bos_token_id)
    config = Gemma3TextConfig(
        vocab_size=len(tiny_tokenizer), hidden_size=64, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, head_dim=16, max_position_embeddings=256, bos_token_id=bos, eos_token_id=bos, pad_token_id=bos,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = AutoModelForCausalLM.from_config(config)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "norm" in name:
                    param.copy_(torch.randn(param.shape) * 0.3)
    folder = tmp_path_factory.mktemp("gemma3") / "tiny"
    model.save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return load_model(str(folder), device="cpu")


def test_post_norm_blocks_sum_to_the_hooked_output(tiny_gemma3, prompts):
    layout = BlockLayout.of(tiny_gemma3)
    assert layout.post_norms and layout.gated and layout.n_kv_heads == 2
    batch, results = attribute_texts(tiny_gemma3, prompts, layers=range(tiny_gemma3.n_layers), ig_steps=256)
    real = batch.attention_mask.bool()
    for layer, res in results.items():
        assert set(res.errors) == COMPONENTS, layer
        for component, err in res.errors.items():
            worst = err[real].max().item()
            assert worst < 1e-4, (layer, component, worst)
