"""``p_function``'s token ids checked against the tokenizer directly: every word of
``prompts/function_words.json`` that is one token, the first word included, no other id."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from interp.scoring.evaluate import collect_metrics, function_word_ids, function_words
from interp.scoring.forward import last_logits, make_batches
from interp.scoring.metrics import next_token_metrics

PROMPTS = ("The city is located in", "When the morning came, the", "A letter arrived from the")
WORDS_FILE = Path(__file__).resolve().parents[2] / "prompts" / "function_words.json"


def _expected_ids(hf_tokenizer) -> list[int]:
    ids: list[int] = []
    for word in json.loads(WORDS_FILE.read_text(encoding="utf-8")):
        tokens = hf_tokenizer.encode(word, add_special_tokens=False)
        if len(tokens) == 1 and tokens[0] not in ids:
            ids.append(int(tokens[0]))
    return ids


def test_function_word_ids_are_the_tokenizers(tiny_model):
    words = json.loads(WORDS_FILE.read_text(encoding="utf-8"))
    hf = tiny_model.tokenizer.tokenizer
    expected = _expected_ids(hf)
    first = hf.encode(words[0], add_special_tokens=False)
    assert len(first) == 1, "the first function word should be one token for the tiny tokenizer"
    assert len(expected) >= 2
    ids = function_word_ids(tiny_model)
    assert list(ids) == expected
    assert first[0] in ids  # the first word is not dropped
    assert ids[0] == hf.convert_tokens_to_ids(hf.tokenize(words[0]))[0]


def test_p_function_is_the_mass_on_the_tokenizers_ids(tiny_gpt2):
    """End to end: the p_function column equals the softmax mass on ids taken from the tokenizer."""
    from interp.tasks import build_task

    prompt_set = build_task("factual", tiny_gpt2.tokenizer, n=6, seed=0)
    batches = make_batches(tiny_gpt2, prompt_set.prompts, 6)
    values = collect_metrics(tiny_gpt2, prompt_set, batches)
    ids = torch.tensor(_expected_ids(tiny_gpt2.tokenizer.tokenizer))
    expected = []
    for prompt in prompt_set.prompts:
        tokens = torch.tensor([tiny_gpt2.tokenizer.encode_prompt(prompt)])
        with torch.no_grad():
            logits = tiny_gpt2.bridge(tokens)[0, -1].double()
        expected.append(logits.softmax(-1)[ids].sum().item())
    actual = torch.tensor(values["p_function"], dtype=torch.float64)
    torch.testing.assert_close(actual, torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=1e-4)


def test_p_function_is_the_sum_of_its_members(tiny_model):
    assert function_words()[:2] == (" the", " a")
    ids = function_word_ids(tiny_model)
    assert ids and len(set(ids)) == len(ids)
    batch = make_batches(tiny_model, PROMPTS, 8)[0]
    logits = last_logits(tiny_model, batch)
    answers = torch.zeros(len(batch), dtype=torch.long)
    the_id = tiny_model.tokenizer.single_token_id(" the")
    metrics = next_token_metrics(logits, answers, the_id, function_ids=torch.tensor(ids))
    probs = logits.float().softmax(-1)
    expected = sum(probs[:, i] for i in ids)
    torch.testing.assert_close(metrics["p_function"], expected, atol=1e-6, rtol=1e-5)
    assert (metrics["p_function"] >= metrics["p_the"] - 1e-7).all()
    assert "p_function" not in next_token_metrics(logits, answers, the_id)
