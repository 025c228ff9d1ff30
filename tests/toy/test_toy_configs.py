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


def test_presets_draw_uniform_outputs_and_pick_the_papers_architecture():
    for name in ("chen", "birth"):
        for layers in (1, 2):
            assert preset(name, n_layers=layers).data.trigger_output == "uniform"
    assert preset("birth", n_layers=2).model.arch == "simplified"
    assert preset("chen", n_layers=1).model.arch == "simplified"
    one = preset("birth", n_layers=1)
    assert one.model.arch == "standard" and one.optim.optimizer == "adamw"
    assert one.model.mlp == (True,) and one.model.layernorm and not one.model.freeze_embed
    assert not one.model.identity_query and one.model.pos_embed == "learned" and not one.model.freeze_unembed
    today = preset("birth", n_layers=1, arch="simplified")
    assert today.model.mlp == (False,) and today.optim.optimizer == "sgd" and today.model.identity_query
    # the standard arch keeps the preset's widths, batch and steps
    chen_std = preset("chen", arch="standard")
    assert (chen_std.model.d_mlp, chen_std.optim.batch_size, chen_std.optim.steps) == (1024, 512, 5000)
    assert chen_std.model.mlp == (True, True)


@pytest.mark.parametrize("arch", ["simplified", "standard"])
@pytest.mark.parametrize("trigger_output", ["uniform", "exclude_trigger"])
def test_new_fields_round_trip(arch, trigger_output):
    cfg = with_overrides(preset("birth", n_layers=1, arch=arch), {"data.trigger_output": trigger_output})
    d = json.loads(cfg.to_json())
    assert d["data"]["trigger_output"] == trigger_output and d["model"]["arch"] == arch
    assert RunConfig.from_dict(d) == cfg


def test_an_old_config_reads_as_what_it_was_trained_with():
    """Configs written before trigger_output / arch existed: outputs other than the trigger, simplified model."""
    d = json.loads(preset("birth", n_layers=2).to_json())
    del d["data"]["trigger_output"], d["model"]["arch"]
    old = RunConfig.from_dict(d)
    assert old.data.trigger_output == "exclude_trigger" and old.model.arch == "simplified"
    # an old run with switches that look standard still reads (as simplified: no validation to fail)
    d2 = json.loads(with_overrides(preset("chen"), {"model.layernorm": True}).to_json())
    del d2["data"]["trigger_output"], d2["model"]["arch"]
    assert RunConfig.from_dict(d2).model.layernorm


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: with_overrides(preset("chen"), {"data.trigger_output": "never"}), "data.trigger_output must be one of"),
        (lambda: with_overrides(preset("chen"), {"model.arch": "gpt"}), "model.arch must be one of"),
        (lambda: preset("chen", arch="gpt"), "--arch must be one of"),
        # a label alone does not make a model standard
        (lambda: with_overrides(preset("chen"), {"model.arch": "standard"}), "layernorm=False"),
        (lambda: with_overrides(preset("birth", n_layers=1), {"model.identity_query": True}), "identity_query=True"),
    ],
)
def test_bad_trigger_output_or_arch(make, message):
    with pytest.raises(UsageError, match=message):
        make()


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [("model.d_model", "abc", "model.d_model takes an integer, not str 'abc'"),
     ("optim.lr", "fast", "optim.lr takes a number"),
     ("model.layernorm", "3", "model.layernorm takes true or false"),
     ("data.trigger_output", "1", "data.trigger_output takes a str")],
)
def test_set_errors_name_the_field_value_and_type(key, value, needle):
    from interp.errors import UsageError
    from interp.toy.configs import preset, with_overrides

    with pytest.raises(UsageError, match=needle.replace("(", r"\(").replace("[", r"\[")):
        with_overrides(preset("chen"), {key: value})
