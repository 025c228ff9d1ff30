"""Answers of any length: teacher-forced metrics against separate forwards, batching, suffix passes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp.edits.spec import Edit
from interp.errors import UsageError
from interp.laser.suffix import ResidualCache, suffix_read_logits
from interp.laser.sweep import PromptMetrics, run_configs
from interp.scoring.evaluate import collect_metrics, evaluate
from interp.scoring.forward import make_batches, read_logits
from interp.scoring.summary import summarize
from interp.tasks import build_task

ROWS = [
    {"prompt": "Madrid is located in", "answer": " Spain", "distractors": [" the", " Qzxwvyk"]},
    {"prompt": "Zqx is located in", "answer": " Qzxwvyk"},
    {"prompt": "When the morning came, the travellers went to", "answer": " the old bridge"},
    {"prompt": "A letter arrived from", "answer": " the capital of the north"},
]


@pytest.fixture
def mixed(tiny_model, tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    prompt_set = build_task(f"prompts:{path}", tiny_model.tokenizer)
    assert sorted(len(a) for a in prompt_set.answer_sequences)[-1] >= 3  # really multi-token
    return prompt_set


def _by_hand(model, prompt: str, answer: list[int]) -> tuple[float, bool, float]:
    """(sum of log P(token), every token the argmax, log P(first token)), one forward per answer prefix."""
    ids = model.tokenizer.encode_prompt(prompt)
    total, exact, first = 0.0, True, None
    for token in answer:
        with torch.no_grad():
            logits = model.bridge(torch.tensor([ids]))[0, -1].float()
        lp = logits.log_softmax(-1)[token].item()
        first = lp if first is None else first
        total += lp
        exact &= int(logits.argmax()) == token
        ids = ids + [token]
    return total, exact, first


def test_teacher_forced_metrics_equal_a_hand_computation(tiny_model, mixed):
    frame = evaluate(tiny_model, mixed, batch_size=3, progress=False)
    for i, row in frame.iterrows():
        total, exact, first = _by_hand(tiny_model, mixed.prompts[i], list(mixed.answer_sequences[i]))
        assert row["logp_answer_full"] == pytest.approx(total, abs=1e-4)
        assert bool(row["exact"]) == exact
        assert row["n_answer_tokens"] == len(mixed.answer_sequences[i])
        assert np.log(row["p_answer"]) == pytest.approx(first, abs=1e-4)  # the first token, as before


def test_single_token_answers_agree_with_the_next_token_metrics(tiny_model):
    prompt_set = build_task("ioi", tiny_model.tokenizer, n=12, seed=0)  # IOI names are single tokens
    frame = evaluate(tiny_model, prompt_set, progress=False)
    assert (frame["n_answer_tokens"] == 1).all()
    np.testing.assert_allclose(frame["logp_answer_full"], np.log(frame["p_answer"]), atol=1e-5)
    assert frame["exact"].equals(frame["top1"])
    summary = summarize(frame)
    assert summary["exact_acc"] == summary["top1_acc"]
    assert summary["mean_logp_answer_full"] == pytest.approx(float(np.log(frame["p_answer"]).mean()), abs=1e-5)


def test_batched_equals_one_prompt_at_a_time(tiny_model, mixed):
    together = evaluate(tiny_model, mixed, batch_size=4, progress=False)
    for i in range(len(mixed)):
        alone = evaluate(tiny_model, mixed.subset([i]), batch_size=1, progress=False)
        for name in ("p_answer", "p_the", "logp_answer_full"):
            assert alone[name].iloc[0] == pytest.approx(together[name].iloc[i], abs=1e-5), (i, name)
        assert alone["exact"].iloc[0] == together["exact"].iloc[i]


def test_distractors_of_any_length_are_scored(tiny_model, mixed):
    frame = evaluate(tiny_model, mixed, progress=False)
    first = frame.iloc[0]
    assert len(first["p_distractors"]) == 2 and len(first["logp_distractors_full"]) == 2
    the_total, _, the_first = _by_hand(tiny_model, mixed.prompts[0], list(mixed.distractor_sequences[0][0]))
    qz_total, _, _ = _by_hand(tiny_model, mixed.prompts[0], list(mixed.distractor_sequences[0][1]))
    assert first["p_distractors"][0] == pytest.approx(np.exp(the_first), abs=1e-5)
    assert first["p_distractors"][0] == pytest.approx(first["p_the"], abs=1e-6)
    assert first["logp_distractors_full"][1] == pytest.approx(qz_total, abs=1e-4)
    assert list(frame.iloc[1]["p_distractors"]) == []


def test_suffix_passes_equal_full_forwards_on_multi_token_answers(tiny_model, mixed):
    batches = make_batches(tiny_model, mixed.prompts, 2, answers=mixed.answer_sequences)
    cache = ResidualCache(batches)
    for layer in range(tiny_model.n_layers):
        cache.advance(tiny_model, layer)
        for batch in batches:
            full = read_logits(tiny_model, batch)
            torch.testing.assert_close(suffix_read_logits(tiny_model, batch, cache.at(batch, layer), layer), full, atol=1e-5, rtol=0)
    config = (Edit(1, "mlp_in", "lowrank", 0.5),)
    prompt_only = make_batches(tiny_model, mixed.prompts, 2)  # the sweep adds the answers itself
    (result,) = run_configs(tiny_model, [config], [PromptMetrics(mixed, prompt_only)])
    from interp.edits.apply import apply_edits

    with apply_edits(tiny_model, config):
        naive = collect_metrics(tiny_model, mixed, prompt_only)
    for name in ("p_answer", "logp_answer_full", "exact", "n_answer_tokens"):
        np.testing.assert_allclose(result.values[name], naive[name], atol=1e-5, err_msg=name)


def test_prompt_and_answer_longer_than_the_context_is_one_line(tiny_model, tmp_path):
    n_ctx = int(tiny_model.bridge.cfg.n_ctx)
    path = tmp_path / "long.jsonl"
    path.write_text(json.dumps({"prompt": "the " * (n_ctx + 5) + "end", "answer": " the"}) + "\n")
    prompt_set = build_task(f"prompts:{path}", tiny_model.tokenizer)
    with pytest.raises(UsageError, match=f"longer than .* context of {n_ctx} tokens"):
        evaluate(tiny_model, prompt_set, progress=False)
