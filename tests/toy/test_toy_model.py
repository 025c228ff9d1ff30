"""The toy model: TransformerLens names and shapes, frozen parameters, hooks."""

from __future__ import annotations

import torch

from interp.toy.model import MEMORY_MODEL_TRAINED, ToyTransformer

EXPECTED_HOOKS = [
    "hook_embed",
    "hook_pos_embed",
    *[
        f"blocks.{layer}.{name}"
        for layer in range(2)
        for name in (
            "hook_resid_pre", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_attn_scores",
            "attn.hook_pattern", "attn.hook_z", "hook_attn_out", "hook_resid_mid", "mlp.hook_pre",
            "mlp.hook_post", "hook_mlp_out", "hook_resid_post",
        )
    ],
]


def test_hook_and_weight_names_match_transformer_lens(toy_model):
    model, cfg = toy_model
    assert set(EXPECTED_HOOKS) <= set(model.hook_dict)
    d, H, e, V, m = cfg.model.d_model, cfg.model.n_heads, cfg.model.d_head, cfg.model.d_vocab, cfg.model.d_mlp
    shapes = {name: tuple(p.shape) for name, p in model.named_parameters()}
    assert shapes["embed.W_E"] == (V, d)
    assert shapes["pos_embed.W_pos"] == (cfg.model.n_ctx, d)
    assert shapes["unembed.W_U"] == (d, V)
    for layer in range(2):
        for w in ("W_Q", "W_K", "W_V"):
            assert shapes[f"blocks.{layer}.attn.{w}"] == (H, d, e)
        assert shapes[f"blocks.{layer}.attn.W_O"] == (H, e, d)
        assert shapes[f"blocks.{layer}.mlp.W_in"] == (d, m)
        assert shapes[f"blocks.{layer}.mlp.W_out"] == (m, d)


def test_cache_shapes_and_pattern_is_causal(toy_model):
    model, cfg = toy_model
    tokens = torch.randint(0, cfg.model.d_vocab, (3, 10))
    logits, cache = model.run_with_cache(tokens)
    assert logits.shape == (3, 10, cfg.model.d_vocab)
    pattern = cache["blocks.1.attn.hook_pattern"]
    assert pattern.shape == (3, cfg.model.n_heads, 10, 10)
    assert torch.allclose(pattern.sum(-1), torch.ones(3, cfg.model.n_heads, 10))
    assert (pattern.triu(1) == 0).all()
    assert cache["blocks.0.mlp.hook_post"].shape == (3, 10, cfg.model.d_mlp)
    # the residual stream adds up as the hook names say
    assert torch.allclose(cache["blocks.1.hook_resid_post"],
                          cache["blocks.1.hook_resid_mid"] + cache["blocks.1.hook_mlp_out"])
    assert torch.allclose(cache["blocks.1.hook_resid_pre"], cache["blocks.0.hook_resid_post"])


def test_identity_hooks_change_nothing(toy_model):
    model, cfg = toy_model
    tokens = torch.randint(0, cfg.model.d_vocab, (2, 12))
    plain = model(tokens)
    hooked = model.run_with_hooks(tokens, fwd_hooks=[(lambda name: True, lambda x, hook: x)])
    assert torch.equal(plain, hooked)
    assert all(not hp.fwd_hooks for hp in model.hook_points())  # removed afterwards


def test_frozen_parameters_follow_the_config(make_config):
    cfg = make_config("chen")
    model = ToyTransformer(cfg.model)
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"embed.W_E", "unembed.W_U", "pos_embed.W_pos", "blocks.0.attn.W_Q", "blocks.1.attn.W_Q"}
    # identity W_Q: queries are the residual stream itself
    assert torch.equal(model.blocks[0].attn.W_Q[0], torch.eye(cfg.model.d_model))

    memory = ToyTransformer(make_config("birth", **{"model.memory_model": True}).model)
    assert set(memory.trainable_parameters()) == set(MEMORY_MODEL_TRAINED)

    learned = ToyTransformer(make_config("chen", **{"model.pos_embed": "learned", "model.freeze_embed": False,
                                                   "model.identity_query": False, "model.layernorm": True}).model)
    trainable = set(learned.trainable_parameters())
    assert {"pos_embed.W_pos", "embed.W_E", "blocks.0.attn.W_Q", "blocks.0.ln1.w", "ln_final.b"} <= trainable
    assert "unembed.W_U" not in trainable


def test_mlp_per_layer_and_one_layer_model(make_config):
    model = ToyTransformer(make_config("chen", **{"model.mlp": [False, True]}).model)
    assert "blocks.0.hook_mlp_out" not in model.hook_dict and "blocks.1.hook_mlp_out" in model.hook_dict
    one = ToyTransformer(make_config("birth", n_layers=1, arch="simplified").model)
    assert len(one.blocks) == 1 and not any("mlp" in n for n, _ in one.named_parameters())
    assert one(torch.zeros(1, 5, dtype=torch.long)).shape == (1, 5, 65)


def test_same_seed_same_weights(make_config):
    cfg = make_config("chen")
    a, b, c = ToyTransformer(cfg.model, seed=3), ToyTransformer(cfg.model, seed=3), ToyTransformer(cfg.model, seed=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not torch.equal(a.embed.W_E, c.embed.W_E)


def test_standard_one_layer_model_trains_every_weight(make_config):
    """The ordinary layer: LayerNorm and MLP with TransformerLens names, every parameter trained."""
    from interp.toy.data import SequenceGenerator, make_generator
    from interp.toy.train import loss_fn, make_optimizer

    cfg = make_config("birth", n_layers=1, **{"optim.lr": 1e-2, "loss_on": "all"})
    assert cfg.model.arch == "standard"
    model = ToyTransformer(cfg.model, seed=2)
    names = {n for n, _ in model.named_parameters()}
    assert {"blocks.0.ln1.w", "blocks.0.ln1.b", "blocks.0.ln2.w", "blocks.0.ln2.b", "ln_final.w", "ln_final.b",
            "blocks.0.mlp.W_in", "blocks.0.mlp.W_out", "blocks.0.attn.W_Q"} <= names
    assert {"blocks.0.hook_mlp_out", "blocks.0.mlp.hook_post", "blocks.0.ln2.hook_normalized"} <= set(model.hook_dict)
    assert set(model.trainable_parameters()) == names  # nothing frozen
    assert not torch.equal(model.blocks[0].attn.W_Q[0], torch.eye(cfg.model.d_model))

    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = SequenceGenerator(cfg.data)
    test = data.sample(64, make_generator(99))
    with torch.no_grad():
        loss0 = loss_fn(model(test.inputs), test, cfg.loss_on).item()
    optimizer = make_optimizer(model, cfg)
    assert isinstance(optimizer, torch.optim.AdamW)
    g = make_generator(0)
    for _ in range(15):
        batch = data.sample(cfg.optim.batch_size, g)
        loss = loss_fn(model(batch.inputs), batch, cfg.loss_on)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        loss1 = loss_fn(model(test.inputs), test, cfg.loss_on).item()
    assert loss1 < loss0 - 0.1, (loss0, loss1)
    unchanged = [n for n, p in model.named_parameters() if torch.equal(p, before[n])]
    assert not unchanged  # every weight, embeddings, positions, unembedding, W_Q and LayerNorm included, moved
