"""Factual task: every fact kept whatever its answer's length, seeded subsets."""

from __future__ import annotations

import json
import logging

import pytest

from interp.errors import UsageError
from interp.tasks import build_task
from interp.tasks.factual import load_facts


@pytest.fixture(scope="module")
def factual(prompt_tokenizer):
    return build_task("factual", prompt_tokenizer)


def test_keeps_every_fact_with_its_answer_tokens(factual, prompt_tokenizer):
    facts = load_facts()
    multi = [f for f in facts if prompt_tokenizer.single_token_id(f["answer"]) is None]
    assert multi  # the tiny tokenizer splits some answers: they are kept now
    assert factual.skipped == {} and factual.n_skipped == 0
    assert len(factual) == len(facts)
    for answer, answer_id, tokens in zip(factual.answers, factual.answer_ids, factual.answer_sequences):
        assert list(tokens) == prompt_tokenizer.tokenizer.encode(answer, add_special_tokens=False)
        assert tokens[0] == answer_id
        if len(tokens) == 1:
            assert prompt_tokenizer.single_token_id(answer) == answer_id
    assert set(factual.columns) == {"relation", "subject"}
    assert factual.distractor_ids == tuple(() for _ in factual.prompts)


def test_multi_token_answer_kept_in_a_controlled_file(prompt_tokenizer, tmp_path, monkeypatch):
    rows = [
        {"relation": "located_in", "subject": "Madrid", "prompt": "Madrid is located in", "answer": " Spain"},
        {"relation": "located_in", "subject": "Zqx", "prompt": "Zqx is located in", "answer": " Qzxwvyk"},
        {"relation": "capital_of", "subject": "Spain", "prompt": "The capital of Spain is", "answer": " Madrid"},
    ]
    (tmp_path / "factual").mkdir()
    (tmp_path / "factual" / "facts.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    monkeypatch.setenv("INTERP_PROMPTS", str(tmp_path))
    assert prompt_tokenizer.single_token_id(" Qzxwvyk") is None
    got = build_task("factual", prompt_tokenizer)
    assert got.n_skipped == 0 and got.columns["subject"] == ("Madrid", "Zqx", "Spain")
    assert len(got.answer_sequences[1]) > 1 and got.answer_ids[1] == got.answer_sequences[1][0]


def test_malformed_facts_file_names_the_line(prompt_tokenizer, tmp_path, monkeypatch):
    (tmp_path / "factual").mkdir()
    good = '{"relation": "r", "subject": "s", "prompt": "p", "answer": " Spain"}'
    (tmp_path / "factual" / "facts.jsonl").write_text(good + '\n{"relation": "r", "prompt": "p", "answer": " a"}\n')
    monkeypatch.setenv("INTERP_PROMPTS", str(tmp_path))
    with pytest.raises(UsageError, match=r"facts.jsonl:2: missing \"subject\""):
        build_task("factual", prompt_tokenizer)


def test_seeded_subset(factual, prompt_tokenizer):
    a = build_task("factual", prompt_tokenizer, n=20, seed=5)
    assert len(a) == 20
    assert a == build_task("factual", prompt_tokenizer, n=20, seed=5)
    assert a.prompts != build_task("factual", prompt_tokenizer, n=20, seed=6).prompts
    assert set(a.prompts) <= set(factual.prompts)
    assert a.skipped == factual.skipped
    assert len(build_task("factual", prompt_tokenizer, n=10_000)) == len(factual)


def test_relations_filter(prompt_tokenizer):
    only = build_task("factual", prompt_tokenizer, relations=("located_in", "currency"))
    assert set(only.columns["relation"]) == {"located_in", "currency"}
    assert len(only) == sum(f["relation"] in ("located_in", "currency") for f in load_facts())
    with pytest.raises(UsageError, match="unknown relation"):
        build_task("factual", prompt_tokenizer, relations=("nope",))
    with pytest.raises(UsageError, match="--relations filters the factual task"):
        build_task("ioi", prompt_tokenizer, relations=("located_in",))


def test_more_prompts_than_facts_says_how_many_it_gives(prompt_tokenizer, caplog):
    n_facts = len(load_facts())
    with caplog.at_level(logging.WARNING, logger="interp"):
        factual = build_task("factual", prompt_tokenizer, n=10**12)
    assert len(factual) == n_facts
    assert f"factual: {10**12} prompts asked for, but the task has {n_facts} facts; using {n_facts}" in caplog.messages
    caplog.clear()
    build_task("factual", prompt_tokenizer, n=10**12)  # again (a checkpoint sweep's next step): said once is enough
    assert not caplog.records
    located = build_task("factual", prompt_tokenizer, n=10**6, relations=("located_in",))
    assert f"the task has {len(located)} facts of relation(s) located_in; using {len(located)}" in caplog.text
    caplog.clear()
    build_task("factual", prompt_tokenizer, n=n_facts)
    assert not caplog.records  # exactly as many as asked: nothing to say
