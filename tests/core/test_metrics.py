"""Metrics on hand-built logits."""

from __future__ import annotations

import math

import torch

from interp.scoring.metrics import next_token_metrics


def test_metrics_on_hand_built_logits():
    # vocab of 4: id 0 = " the", 1 = answer A, 2 = S, 3 = other
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.1, 0.6, 0.2, 0.1]])
    logits = probs.log() + 3.0  # any shift gives the same softmax
    answers = torch.tensor([1, 1])
    s_ids = torch.tensor([2, 2])
    m = next_token_metrics(logits, answers, the_id=0, s_ids=s_ids)
    assert torch.allclose(m["p_answer"], torch.tensor([0.3, 0.6]), atol=1e-6)
    assert torch.allclose(m["p_the"], torch.tensor([0.5, 0.1]), atol=1e-6)
    assert torch.allclose(m["log_ratio"], torch.tensor([math.log(0.3 / 0.5), math.log(0.6 / 0.1)]), atol=1e-5)
    assert m["rank"].tolist() == [2, 1]
    assert m["top1"].tolist() == [False, True]
    assert torch.allclose(m["p_s"], torch.tensor([0.15, 0.2]), atol=1e-6)
    assert torch.allclose(m["logit_diff"], torch.tensor([math.log(0.3 / 0.15), math.log(0.6 / 0.2)]), atol=1e-5)


def test_rank_counts_strictly_larger_logits():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0]])
    m = next_token_metrics(logits, torch.tensor([2]), the_id=0)
    assert m["rank"].item() == 3
