"""Training lowers the loss; runs write metrics and log-spaced checkpoints that read back exactly."""

from __future__ import annotations

import json

import torch

from interp.toy.checkpoint import (
    checkpoint_steps,
    is_toy_checkpoint,
    is_toy_run,
    list_steps,
    load_checkpoint,
    save_checkpoint,
)
from interp.toy.data import SequenceGenerator, make_generator
from interp.toy.model import ToyTransformer
from interp.toy.train import INIT_SEED_OFFSET, loss_fn, train


def test_checkpoint_steps_are_log_spaced():
    assert checkpoint_steps(20) == [0, 1, 2, 4, 8, 16, 20]
    assert checkpoint_steps(16) == [0, 1, 2, 4, 8, 16]
    assert checkpoint_steps(0) == [0]


def test_twenty_steps_lower_the_loss_and_write_a_run(make_config, tmp_path):
    cfg = make_config("chen", **{"optim.lr": 0.1})
    run = tmp_path / "run"
    result = train(cfg, run)

    batch = SequenceGenerator(cfg.data).sample(64, make_generator(99))
    untrained = ToyTransformer(cfg.model, seed=cfg.seed + INIT_SEED_OFFSET)
    with torch.no_grad():
        before = loss_fn(untrained(batch.inputs), batch, cfg.loss_on).item()
        after = loss_fn(result.model(batch.inputs), batch, cfg.loss_on).item()
    assert after < before - 0.1

    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [0, 1, 2, 4, 8, 10, 16, 20]  # eval_every and checkpoint steps
    for key in ("icl_acc", "p_noise", "p_correct", "loss_non_trigger", "probe_wo2", "probe_wk2", "probe_wk1", "ff_kl"):
        assert all(r[key] is not None for r in records), key
    assert is_toy_run(run) and list_steps(run) == [0, 1, 2, 4, 8, 16, 20]
    step_cfg = json.loads((run / "step8" / "config.json").read_text())
    assert step_cfg["format"] == "interp-toy" and step_cfg["step"] == 8
    assert json.loads((run / "config.json").read_text())["format"] == "interp-toy"
    # the last checkpoint is the returned model
    model, loaded_cfg = load_checkpoint(run / "step20")
    assert loaded_cfg == cfg
    assert torch.equal(model(batch.inputs), result.model(batch.inputs))


def test_checkpoint_round_trip_gives_the_same_logits(make_config, tmp_path):
    cfg = make_config("birth", **{"model.memory_model": True, "model.layernorm": True, "model.mlp": [False, True]})
    model = ToyTransformer(cfg.model, seed=5)
    with torch.no_grad():  # make every weight distinct from a fresh init
        for p in model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    folder = save_checkpoint(tmp_path, 7, model, cfg)
    assert is_toy_checkpoint(folder) and not is_toy_run(folder)
    loaded, loaded_cfg = load_checkpoint(folder)
    assert loaded_cfg == cfg
    assert {n for n, p in loaded.named_parameters() if p.requires_grad} == set(model.trainable_parameters())
    tokens = torch.randint(0, cfg.model.d_vocab, (3, cfg.data.seq_len))
    assert torch.equal(loaded(tokens), model(tokens))


def test_not_a_toy_folder(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    assert not is_toy_run(tmp_path) and not is_toy_checkpoint(tmp_path)
    assert list_steps(tmp_path / "missing") == []
