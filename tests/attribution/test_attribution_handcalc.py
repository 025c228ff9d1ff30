"""ATTN-N and ATTN-W on a one-layer GPT-2, against a direct computation from the Hugging Face weights
(embeddings, LayerNorm, q/k/v, causal softmax, per-head value and output projections by hand)."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM

from interp.attribution.attribute import attribute_texts
from interp.models.loading import load_model


def test_attn_n_equals_the_hand_computation(one_layer_gpt2_dir, prompts):
    model = load_model(str(one_layer_gpt2_dir), device="cpu")
    assert model.n_layers == 1
    text = prompts[0]
    _, results = attribute_texts(model, [text], layers=[0], ig_steps=4)
    ours_n, ours_w = results[0].maps["ATTN-N"][0], results[0].maps["ATTN-W"][0]

    hf = AutoModelForCausalLM.from_pretrained(one_layer_gpt2_dir).eval()
    sd = {k: v.double() for k, v in hf.state_dict().items()}
    cfg = hf.config
    H, d = cfg.n_head, cfg.n_embd
    dh = d // H
    ids = torch.tensor(model.tokenizer.encode_prompt(text))
    T = len(ids)
    x = sd["transformer.wte.weight"][ids] + sd["transformer.wpe.weight"][:T]
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    ln = (x - mu) / torch.sqrt(var + cfg.layer_norm_epsilon) * sd["transformer.h.0.ln_1.weight"] + sd["transformer.h.0.ln_1.bias"]
    qkv = ln @ sd["transformer.h.0.attn.c_attn.weight"] + sd["transformer.h.0.attn.c_attn.bias"]  # Conv1D: x W + b
    q, k, v = (t.view(T, H, dh) for t in qkv.split(d, dim=-1))
    alpha = torch.zeros(H, T, T, dtype=torch.float64)
    for h in range(H):
        scores = q[:, h] @ k[:, h].T / dh**0.5
        scores = scores.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        alpha[h] = scores.softmax(-1)
    W_O = sd["transformer.h.0.attn.c_proj.weight"]  # (H * dh, d), Conv1D
    expected = torch.zeros(T, T, dtype=torch.float64)
    for i in range(T):
        for j in range(i + 1):
            vec = sum(alpha[h, i, j] * (v[j, h] @ W_O[h * dh : (h + 1) * dh]) for h in range(H))
            expected[i, j] = vec.norm()
    torch.testing.assert_close(ours_w.double()[:T, :T], alpha.mean(0), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(ours_n.double()[:T, :T], expected, atol=1e-6, rtol=1e-4)
