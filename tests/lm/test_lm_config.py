"""Configs of ``interp lm train``: presets, dotted overrides, validation, the learning-rate and checkpoint schedules."""

from __future__ import annotations

import math

import pytest

from interp.errors import UsageError
from interp.lm.config import SIZES, CheckpointConfig, OptimConfig, TrainConfig, preset, with_overrides
from interp.lm.schedule import checkpoint_steps, lr_factor, warmup_steps


def test_cli_lists_the_presets():
    from interp.lm.cli import SIZES as CLI_SIZES

    assert tuple(SIZES) == CLI_SIZES


@pytest.mark.parametrize("size", list(SIZES))
def test_presets_round_trip_through_their_dict(size):
    cfg = preset(size, seed=3)
    assert cfg.size == size and cfg.seed == 3
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    for group, values in SIZES[size].items():  # each preset changes exactly what SIZES says
        if isinstance(values, dict):
            for key, value in values.items():
                assert getattr(getattr(cfg, group), key) == value
        else:
            assert getattr(cfg, group) == values


def test_defaults_are_pythias_choices():
    cfg = preset("small")
    assert cfg.model.rotary_pct == 0.25 and cfg.model.rotary_emb_base == 10000 and cfg.model.parallel_residual
    assert cfg.optim.betas == (0.9, 0.95) and cfg.optim.eps == 1e-8 and cfg.optim.weight_decay == 0.01
    assert cfg.optim.warmup_frac == 0.01 and cfg.optim.min_lr_frac == 0.1 and cfg.optim.grad_clip == 1.0
    assert cfg.checkpoints.log_until == 512


def test_overrides_set_nested_fields_with_their_types():
    cfg = with_overrides(preset("tiny"), {"model.d_model": "64", "optim.lr": "3e-4", "optim.betas": "[0.8, 0.9]",
                                          "corpus.sources": '["facts"]', "corpus.max_chars": "1000", "steps": 7})
    assert cfg.model.d_model == 64 and cfg.optim.lr == 3e-4 and cfg.optim.betas == (0.8, 0.9)
    assert cfg.corpus.sources == ("facts",) and cfg.corpus.max_chars == 1000 and cfg.steps == 7
    assert with_overrides(preset("tiny"), {"corpus.max_chars": "null"}).corpus.max_chars is None


@pytest.mark.parametrize(
    ("key", "value", "needles"),
    [
        ("model.d_modle", "64", ["unknown config field 'model.d_modle'", "model.d_model"]),
        ("nope", "1", ["unknown config field 'nope'"]),
        ("optim.lr.x", "1", ["unknown config field 'optim.lr.x'"]),
        ("size", "small", ["unknown config field 'size'"]),
        ("model.d_model", "abc", ["model.d_model takes an integer", "'abc'"]),
        ("model.d_model", "64.5", ["model.d_model takes an integer"]),
        ("optim.lr", "fast", ["optim.lr takes a number"]),
        ("model.parallel_residual", "1", ["model.parallel_residual takes true or false"]),
        ("corpus.max_chars", "many", ["corpus.max_chars takes an integer or null"]),
        ("optim.betas", "0.9", ["optim.betas takes a JSON list"]),
    ],
)
def test_bad_overrides_name_the_key_and_the_type(key, value, needles):
    with pytest.raises(UsageError) as err:
        with_overrides(preset("tiny"), {key: value})
    for needle in needles:
        assert needle in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("sets", "needle"),
    [
        ({"model.n_heads": 3}, "multiple of model.n_heads"),
        ({"model.n_ctx": 128}, "does not fit the model's positions"),
        ({"model.rotary_pct": 0.1}, "rotary"),  # 16-dim heads: 1 rotary dimension
        ({"model.rotary_pct": 0.0}, "rotary_pct"),
        ({"tokenizer.vocab_size": 100}, "tokenizer.vocab_size"),
        ({"optim.lr": 0}, "optim.lr must be positive"),
        ({"optim.betas": [0.9]}, "optim.betas"),
        ({"optim.warmup_frac": 1.5}, "warmup_frac"),
        ({"checkpoints.n_evenly": 0}, "n_evenly"),
        ({"steps": 0}, "steps must be"),
    ],
)
def test_sizes_that_cannot_work_are_usage_errors(sets, needle):
    with pytest.raises(UsageError, match=needle):
        with_overrides(preset("tiny"), sets)


def test_unknown_size():
    with pytest.raises(UsageError, match="unknown size 'huge'; choose one of tiny, small, base, large"):
        preset("huge")


def test_checkpoint_schedule_is_pythias_scaled_to_the_run():
    steps = checkpoint_steps(3000, CheckpointConfig(log_until=512, n_evenly=20))
    powers = [0] + [2**k for k in range(10)]
    assert steps[: len(powers)] == powers
    later = steps[len(powers):]
    assert later == [150 * k for k in range(4, 21)]  # every 3000 / 20 steps after 512, ending at 3000
    # Pythia's own schedule is the special case of 143000 steps, 143 evenly spaced
    from interp.models.checkpoints import PYTHIA_STEPS

    assert tuple(checkpoint_steps(143000, CheckpointConfig(log_until=512, n_evenly=143))) == PYTHIA_STEPS


def test_short_runs_keep_the_powers_below_the_last_step():
    assert checkpoint_steps(40, CheckpointConfig(n_evenly=4)) == [0, 1, 2, 4, 8, 16, 32, 40]
    assert checkpoint_steps(3, CheckpointConfig(n_evenly=4)) == [0, 1, 2, 3]
    assert checkpoint_steps(1, CheckpointConfig()) == [0, 1]


def test_learning_rate_warms_up_then_decays_to_a_tenth():
    optim = OptimConfig(warmup_frac=0.01, min_lr_frac=0.1)
    steps = 3000
    warm = warmup_steps(optim, steps)
    assert warm == 30
    factors = [lr_factor(u, optim, steps) for u in range(steps)]
    assert factors[0] == pytest.approx(1 / warm)
    assert all(b > a for a, b in zip(factors[:warm], factors[1:warm]))  # linear rise
    assert factors[warm] == pytest.approx(1.0)
    assert all(b <= a for a, b in zip(factors[warm:], factors[warm + 1:]))  # then never rises
    assert factors[-1] == pytest.approx(0.1)
    middle = warm + (steps - 1 - warm) // 2
    assert factors[middle] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)), abs=1e-3)
