"""The memory probes on hand-built associative memories with a known fraction of correct associations."""

from __future__ import annotations

import pytest
import torch

from interp.toy import probes
from interp.toy.bigram import shakespeare_bigram
from interp.toy.model import ToyTransformer

V = 65  # trigger-bigram vocabulary
D = 96  # room for V orthonormal token directions


@pytest.fixture
def onehot_model(make_config) -> ToyTransformer:
    """Two layers, one head, one-hot token embeddings and unembedding; W_V = W_O = identity."""
    cfg = make_config("birth", **{"model.d_model": D, "model.mlp": [False, True], "model.d_mlp": 80})
    model = ToyTransformer(cfg.model)
    eye = torch.eye(D)
    with torch.no_grad():
        model.embed.W_E.copy_(eye[:V])
        model.unembed.W_U.copy_(eye[:V].T)
        for block in model.blocks:
            block.attn.W_V.copy_(eye[None])
            block.attn.W_O.copy_(eye[None])
    return model


def test_recall_fraction_counts_argmax_hits():
    scores = torch.tensor([[0.0, 2.0, 1.0], [3.0, 0.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert probes.recall_fraction(scores, torch.tensor([1, 0, 2, 2])) == 0.75
    # with a head dimension the best head counts
    stacked = torch.stack([scores, scores.roll(1, dims=-1)])
    assert probes.recall_fraction(stacked, torch.tensor([1, 0, 2, 2])) == 0.75


def test_wo2_probe_on_a_hand_built_memory(onehot_model):
    model = onehot_model
    stored = torch.arange(V) % 3 != 0  # 43 of 65 associations v -> v stored, the rest v -> v + 1
    W_O = torch.zeros(D, D)
    for v in range(V):
        W_O[v, v if stored[v] else (v + 1) % V] = 1.0
    with torch.no_grad():
        model.blocks[1].attn.W_O.copy_(W_O[None])
    assert probes.probe_wo2(model, torch.arange(V)) == pytest.approx(stored.float().mean().item())
    with torch.no_grad():
        model.blocks[1].attn.W_O.copy_(torch.eye(D)[None])
    assert probes.probe_wo2(model, torch.arange(V)) == 1.0


def test_wk2_probe_on_a_hand_built_memory(onehot_model):
    model = onehot_model
    tokens = torch.tensor([1, 7, 20, 39, 43, 58])
    # key of token v after layer 1 is e_v @ W_K; query of u is e_u: score(u, v) = W_K[v, u]
    W_K = torch.zeros(D, D)
    for i, u in enumerate(tokens.tolist()):
        target = u if i < 4 else tokens[(i + 1) % len(tokens)].item()  # last two point elsewhere
        W_K[target, u] = 1.0
    with torch.no_grad():
        model.blocks[1].attn.W_K.copy_(W_K[None])
    assert probes.probe_wk2(model, tokens) == pytest.approx(4 / 6)


def test_wk1_probe_on_a_hand_built_previous_token_head(onehot_model):
    model = onehot_model
    T = model.cfg.n_ctx  # 32 positions, one-hot positional embeddings
    with torch.no_grad():
        model.pos_embed.W_pos.copy_(torch.eye(D)[:T])
        W_K = torch.zeros(D, D)
        # query of position t+1 is e_{t+1}; key of position s is e_s @ W_K: score = W_K[s, t+1]
        for t in range(T - 1):
            s = t if t % 2 == 0 else (t + 3) % (T - 1)
            W_K[s, t + 1] = 1.0
        model.blocks[0].attn.W_K.copy_(W_K[None])
    assert probes.probe_wk1(model) == pytest.approx(sum(t % 2 == 0 for t in range(T - 1)) / (T - 1))


def test_ff_kl_is_zero_for_an_mlp_that_stores_the_bigram(onehot_model):
    model = onehot_model
    bigram = shakespeare_bigram()
    log_p = bigram.transition.clamp_min(1e-12).log()
    with torch.no_grad():
        mlp = model.blocks[1].mlp
        mlp.W_in.copy_(torch.eye(D, 80))  # e_v -> hidden unit v (ReLU passes 1)
        W_out = torch.zeros(80, D)
        W_out[:V, :V] = log_p
        mlp.W_out.copy_(W_out)
    tokens = torch.arange(V)
    assert probes.ff_bigram_kl(model, bigram.transition, tokens) < 1e-4
    # a uniform prediction has KL = log V - H(row), averaged
    with torch.no_grad():
        mlp.W_out.zero_()
    p = bigram.transition
    expected = (torch.log(torch.tensor(float(V))) + (torch.xlogy(p, p)).sum(-1)).mean().item()
    assert probes.ff_bigram_kl(model, bigram.transition, tokens) == pytest.approx(expected, rel=1e-4)


def test_probes_need_two_layers(make_config):
    one = ToyTransformer(make_config("birth", n_layers=1).model)
    assert probes.probe_wo2(one, torch.arange(V)) is None
    assert probes.probe_wk1(one) is None
