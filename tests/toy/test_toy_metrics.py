"""Evaluation: scalar metrics and the per-sequence noisy-recall table of the checkpoint sweep."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.errors import UsageError
from interp.models.loading import wrap_toy
from interp.toy.metrics import TABLE_COLUMNS, evaluate, noisy_recall_table
from interp.toy.model import ToyTransformer


def test_noisy_recall_table_columns_and_invariants(toy_model):
    model, cfg = toy_model
    table = noisy_recall_table(model, cfg, n_sequences=12, seed=0)
    assert list(table.columns) == list(TABLE_COLUMNS)
    assert len(table) == 12 and table["prompt"].tolist() == [f"seq{i}" for i in range(12)]
    assert table["answer"].map(len).eq(1).all()
    assert np.allclose(table["log_ratio"], np.log(table["p_answer"]) - np.log(table["p_the"]), atol=1e-4)
    assert (table["rank"] >= 1).all() and table["top1"].equals(table["rank"] == 1)
    assert table["p_answer"].between(0, 1).all() and table["p_the"].between(0, 1).all()
    # deterministic for a seed; the intervention context changes it
    assert table.equals(noisy_recall_table(model, cfg, n_sequences=12, seed=0))
    with apply_edits(wrap_toy(model, cfg), [Edit(1, "mlp_out", "zero")]):
        dropped = noisy_recall_table(model, cfg, n_sequences=12, seed=0)
    assert not np.allclose(dropped["p_the"], table["p_the"])


def test_table_rows_match_the_model(make_config):
    """A model whose logits ignore context: p_the is softmax of its fixed logits."""
    cfg = make_config("chen")
    model = ToyTransformer(cfg.model)
    with torch.no_grad():
        for block in model.blocks:
            block.attn.W_O.zero_()
            block.mlp.W_out.zero_()
        model.embed.W_E.zero_()
        model.pos_embed.W_pos.zero_()
    table = noisy_recall_table(model, cfg, n_sequences=4, seed=1)
    assert np.allclose(table["p_the"], 1 / cfg.model.d_vocab) and np.allclose(table["log_ratio"], 0, atol=1e-6)


def test_evaluate_metrics_and_bad_input(toy_model, make_config):
    model, cfg = toy_model
    m = evaluate(model, cfg, n_sequences=16, seed=0)
    assert set(m) == {"icl_acc", "p_noise", "p_correct", "loss_non_trigger"}
    assert 0 <= m["p_noise"] <= 1 and 0 <= m["icl_acc"] <= 1
    noisy = evaluate(model, cfg, n_sequences=16, seed=0, noise=0.5)
    assert noisy != m
    with pytest.raises(UsageError):
        evaluate(model, cfg, n_sequences=4, seed=0, noise=1.0)
    birth = make_config("birth")
    birth_model = ToyTransformer(birth.model)
    assert evaluate(birth_model, birth, n_sequences=8, seed=0)["p_noise"] is None
    with pytest.raises(UsageError):
        noisy_recall_table(birth_model, birth, n_sequences=4, seed=0)
