"""Completeness with nonzero biases: every component's parts plus its bias term equal the output
the hooked forward recorded.

A freshly initialised tiny model has all biases zero, so a decomposition that drops a bias (the
FF output bias, the attention output bias, a LayerNorm bias) still sums to the right vector there.
Here every bias of the model is redrawn (large, so dropping one is a large error) and saved, and
the model is loaded like any other folder.
"""

from __future__ import annotations

import pytest
import torch

from interp.attribution.attribute import attribute_texts
from interp.attribution.layout import layer_weights
from interp.models.tiny import TinyConfig, make_tiny_model

SERIAL = {"attn", "res1", "ln2", "ff", "res2", "ln_next"}


def _biased_model_dir(root, arch: str, tokenizer):
    from transformers import AutoModelForCausalLM

    folder = make_tiny_model(root / arch, TinyConfig(arch=arch), tokenizer)
    if arch == "llama":  # Llama's MLP and attention carry biases only when asked to
        from transformers import AutoConfig

        config = AutoConfig.from_pretrained(folder)
        config.mlp_bias = config.attention_bias = True
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(config)
    else:
        model = AutoModelForCausalLM.from_pretrained(folder)
    generator = torch.Generator().manual_seed(7)
    n_biases = 0
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("bias"):
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
                n_biases += 1
    assert n_biases > 0
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module", params=["gpt2", "gpt-neox", "llama"])
def biased_model(request, tmp_path_factory, tiny_tokenizer):
    from interp.models.loading import load_model

    folder = _biased_model_dir(tmp_path_factory.mktemp("biased"), request.param, tiny_tokenizer)
    return load_model(str(folder), device="cpu")


def test_every_component_sums_to_the_hooked_output_with_biases(biased_model, prompts):
    for layer in range(biased_model.n_layers):  # the biases are really there, and large
        w = layer_weights(biased_model, layer)
        for bias in (w.b_out, w.b_O, w.b_in):
            assert bias is not None and bias.abs().max() > 0.1
    batch, results = attribute_texts(biased_model, prompts, layers=range(biased_model.n_layers), ig_steps=256)
    real = batch.attention_mask.bool()
    for layer, res in results.items():
        assert set(res.errors) == SERIAL, layer
        for component, err in res.errors.items():
            worst = err[real].max().item()
            assert worst < 1e-4, (biased_model.arch.model_type, layer, component, worst)
