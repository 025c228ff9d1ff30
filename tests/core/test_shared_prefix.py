"""Prompts sharing a long few-shot prefix: the prefix run once gives the full forward's logits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.laser.sweep import PromptMetrics, run_configs
from interp.scoring.evaluate import collect_metrics, full_logits_fn
from interp.scoring.forward import make_batches, read_logits
from interp.scoring.prefix import MIN_SHARED_PREFIX, SharedPrefixLogits, shared_prefix_length
from interp.tasks.base import PromptSet

EXEMPLAR = "Q: Tom has 3 apples and buys 4 more. How many apples does he have?\nA: 3 + 4 = 7. The answer is 7.\n\n"
QUESTIONS = [
    ("Q: Ann reads 12 pages a day for 3 days. How many pages?\nA: 12 * 3 = 36. The answer is", " 36"),
    ("Q: A box holds 5 pens. How many pens in 2 boxes?\nA: 5 * 2 = 10. The answer is", " 10"),
    ("Q: Sam had 20 dollars and spent 7. How much is left?\nA: 20 - 7 = 13. The answer is", " 13"),
    ("Q: 9 birds sit on a tree and 4 fly away. How many stay?\nA: 9 - 4 = 5. The answer is", " 5"),
    ("Q: How many legs do 3 cats have?\nA: 3 * 4 = 12. The answer is", " 12"),
]


def few_shot_set(model, n_shots: int = 3) -> PromptSet:
    prompts = tuple(EXEMPLAR * n_shots + q for q, _ in QUESTIONS)
    answers = tuple(a for _, a in QUESTIONS)
    tokens = tuple(tuple(model.tokenizer.encode_answer(a)) for a in answers)
    return PromptSet(
        task="few-shot", prompts=prompts, answers=answers, answer_ids=tuple(t[0] for t in tokens),
        distractor_ids=tuple(() for _ in answers), columns={}, answer_tokens=tokens,
    )


MEAN = {(1, "mlp"): torch.randn(64, generator=torch.Generator().manual_seed(0))}


@pytest.mark.parametrize("edits", [(), (Edit(1, "mlp_in", "lowrank", 0.25),), (Edit(1, "mlp_out", "mean"),)], ids=["none", "lowrank", "mean-hook"])
def test_prefix_once_equals_full_forward(long_tiny, edits):
    prompt_set = few_shot_set(long_tiny)
    batches = make_batches(long_tiny, prompt_set.prompts, 2, answers=prompt_set.answer_sequences)
    length = shared_prefix_length(batches)
    # every prompt starts with the exemplars; the shared part may run a token into "Q:"
    n_exemplars = len(long_tiny.tokenizer.encode_prompt(EXEMPLAR * 3))
    assert n_exemplars - 2 <= length < min(len(long_tiny.tokenizer.encode_prompt(p)) for p in prompt_set.prompts)
    means = {(1, "mlp"): MEAN[(1, "mlp")][: long_tiny.bridge.cfg.d_model]}
    with apply_edits(long_tiny, edits, means=means):
        shared = SharedPrefixLogits(length)
        for batch in batches:
            full = read_logits(long_tiny, batch)
            once = shared(long_tiny, batch)
            assert once.shape == full.shape == (len(batch), batch.positions.shape[1], full.shape[-1])
            torch.testing.assert_close(once, full, atol=2e-5, rtol=1e-5)


def test_which_forward_is_chosen(long_tiny, tiny_gpt2):
    long_set = few_shot_set(long_tiny, n_shots=3)
    batches = make_batches(long_tiny, long_set.prompts, 8, answers=long_set.answer_sequences)
    assert shared_prefix_length(batches) >= MIN_SHARED_PREFIX
    assert isinstance(full_logits_fn(long_tiny, batches), SharedPrefixLogits)
    short = make_batches(tiny_gpt2, [q for q, _ in QUESTIONS], 8)
    assert full_logits_fn(tiny_gpt2, short) is read_logits  # no long shared prefix: plain forward


def test_metrics_and_laser_sweep_with_a_shared_prefix(long_tiny):
    """collect_metrics (prefix once) and the LASER sweep (prefix once per config) equal plain forwards."""
    prompt_set = few_shot_set(long_tiny)
    batches = make_batches(long_tiny, prompt_set.prompts, 3, answers=prompt_set.answer_sequences)
    configs = [(), (Edit(1, "mlp_in", "lowrank", 0.25),), (Edit(0, "mlp_out", "lowrank", 0.1),)]
    results = run_configs(long_tiny, configs, [PromptMetrics(prompt_set, batches)])
    for config, result in zip(configs, results):
        with apply_edits(long_tiny, config):
            plain = collect_metrics(long_tiny, prompt_set, batches, read_logits)
            once = collect_metrics(long_tiny, prompt_set, batches)
        for name, values in plain.items():
            # a random tiny model ranks the answer among near-equal logits: float rounding (1e-6) of
            # the other path may swap it with a neighbour, so a rank may move by one
            tol = {"atol": 1, "rtol": 0} if name == "rank" else {"atol": 1e-5, "rtol": 1e-5}
            np.testing.assert_allclose(once[name], values, **tol, err_msg=f"{config} {name}")
            np.testing.assert_allclose(result.values[name], values, **tol, err_msg=f"{config} {name}")
    assert not np.allclose(results[1].values["logp_answer_full"], results[0].values["logp_answer_full"])  # the edit is seen
