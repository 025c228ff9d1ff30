"""Metric edge cases that mutation testing found untested: token id 0 is an answer token like any
other (only -1 marks padding), and the function-word mass of one word or of none."""

from __future__ import annotations

import pytest
import torch

from interp.scoring.metrics import answer_metrics, function_mass, next_token_metrics


def test_token_id_zero_is_a_real_answer_token():
    logits = torch.tensor([
        [[3.0, 1.0, 0.0], [0.0, 2.0, 1.0]],  # prompt 0: answer [0, 1], both the argmax
        [[0.0, 1.0, 3.0], [1.0, 0.0, 0.5]],  # prompt 1: answer [2, 0], both the argmax
        [[0.0, 3.0, 1.0], [2.0, 0.0, 1.0]],  # prompt 2: answer [0, 0], the first not the argmax
    ])
    targets = torch.tensor([[0, 1], [2, 0], [0, 0]])
    got = answer_metrics(logits, targets)
    assert got["n_answer_tokens"].tolist() == [2, 2, 2]
    assert got["exact"].tolist() == [True, True, False]
    logprobs = logits.log_softmax(-1)
    expected = [float(logprobs[i, 0, t[0]] + logprobs[i, 1, t[1]]) for i, t in enumerate(targets.tolist())]
    assert got["logp_answer_full"].tolist() == pytest.approx(expected, abs=1e-6)


def test_padding_is_minus_one_only():
    logits = torch.tensor([[[0.0, 2.0], [5.0, 0.0]]])
    got = answer_metrics(logits, torch.tensor([[1, -1]]))  # one token; the second position is padding
    assert got["n_answer_tokens"].tolist() == [1] and got["exact"].tolist() == [True]
    assert got["logp_answer_full"].item() == pytest.approx(float(logits[0, 0].log_softmax(-1)[1]), abs=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_function_mass_of_one_word_and_of_none(dtype):
    probs = torch.tensor([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]], dtype=dtype)
    logprobs = probs.log()
    one = function_mass(logprobs, torch.tensor([2]))
    assert one.tolist() == pytest.approx([0.25, 0.7], abs=1e-6)
    two = function_mass(logprobs, torch.tensor([0, 2]))
    assert two.tolist() == pytest.approx([0.75, 0.8], abs=1e-6)
    none = function_mass(logprobs, torch.tensor([], dtype=torch.long))
    assert none.shape == (2,) and none.dtype == dtype and none.device == logprobs.device
    assert none.tolist() == [0.0, 0.0]
    m = next_token_metrics(probs.log(), torch.tensor([1, 2]), the_id=0, function_ids=torch.tensor([1]))
    assert m["p_function"].tolist() == pytest.approx([0.25, 0.2], abs=1e-6)
