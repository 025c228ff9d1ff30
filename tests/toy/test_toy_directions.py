"""Singular-direction logit contributions of an MLP: they add up to the MLP's direct logit effect."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.models.loading import wrap_toy
from interp.toy.data import SequenceGenerator, make_generator
from interp.toy.directions import direct_logits, direction_contributions, direction_table, readout_cache, summarize_directions
from interp.toy.model import ToyTransformer


def _model_and_batch(make_config, **kw):
    cfg = make_config("chen", **{"data.seq_len": 32, **kw})
    model = ToyTransformer(cfg.model, seed=3)
    with torch.no_grad():  # break the symmetry of a fresh init a little
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    batch = SequenceGenerator(cfg.data).sample(24, make_generator(5), noise=0.0)
    assert batch.icl_mask.sum() > 10
    return model, batch, cfg


def _check_completeness(model, batch, cfg):
    c = readout_cache(model, batch, 1)
    D = direct_logits(model, c["mlp_out"], c["scale"]).double()  # [n, vocab]
    contributions, sigmas = direction_contributions(model, batch, layer=1, noise_token=cfg.data.noise_token)
    n = len(c["answer"])
    for matrix in ("W_in", "W_out"):
        parts = contributions[matrix]
        assert parts["noise"].shape == (n, len(sigmas[matrix]))
        torch.testing.assert_close(parts["noise"].sum(1), D[:, cfg.data.noise_token], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(parts["correct"].sum(1), D[torch.arange(n), c["answer"]], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(parts["mean"].sum(1), D.mean(1), rtol=1e-6, atol=1e-6)
        assert (sigmas[matrix].diff() <= 0).all()
    return c, D


def test_directions_add_up_to_the_mlps_direct_effect_without_layernorm(make_config):
    model, batch, cfg = _model_and_batch(make_config)
    c, D = _check_completeness(model, batch, cfg)
    # parity with the model's own forward: the last MLP acts on the logits only through D
    with torch.no_grad(), apply_edits(wrap_toy(model, cfg), [Edit(1, "mlp_out", "zero")]):
        dropped = model(batch.inputs)[batch.icl_mask]
    torch.testing.assert_close((c["logits"] - dropped).double(), D, rtol=1e-4, atol=1e-4)


def test_directions_add_up_with_layernorm(make_config):
    model, batch, cfg = _model_and_batch(make_config, **{"model.layernorm": True})
    _check_completeness(model, batch, cfg)
    # D with the forward's own final-LayerNorm scale reproduces the logits from the residual stream
    _, cache = model.run_with_cache(batch.inputs, names_filter=["blocks.1.hook_resid_post", "ln_final.hook_scale"])
    resid = cache["blocks.1.hook_resid_post"][batch.icl_mask]
    scale = cache["ln_final.hook_scale"][batch.icl_mask]
    with torch.no_grad():
        logits = model(batch.inputs)[batch.icl_mask]
        rebuilt = direct_logits(model, resid, scale) + model.ln_final.b @ model.unembed.W_U
    torch.testing.assert_close(rebuilt, logits, rtol=1e-4, atol=1e-4)


def test_table_and_summary(make_config):
    model, batch, cfg = _model_and_batch(make_config)
    table = direction_table(model, batch, layer=1, noise_token=cfg.data.noise_token)
    r = min(cfg.model.d_model, cfg.model.d_mlp)
    assert list(table["matrix"]) == ["W_in"] * r + ["W_out"] * r
    assert list(table.loc[table["matrix"] == "W_out", "direction"]) == list(range(1, r + 1))
    torch.testing.assert_close(torch.tensor(table.loc[table["matrix"] == "W_out", "sigma"].to_numpy()),
                               torch.linalg.svdvals(model.blocks[1].mlp.W_out.double()))
    summary = summarize_directions(table, top=1)
    for matrix in ("W_in", "W_out"):
        rows = summary[summary["matrix"] == matrix].set_index("directions")
        assert rows.loc["1", "logit_noise"] + rows.loc[f"2..{r}", "logit_noise"] == pytest.approx(rows.loc[f"1..{r} (all)", "logit_noise"])
    # both matrices decompose the same total
    totals = summary[summary["directions"].str.endswith("(all)")].set_index("matrix")
    assert totals.loc["W_in", "logit_correct"] == pytest.approx(totals.loc["W_out", "logit_correct"], rel=1e-6, abs=1e-6)
