"""Generator statistics: noise rate, trigger outputs, occurrence counts, bigram steps, seeding."""

from __future__ import annotations

import pytest
import torch

from interp.toy.bigram import shakespeare_bigram
from interp.toy.data import SequenceGenerator, make_generator


def test_noise_rate_matches_p(make_config):
    cfg = make_config("chen", **{"data.seq_len": 64, "model.n_ctx": 64, "data.noise": 0.3})
    gen = SequenceGenerator(cfg.data)
    batch = gen.sample(256, make_generator(1))
    after_trigger = batch.targets[batch.trigger_mask]
    rate = (after_trigger == cfg.data.noise_token).float().mean().item()
    n = after_trigger.numel()
    assert n > 1000
    assert abs(rate - 0.3) < 4 * (0.3 * 0.7 / n) ** 0.5
    # everything after a trigger that is not noise is the sequence's correct token
    clean = after_trigger != cfg.data.noise_token
    assert torch.equal(after_trigger[clean], batch.answer[batch.trigger_mask][clean])
    # the noise token appears only right after triggers
    noise_at = batch.targets == cfg.data.noise_token
    assert not (noise_at & ~batch.trigger_mask).any()


def test_clean_data_has_no_noise(make_config):
    cfg = make_config("chen")
    batch = SequenceGenerator(cfg.data).sample(64, make_generator(2), noise=0.0)
    assert not (batch.tokens == cfg.data.noise_token).any()
    assert torch.equal(batch.targets[batch.trigger_mask], batch.answer[batch.trigger_mask])


@pytest.mark.parametrize("trigger_output", ["uniform", "exclude_trigger"])
def test_every_trigger_followed_by_its_output(make_config, trigger_output):
    cfg = make_config("birth", **{"data.seq_len": 64, "model.n_ctx": 64, "data.trigger_output": trigger_output})
    assert not cfg.data.fixed_triggers and cfg.data.n_triggers == 3
    batch = SequenceGenerator(cfg.data).sample(128, make_generator(3))
    for b in range(128):
        x, y = batch.inputs[b], batch.targets[b]
        for trig, out in zip(batch.triggers[b].tolist(), batch.outputs[b].tolist()):
            if trigger_output == "exclude_trigger":
                assert trig != out
            assert (y[x == trig] == out).all()
    # triggers of one sequence are distinct
    assert (batch.triggers.sort(dim=1).values.diff(dim=1) > 0).all()
    # sampled triggers vary across sequences
    assert len({tuple(t) for t in batch.triggers.tolist()}) > 10


def test_occurrence_counts_and_icl_mask(make_config):
    cfg = make_config("birth")
    batch = SequenceGenerator(cfg.data).sample(32, make_generator(4))
    for b in range(32):
        seen: dict[int, int] = {}
        triggers = set(batch.triggers[b].tolist())
        for t, tok in enumerate(batch.inputs[b].tolist()):
            if tok in triggers:
                seen[tok] = seen.get(tok, 0) + 1
                assert batch.occurrence[b, t] == seen[tok]
            else:
                assert batch.occurrence[b, t] == 0 and batch.answer[b, t] == -1
    assert torch.equal(batch.icl_mask, batch.occurrence >= 2)


def test_fixed_trigger_is_most_frequent_character(make_config):
    cfg = make_config("chen")
    gen = SequenceGenerator(cfg.data)
    bigram = shakespeare_bigram()
    assert gen.fixed_triggers.tolist() == [int(bigram.marginal.argmax())]
    assert bigram.chars[gen.fixed_triggers[0]] == " "


def test_bigram_steps_follow_the_table(make_config):
    cfg = make_config("birth", **{"data.seq_len": 128, "model.n_ctx": 128})
    batch = SequenceGenerator(cfg.data).sample(512, make_generator(5))
    bigram = shakespeare_bigram()
    e = bigram.chars.index("e")
    free = (batch.inputs == e) & ~batch.trigger_mask  # 'e' not acting as a trigger
    nxt = batch.targets[free]
    assert nxt.numel() > 2000
    freq = torch.bincount(nxt, minlength=bigram.n_chars).float() / nxt.numel()
    assert (freq - bigram.transition[e]).abs().max() < 0.03


def test_seeded_determinism(make_config):
    cfg = make_config("chen")
    gen = SequenceGenerator(cfg.data)
    a = gen.sample(8, make_generator(7))
    b = gen.sample(8, make_generator(7))
    c = gen.sample(8, make_generator(8))
    assert torch.equal(a.tokens, b.tokens) and torch.equal(a.outputs, b.outputs)
    assert not torch.equal(a.tokens, c.tokens)
    # a generator advances: two draws from one generator differ
    g = make_generator(7)
    assert not torch.equal(gen.sample(8, g).tokens, gen.sample(8, g).tokens)


@pytest.mark.parametrize("name", ["birth", "chen"])
def test_uniform_outputs_equal_the_trigger_at_rate_one_over_n(make_config, name):
    """Under ``uniform`` each trigger draw gives output == trigger with probability 1/N."""
    cfg = make_config(name, **{"data.seq_len": 8, "model.n_ctx": 8})
    assert cfg.data.trigger_output == "uniform"  # the presets' default (the papers')
    batch = SequenceGenerator(cfg.data).sample(6000, make_generator(11))
    n_draws = batch.outputs.numel()
    hits = (batch.outputs == batch.triggers).sum().item()
    p = 1 / cfg.data.n_chars
    sd = (n_draws * p * (1 - p)) ** 0.5
    assert abs(hits - n_draws * p) < 4 * sd, (hits, n_draws * p, sd)
    # and the outputs cover the whole alphabet, each about equally often
    counts = torch.bincount(batch.outputs.flatten(), minlength=cfg.data.n_chars).float()
    assert counts.min() > 0 and (counts - n_draws * p).abs().max() < 5 * sd


@pytest.mark.parametrize("name", ["birth", "chen"])
def test_exclude_trigger_never_outputs_the_trigger(make_config, name):
    cfg = make_config(name, **{"data.seq_len": 8, "model.n_ctx": 8, "data.trigger_output": "exclude_trigger"})
    batch = SequenceGenerator(cfg.data).sample(6000, make_generator(11))
    assert not (batch.outputs == batch.triggers).any()
    counts = torch.bincount(batch.outputs.flatten(), minlength=cfg.data.n_chars)
    assert (counts > 0).sum().item() >= cfg.data.n_chars - (cfg.data.n_triggers if cfg.data.fixed_triggers else 0)


def test_an_output_equal_to_its_trigger_repeats_to_the_end(make_config):
    """On clean data a trigger followed by itself keeps the sequence on that character."""
    cfg = make_config("chen", **{"data.seq_len": 64, "model.n_ctx": 64})
    batch = SequenceGenerator(cfg.data).sample(2000, make_generator(12), noise=0.0)
    same = (batch.outputs == batch.triggers).squeeze(1)
    assert same.any()
    for b in torch.nonzero(same).squeeze(1).tolist():
        q = batch.triggers[b, 0].item()
        first = (batch.tokens[b] == q).nonzero()
        if len(first):
            assert (batch.tokens[b, first[0, 0]:] == q).all()
