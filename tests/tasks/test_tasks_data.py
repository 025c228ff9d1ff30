"""The shipped prompt data is large enough for every task and well formed."""

from __future__ import annotations

import json
from collections import Counter

from interp.paths import prompts_dir
from interp.tasks.factual import load_facts
from interp.tasks.ioi import load_templates


def _lines(name: str) -> list[str]:
    return (prompts_dir() / "ioi" / name).read_text(encoding="utf-8").splitlines()


def test_ioi_data():
    assert len(load_templates()) >= 15  # each validated: {A} ... {B} ... {B}, names after a space
    raw = json.loads((prompts_dir() / "ioi" / "templates.json").read_text(encoding="utf-8"))
    assert len(set(raw)) == len(raw)
    for name in ("names.txt", "places.txt", "objects.txt"):
        entries = _lines(name)
        assert entries and len(set(entries)) == len(entries), name
        assert all(e == e.strip() and e for e in entries), name
    names = _lines("names.txt")
    assert len(names) >= 90 and all(n.isalpha() and n[0].isupper() for n in names)


def test_facts():
    facts = load_facts()
    relations = Counter(f["relation"] for f in facts)
    assert len(facts) >= 150 and len(relations) >= 4
    assert relations["located_in"] >= 50
    assert len({(f["relation"], f["subject"]) for f in facts}) == len(facts)
    assert len({f["prompt"] for f in facts}) == len(facts)
    for f in facts:
        assert f["answer"].startswith(" ") and f["answer"][1:].isalpha(), f  # one word, leading space
        assert f["prompt"] == f["prompt"].strip() and f["subject"] in f["prompt"], f
    located = [f for f in facts if f["relation"] == "located_in"]
    assert all(f["prompt"] == f"{f['subject']} is located in" for f in located)


def test_function_words_and_example():
    words = json.loads((prompts_dir() / "function_words.json").read_text(encoding="utf-8"))
    assert " the" in words and all(isinstance(w, str) and w.startswith(" ") for w in words)
    lines = (prompts_dir() / "examples" / "capitals.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert 8 <= len(rows) <= 10 and any("distractors" in r for r in rows)
    assert all(set(r) <= {"prompt", "answer", "distractors"} for r in rows)
