"""The GSM8K teacher-forced readout task: the gold worked solution up to "The answer is", answer " N"."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interp.scoring.evaluate import evaluate
from interp.tasks import build_task

PROBLEMS = [
    {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?",
     "answer": "Tom has 3 + 4 = <<3+4=7>>7 apples.\n#### 7"},
    {"question": "A box holds 12 eggs. How many eggs are in 10 boxes?",
     "answer": "10 boxes hold 10 * 12 = <<10*12=120>>120 eggs.\n#### 120"},
    {"question": "Sam had 1,250 dollars and spent 250. How much is left?",
     "answer": "He has 1250 - 250 = <<1250-250=1000>>1000 dollars left.\n#### 1,000"},
]


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "test.jsonl"
    path.write_text("\n".join(json.dumps(p) for p in PROBLEMS) + "\n")
    return path


def test_readout_prompts_and_answers(tiny_model, data):
    task = build_task(f"gsm8k:{data}", tiny_model.tokenizer, n=3, seed=0)
    assert len(task) == 3 and task.task == f"gsm8k:{data}"
    for prompt, answer, gold in zip(task.prompts, task.answers, task.columns["gold"]):
        assert prompt.endswith("The answer is") and "<<" not in prompt
        assert prompt.count("Q: ") == 9  # eight Wei exemplars and the question
        assert answer == " " + gold
    assert set(task.columns["gold"]) == {"7", "120", "1000"}
    assert all(tokens[0] == first for tokens, first in zip(task.answer_sequences, task.answer_ids))


def test_readout_scores_whole_numbers(tmp_path, data):
    from interp.models.loading import load_model
    from interp.models.tiny import TinyConfig, make_tiny_model

    make_tiny_model(tmp_path / "long", TinyConfig(arch="llama", n_ctx=1024))  # 8-shot prompts need ~1000 positions
    model = load_model(str(tmp_path / "long"), device="cpu")
    task = build_task(f"gsm8k:{data}", model.tokenizer, seed=0)
    frame = evaluate(model, task, progress=False)
    assert (frame["n_answer_tokens"] == [len(a) for a in task.answer_sequences]).all()
    assert np.isfinite(frame["logp_answer_full"]).all() and (frame["logp_answer_full"] <= np.log(frame["p_answer"]) + 1e-5).all()
