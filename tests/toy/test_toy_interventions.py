"""MLP interventions: dropping is local to its layer; truncation restores weights bit-identical."""

from __future__ import annotations

import pytest
import torch

from interp.errors import UsageError
from interp.edits.lowrank import rank_for
from interp.toy.interventions import drop_mlp, parse_laser, truncate_mlp


def _upstream(name: str) -> bool:
    """Hooks computed before blocks.1's MLP output."""
    return name.startswith(("hook_embed", "hook_pos_embed", "blocks.0.")) or name in {
        "blocks.1.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.1.hook_resid_mid",
    } or name.startswith("blocks.1.attn.")


def test_dropping_the_layer2_mlp_changes_nothing_upstream(toy_model):
    model, cfg = toy_model
    tokens = torch.randint(0, cfg.model.d_vocab, (4, 16))
    logits, cache = model.run_with_cache(tokens)
    with drop_mlp(model, 1):
        dropped_logits, dropped = model.run_with_cache(tokens)
    upstream = [name for name in cache.keys() if _upstream(name)]
    assert len(upstream) > 15
    for name in upstream:
        assert torch.equal(cache[name], dropped[name]), name
    assert (dropped["blocks.1.hook_mlp_out"] == 0).all()
    assert torch.equal(dropped["blocks.1.hook_resid_post"], dropped["blocks.1.hook_resid_mid"])
    assert not torch.allclose(logits, dropped_logits)
    # the hook is gone afterwards
    assert torch.equal(model(tokens), logits)


def test_truncation_changes_one_matrix_and_restores_it(toy_model):
    model, cfg = toy_model
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tokens = torch.randint(0, cfg.model.d_vocab, (2, 8))
    logits = model(tokens)
    with truncate_mlp(model, 1, "mlp_in", 0.25):
        changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
        assert changed == ["blocks.1.mlp.W_in"]
        W = model.blocks[1].mlp.W_in
        assert torch.linalg.matrix_rank(W).item() == rank_for(0.25, tuple(W.shape))
        assert not torch.equal(model(tokens), logits)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]), n
    assert torch.equal(model(tokens), logits)


def test_truncation_restores_on_error(toy_model):
    model, _ = toy_model
    before = model.blocks[0].mlp.W_out.detach().clone()
    with pytest.raises(RuntimeError):
        with truncate_mlp(model, 0, "mlp_out", 0.1):
            raise RuntimeError("boom")
    assert torch.equal(model.blocks[0].mlp.W_out, before)


def test_rho_one_changes_nothing(toy_model):
    model, cfg = toy_model
    tokens = torch.randint(0, cfg.model.d_vocab, (2, 8))
    logits = model(tokens)
    with truncate_mlp(model, 1, "mlp_out", 1.0):
        assert torch.allclose(model(tokens), logits, atol=1e-5)


def test_bad_interventions_are_usage_errors(toy_model, make_config):
    from interp.toy.model import ToyTransformer

    model, _ = toy_model
    with pytest.raises(UsageError):
        with drop_mlp(model, 2):
            pass
    with pytest.raises(UsageError):
        with truncate_mlp(model, 1, "attn_out", 0.5):
            pass
    with pytest.raises(UsageError):
        with truncate_mlp(model, 1, "mlp_in", 0.0):
            pass
    no_mlp = ToyTransformer(make_config("birth").model)
    with pytest.raises(UsageError):
        with drop_mlp(no_mlp, 1):
            pass
    assert parse_laser("1:mlp_in:0.05") == (1, "mlp_in", 0.05)
    for bad in ("1:mlp_in", "x:mlp_in:0.1", "1:qk:0.1", "1:mlp_out:1.5"):
        with pytest.raises(UsageError):
            parse_laser(bad)
