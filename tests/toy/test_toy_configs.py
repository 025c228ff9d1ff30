"""Configs: presets carry the papers' defaults, round-trip through dicts, reject bad input."""

from __future__ import annotations

import json

import pytest

from interp.errors import UsageError
from interp.toy.configs import DataConfig, RunConfig, preset, with_overrides


def test_presets_carry_the_papers_defaults():
    chen = preset("chen", "noisy-recall")
    assert (chen.model.d_model, chen.model.d_mlp, chen.optim.optimizer, chen.optim.lr) == (256, 1024, "sgd", 0.03)
    assert (chen.optim.weight_decay, chen.optim.steps, chen.optim.batch_size, chen.data.noise) == (1e-4, 5000, 512, 0.5)
    birth = preset("birth", "trigger-bigram")
    assert (birth.model.d_model, birth.optim.lr, birth.optim.momentum, birth.optim.batch_size) == (128, 0.2, 0.9, 512)
    assert birth.data.seq_len == 256 and birth.data.noise == 0.0
    assert preset("chen", n_layers=1).model.mlp == (True,)


@pytest.mark.parametrize("name,task", [("chen", "noisy-recall"), ("birth", "trigger-bigram"), ("birth", "noisy-recall")])
def test_round_trip_through_json(name, task):
    cfg = with_overrides(preset(name, task), {"model.memory_model": True, "optim.betas": [0.8, 0.9]})
    again = RunConfig.from_dict(json.loads(cfg.to_json()))
    assert again == cfg
    assert json.loads(cfg.to_json())["format"] == "interp-toy"


def test_vocab_follows_task():
    assert DataConfig(task="noisy-recall").vocab_size == 66
    assert DataConfig(task="trigger-bigram", noise=0.0).vocab_size == 65
    cfg = with_overrides(preset("chen"), {"data.task": "trigger-bigram", "data.noise": 0.0})
    assert cfg.model.d_vocab == 65


@pytest.mark.parametrize(
    "make",
    [
        lambda: preset("chen", "copying"),
        lambda: preset("gpt"),
        lambda: preset("chen", noise=1.0),
        lambda: preset("chen", noise=-0.1),
        lambda: preset("birth", "trigger-bigram", noise=0.2),
        lambda: DataConfig(task="trigger-bigram", noise=0.0, n_triggers=66),
        lambda: preset("chen", n_layers=3),
        lambda: with_overrides(preset("chen"), {"model.d_modle": 3}),
        lambda: with_overrides(preset("chen"), {"model.n_heads": 3}),
        lambda: with_overrides(preset("chen"), {"model.n_ctx": 16}),
        lambda: with_overrides(preset("chen"), {"optim.optimizer": "lbfgs"}),
    ],
)
def test_bad_input_is_a_usage_error(make):
    with pytest.raises(UsageError):
        make()
