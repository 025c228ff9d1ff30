"""Edits on toy models go through the one edit path (interp.edits.apply): dropping an MLP is the
zero edit of its mlp_out; LASER truncation restores weights bit-identical."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.lowrank import rank_for
from interp.edits.spec import Edit, parse_edits
from interp.errors import UsageError
from interp.models.loading import wrap_toy


def _upstream(name: str) -> bool:
    """Hooks computed before blocks.1's MLP output."""
    return name.startswith(("hook_embed", "hook_pos_embed", "blocks.0.")) or name in {
        "blocks.1.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.1.hook_resid_mid",
    } or name.startswith("blocks.1.attn.")


def test_dropping_the_layer2_mlp_changes_nothing_upstream(toy_model):
    model, cfg = toy_model
    hooked = wrap_toy(model, cfg)
    tokens = torch.randint(0, cfg.model.d_vocab, (4, 16))
    logits, cache = model.run_with_cache(tokens)
    with apply_edits(hooked, [Edit(1, "mlp_out", "zero")]) as report:
        dropped_logits, dropped = model.run_with_cache(tokens)
    assert report.n_matrices_edited == 1
    upstream = [name for name in cache if _upstream(name)]
    assert len(upstream) > 15
    for name in upstream:
        assert torch.equal(cache[name], dropped[name]), name
    assert (dropped["blocks.1.hook_mlp_out"] == 0).all()
    assert torch.equal(dropped["blocks.1.hook_resid_post"], dropped["blocks.1.hook_resid_mid"])
    assert not torch.allclose(logits, dropped_logits)
    assert torch.equal(model(tokens), logits)  # restored


def test_truncation_changes_one_matrix_and_restores_it(toy_model):
    model, cfg = toy_model
    hooked = wrap_toy(model, cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    tokens = torch.randint(0, cfg.model.d_vocab, (2, 8))
    logits = model(tokens)
    with apply_edits(hooked, parse_edits(["1:mlp_in:0.25"])):
        changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
        assert changed == ["blocks.1.mlp.W_in"]
        W = model.blocks[1].mlp.W_in
        assert torch.linalg.matrix_rank(W).item() == rank_for(0.25, tuple(W.shape))
        assert not torch.equal(model(tokens), logits)
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]), n
    assert torch.equal(model(tokens), logits)


@pytest.mark.parametrize("matrix", ["attn_q", "attn_k", "attn_v", "attn_o", "mlp_out"])
def test_every_toy_matrix_takes_every_weight_kind(toy_model, matrix):
    """The per-head TransformerLens tensors map onto (out, in) matrices: rank and restore hold for each."""
    model, cfg = toy_model
    hooked = wrap_toy(model, cfg)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for kind in ("lowrank:0.25", "random:0.25", "zero"):
        with apply_edits(hooked, parse_edits([f"0:{matrix}:{kind}"])) as report:
            assert report.n_matrices_edited == 1
            changed = [n for n, p in model.named_parameters() if not torch.equal(p, before[n])]
            assert len(changed) == 1, (kind, changed)
        for n, p in model.named_parameters():
            assert torch.equal(p, before[n]), (kind, n)


def test_truncation_restores_on_error(toy_model):
    model, cfg = toy_model
    before = model.blocks[0].mlp.W_out.detach().clone()
    with pytest.raises(RuntimeError), apply_edits(wrap_toy(model, cfg), parse_edits(["0:mlp_out:0.1"])):
        raise RuntimeError("boom")
    assert torch.equal(model.blocks[0].mlp.W_out, before)


def test_rho_one_changes_nothing(toy_model):
    model, cfg = toy_model
    tokens = torch.randint(0, cfg.model.d_vocab, (2, 8))
    logits = model(tokens)
    with apply_edits(wrap_toy(model, cfg), parse_edits(["1:mlp_out:1.0"])) as report:
        assert report.n_matrices_edited == 0
        assert torch.equal(model(tokens), logits)


def test_bad_edits_are_usage_errors(toy_model, make_config):
    from interp.toy.model import ToyTransformer

    model, cfg = toy_model
    hooked = wrap_toy(model, cfg)
    for bad in ("2:mlp_out:zero", "1:mlp_gate:0.5"):  # layer out of range; a matrix toy models lack
        with pytest.raises(UsageError), apply_edits(hooked, parse_edits([bad])):
            pass
    with pytest.raises(UsageError):
        parse_edits(["1:mlp_in:0.0"])
    no_mlp = wrap_toy(ToyTransformer(make_config("birth").model))
    with pytest.raises(UsageError, match="no mlp_out"), apply_edits(no_mlp, [Edit(1, "mlp_out", "zero")]):
        pass
