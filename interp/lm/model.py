"""The model a run trains: ``transformers``' ``GPTNeoXForCausalLM`` (Pythia's architecture), initialised from the seed.

Initialisation is Pythia's (GPT-NeoX ``init_method: small_init``, ``output_layer_init_method:
wang_init``), drawn from an explicit ``torch.Generator`` on the CPU, so the same seed gives the
same weights on any device and the global RNG is never drawn from:

    embeddings, unembedding, query_key_value, dense_h_to_4h   N(0, sqrt(2 / (5 d_model)))   small_init
    attention.dense, dense_4h_to_h (the outputs into the residual)  N(0, 2 / (n_layers sqrt(d_model)))  wang_init
    biases 0; LayerNorm gains 1 and biases 0

Attention runs through PyTorch's fused ``scaled_dot_product_attention`` (``attn_implementation="sdpa"``).
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
from transformers import GPTNeoXConfig, GPTNeoXForCausalLM

from interp.lm.config import ModelConfig
from interp.models.loading import quiet_progress

#: the modules whose weights write into the residual stream (wang_init)
OUTPUT_LAYERS = ("attention.dense", "mlp.dense_4h_to_h")


def hf_config(model: ModelConfig, vocab_size: int, eos_id: int) -> GPTNeoXConfig:
    """The ``GPTNeoXConfig`` of ``model`` with a tokenizer of ``vocab_size`` whose end-of-text token is ``eos_id``."""
    config = GPTNeoXConfig(
        vocab_size=vocab_size,
        hidden_size=model.d_model,
        num_hidden_layers=model.n_layers,
        num_attention_heads=model.n_heads,
        intermediate_size=model.d_mlp,
        hidden_act="gelu",
        max_position_embeddings=model.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": float(model.rotary_emb_base), "partial_rotary_factor": model.rotary_pct},
        use_parallel_residual=model.parallel_residual,
        tie_word_embeddings=False,
        attention_dropout=0.0,
        hidden_dropout=0.0,
        classifier_dropout=0.0,
        bos_token_id=eos_id,
        eos_token_id=eos_id,
        pad_token_id=eos_id,
    )
    config._attn_implementation = "sdpa"
    return config


def init_std(name: str, model: ModelConfig) -> float:
    """The standard deviation of weight ``name`` (a parameter name of ``GPTNeoXForCausalLM``) at initialisation."""
    if any(f"{layer}.weight" in name for layer in OUTPUT_LAYERS):
        return 2.0 / (model.n_layers * math.sqrt(model.d_model))
    return math.sqrt(2.0 / (5.0 * model.d_model))


@torch.no_grad()
def init_weights(module: GPTNeoXForCausalLM, model: ModelConfig, seed: int) -> None:
    """Draw every parameter afresh from ``seed`` (see the module docstring), in the order of ``named_parameters``."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    for name, param in module.named_parameters():
        if name.endswith(".bias"):
            value = torch.zeros(param.shape)
        elif "layernorm" in name or "layer_norm" in name:
            value = torch.ones(param.shape)
        else:
            value = torch.empty(param.shape).normal_(0.0, init_std(name, model), generator=generator)
        param.copy_(value)


def build_model(model: ModelConfig, vocab_size: int, eos_id: int, seed: int, device: torch.device | str = "cpu") -> GPTNeoXForCausalLM:
    """A freshly initialised ``GPTNeoXForCausalLM`` (float32, train mode) on ``device``."""
    config = hf_config(model, vocab_size, eos_id)
    with torch.random.fork_rng(devices=[]):  # transformers' own init draws from the global RNG: keep it untouched
        module = GPTNeoXForCausalLM(config)
    init_weights(module, model, seed)
    module.to(device)
    module.train()
    return module


@torch.no_grad()
def load_weights(module: GPTNeoXForCausalLM, folder: str | Path) -> None:
    """Copy the weights of the checkpoint ``folder`` (``save_pretrained``'s) into ``module``, bit for bit.

    Read through ``from_pretrained``, which maps the names transformers writes (``embed_out``,
    as in the Pythia checkpoints) back to the module's (``lm_head``).
    """
    with torch.random.fork_rng(devices=[]), quiet_progress():
        saved = GPTNeoXForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
    module.load_state_dict(saved.state_dict(), strict=True)


def count_parameters(module: torch.nn.Module) -> dict[str, int]:
    """Parameters in all, and without the input and output embeddings."""
    total = sum(p.numel() for p in module.parameters())
    embeddings = sum(p.numel() for n, p in module.named_parameters() if "embed_in" in n or n.startswith(("lm_head", "embed_out")))
    return {"n_params": total, "n_params_non_embedding": total - embeddings}
