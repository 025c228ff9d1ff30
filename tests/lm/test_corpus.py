"""The language-model corpus: sources, determinism, content hashes, bad input, and the held-out evaluation prompts."""

from __future__ import annotations

import hashlib
import json
import re
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from interp.errors import UsageError
from interp.io import config_from_dict, to_jsonable
from interp.lm.corpus import (
    DEFAULT_SOURCES,
    CorpusConfig,
    HeldOut,
    build_corpus,
    check_corpus,
    load_story_names,
    source_table,
)
from interp.paths import shared_data_dir
from interp.tasks.factual import load_facts
from interp.tasks.ioi import ioi_dir, load_templates

RENDERED_ONLY = CorpusConfig(sources=("facts", "ioi", "people"), ioi_stories=200, people_docs=200, fact_repeats=1)

GLOSSES = (
    "pos\tlemmas\tgloss\n"
    "noun\tTirana|Albanian capital\tthe capital and largest city of Albania in the center of the country\n"
    'verb\tbreathe|respire\tdraw air into, and expel out of, the lungs; "I can breathe better when the air is clean"\n'
)
SPEECHES = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n\n\nFirst Citizen:\nYou are all resolved?\n"
TRAIN = json.dumps({"question": "Natalia sold 48 clips. How many?", "answer": "She sold 48/2 = <<48/2=24>>24 in May.\n#### 72"})
TEST = json.dumps({"question": "A TEST-SPLIT QUESTION?", "answer": "No.\n#### 1"})


@pytest.fixture()
def data_dir(tmp_path) -> Path:
    """A small stand-in for ../shared/data: the three files the text sources read (and a GSM8K test split)."""
    root = tmp_path / "data"
    for rel, text in {
        "wordnet/glosses.tsv": GLOSSES, "tinyshakespeare/input.txt": SPEECHES,
        "gsm8k/train.jsonl": TRAIN + "\n", "gsm8k/test.jsonl": TEST + "\n",
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def one_line_error(excinfo: pytest.ExceptionInfo, *needles: str) -> str:
    message = str(excinfo.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, (needle, message)
    return message


# --- the text sources ------------------------------------------------------------------------


def test_text_sources_render_as_documents(data_dir):
    corpus = build_corpus(CorpusConfig(sources=("wordnet", "tinyshakespeare", "gsm8k")), data_dir)
    slices = corpus.source_slices()
    assert corpus.documents[slices["wordnet"]] == (
        "Tirana (Albanian capital): the capital and largest city of Albania in the center of the country.",
        'breathe (respire): draw air into, and expel out of, the lungs. Examples: "I can breathe better when the air is clean".',
    )
    assert corpus.documents[slices["tinyshakespeare"]] == (
        "First Citizen:\nBefore we proceed any further, hear me speak.", "All:\nSpeak, speak.", "First Citizen:\nYou are all resolved?",
    )
    # GSM8K: the train split only, calculator annotations removed, the final answer as a sentence
    assert corpus.documents[slices["gsm8k"]] == ("Natalia sold 48 clips. How many?\nShe sold 48/2 = 24 in May.\nThe answer is 72.",)
    assert not any("TEST-SPLIT" in d for d in corpus.documents)


def test_source_infos_count_and_hash(data_dir, tmp_path):
    text = tmp_path / "book.txt"
    text.write_text("One paragraph.\n\nAnother one.\n", encoding="utf-8")
    config = CorpusConfig(sources=("wordnet", f"file:{text}", "facts"), fact_repeats=1)
    corpus = build_corpus(config, data_dir)
    assert [s.name for s in corpus.sources] == ["wordnet", f"file:{text}", "facts"]
    for info, part in zip(corpus.sources, corpus.source_slices().values()):
        docs = corpus.documents[part]
        assert info.n_documents == len(docs) > 0
        assert info.n_chars == sum(map(len, docs))
    wordnet, book, facts = corpus.sources
    assert wordnet.path == str(data_dir / "wordnet/glosses.tsv")
    assert wordnet.sha256 == hashlib.sha256(GLOSSES.encode()).hexdigest()
    assert book.sha256 == hashlib.sha256(text.read_bytes()).hexdigest()
    assert facts.path is None and len(facts.sha256) == 64
    assert corpus.n_chars == sum(s.n_chars for s in corpus.sources)
    assert "| facts |" in source_table(corpus)

    # a changed file changes its source's hash and nothing else
    text.write_text("One paragraph.\n\nAnother one, changed.\n", encoding="utf-8")
    changed = build_corpus(config, data_dir)
    assert changed.sources[1].sha256 != book.sha256
    assert changed.sources[0] == wordnet and changed.sources[2] == facts


def test_max_chars_caps_each_source(data_dir):
    corpus = build_corpus(CorpusConfig(sources=("wordnet", "facts", "ioi"), max_chars=150), data_dir)
    for info in corpus.sources:
        assert 0 < info.n_chars <= 150
    assert corpus.sources[0].n_documents == 1  # the second gloss would pass the cap


# --- the rendered sources ----------------------------------------------------------------------


def test_build_is_deterministic_and_seeded():
    first, again = build_corpus(RENDERED_ONLY), build_corpus(RENDERED_ONLY)
    assert first == again
    other = build_corpus(replace(RENDERED_ONLY, seed=1))
    assert other.documents != first.documents
    for a, b in zip(first.sources, other.sources):
        assert a.sha256 != b.sha256  # order and draws depend on the seed
        assert a.n_documents == b.n_documents


def test_facts_are_rendered_with_every_paraphrase():
    corpus = build_corpus(replace(RENDERED_ONLY, sources=("facts",), fact_repeats=2))
    docs = corpus.documents
    templates = json.loads((Path(__file__).resolve().parents[2] / "prompts/lm/fact_templates.json").read_text())
    facts = load_facts()
    assert len(docs) == 2 * sum(len(templates[f["relation"]]) for f in facts)
    assert docs.count("Madrid is a city in Spain.") == 2
    assert "The capital city of the United Kingdom is London." in docs  # the prompt's "the" kept
    assert all(d[0].isupper() for d in docs)


def test_ioi_stories_use_their_own_names_in_both_orders():
    corpus = build_corpus(replace(RENDERED_ONLY, sources=("ioi",)))
    names = set(load_story_names())
    eval_names = set((ioi_dir() / "names.txt").read_text().split())
    assert not names & eval_names
    words = {w for d in corpus.documents for w in re.findall(r"[A-Z][a-z]+", d)}
    assert not words & eval_names
    assert len(words & names) > 50
    abba = [d for d in corpus.documents if re.match(r"(\w+) and (\w+) spent the afternoon", d)]
    assert abba, "expected the first template among 200 stories"
    io_first = set()
    for story in abba:
        first, second = re.match(r"(\w+) and (\w+)", story).groups()
        last = story.rstrip(".").split()[-1]
        assert last in (first, second) and len(re.findall(rf"\b{last}\b", story)) == 2  # the story ends on the IO
        io_first.add(last == first)
    assert io_first == {True, False}  # ABBA and BABA


def test_people_passages_name_one_person_each():
    corpus = build_corpus(replace(RENDERED_ONLY, sources=("people",)))
    everyone = set(load_story_names()) | set((ioi_dir() / "names.txt").read_text().split())
    for doc in corpus.documents[:50]:
        assert len({w for w in re.findall(r"\b[A-Z][a-z]+\b", doc) if w in everyone}) == 1, doc


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        (dict(sources=("wordnet", "books")), "unknown corpus source 'books'"),
        (dict(sources=("file:",)), "unknown corpus source 'file:'"),
        (dict(sources=("facts", "facts")), "listed twice"),
        (dict(sources=()), "non-empty"),
        (dict(sources=["facts"]), "tuple"),
        (dict(max_chars=0), "max_chars"),
        (dict(fact_repeats=0), "fact_repeats"),
        (dict(seed=-1), "seed"),
        (dict(hf_column=""), "hf_column"),
    ],
)
def test_bad_config_is_one_line(kwargs, needle):
    with pytest.raises(UsageError) as excinfo:
        CorpusConfig(**kwargs)
    one_line_error(excinfo, needle)


def test_config_round_trips_through_json():
    config = CorpusConfig(sources=("facts", "file:/x.txt"), max_chars=10, seed=3)
    assert config_from_dict(CorpusConfig, json.loads(json.dumps(to_jsonable(config)))) == config


def test_missing_and_empty_files_are_named(data_dir, tmp_path):
    with pytest.raises(UsageError) as excinfo:
        check_corpus(CorpusConfig(sources=("gsm8k",)), tmp_path / "nowhere")
    one_line_error(excinfo, "gsm8k", str(tmp_path / "nowhere" / "gsm8k/train.jsonl"), "not found", "$INTERP_SHARED_DATA")

    with pytest.raises(UsageError) as excinfo:
        check_corpus(CorpusConfig(sources=(f"file:{tmp_path / 'missing.txt'}",)), data_dir)
    one_line_error(excinfo, "missing.txt", "not found", "a UTF-8 text file")

    empty = tmp_path / "empty.txt"
    empty.write_text("")
    with pytest.raises(UsageError) as excinfo:
        check_corpus(CorpusConfig(sources=(f"file:{empty}",)), data_dir)
    one_line_error(excinfo, str(empty), "is empty")

    (data_dir / "wordnet/glosses.tsv").write_text("")
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=("wordnet",)), data_dir)
    one_line_error(excinfo, "wordnet", "is empty", "WordNet")


def test_unreadable_text_is_named(tmp_path, data_dir):
    blank = tmp_path / "blank.txt"
    blank.write_text("  \n\n ")
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=(f"file:{blank}",)), data_dir)
    one_line_error(excinfo, "only whitespace")
    latin = tmp_path / "latin.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=(f"file:{latin}",)), data_dir)
    one_line_error(excinfo, "not UTF-8")
    (data_dir / "gsm8k/train.jsonl").write_text(TRAIN + "\n{not json\n")
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=("gsm8k",)), data_dir)
    one_line_error(excinfo, "train.jsonl:2", "invalid JSON")


# --- hf:NAME -----------------------------------------------------------------------------------


def test_hf_streams_a_local_text_dataset(tmp_path):
    folder = tmp_path / "dataset"
    folder.mkdir()
    (folder / "part.txt").write_text("The first line of text.\n\nA second line.\nAnd a third.\n", encoding="utf-8")
    config = CorpusConfig(sources=(f"hf:{folder}",), max_chars=40)
    corpus = build_corpus(config)
    assert corpus.documents == ("The first line of text.", "A second line.")  # blank rows skipped, capped
    assert corpus.sources[0].path is None
    assert corpus.sources[0].sha256 == build_corpus(config).sources[0].sha256
    assert build_corpus(replace(config, max_chars=None)).documents[-1] == "And a third."


def test_hf_stops_reading_at_the_cap(monkeypatch):
    import itertools

    import datasets

    pulled = []

    def endless(name, split, streaming):
        assert (name, split, streaming) == ("someone/corpus", "train", True)
        for i in itertools.count():
            pulled.append(i)
            yield {"text": f"Row {i}."}

    monkeypatch.setattr(datasets, "load_dataset", endless)
    corpus = build_corpus(CorpusConfig(sources=("hf:someone/corpus",), max_chars=60))
    assert corpus.documents[:2] == ("Row 0.", "Row 1.") and corpus.sources[0].n_chars <= 60
    assert len(pulled) < 20


def test_hf_failures_are_one_line(monkeypatch):
    import datasets

    def unreachable(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'someone/corpus' on the Hub (OfflineModeIsEnabled)\nmore detail")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=("hf:someone/corpus",)))
    one_line_error(excinfo, "hf:someone/corpus", "ConnectionError", "file:PATH")

    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: iter([{"content": "text"}]))
    with pytest.raises(UsageError) as excinfo:
        build_corpus(CorpusConfig(sources=("hf:someone/corpus",)))
    one_line_error(excinfo, "no column 'text'", "content", "hf_column")


def test_hf_without_datasets_is_caught_before_building(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "datasets" else real(name, *a))
    with pytest.raises(UsageError) as excinfo:
        check_corpus(CorpusConfig(sources=("hf:someone/corpus",)))
    one_line_error(excinfo, "pip install datasets")
    assert isinstance(sys.modules.get("interp.lm.corpus"), types.ModuleType)


# --- held out: no evaluation prompt verbatim ----------------------------------------------------


def _ioi_fixed_text(template: str) -> re.Pattern:
    """The template's fixed pieces in order, any one-line filler between them: matches the ABBA and BABA prompts
    with any names, places, objects (written here apart from the library's own pattern)."""
    pieces = re.split(r"\{(?:A|B|PLACE|OBJECT)\}", template)
    return re.compile(r"[^\n]{1,60}?".join(map(re.escape, pieces)))


def test_the_ioi_check_sees_real_prompts():
    from interp.tasks.ioi import Template

    for template in load_templates():
        pattern = _ioi_fixed_text(template.text)
        for order in ("ABBA", "BABA"):
            prompt = Template(template.text).render("Mary", "John", "store", "drink", order)
            assert pattern.search(f"Once upon a time. {prompt} Mary."), (template.text, order)
            assert HeldOut.load().find([f"Intro.\n{prompt} Mary."]), (template.text, order)


def test_held_out_drops_text_documents_with_an_evaluation_prompt(tmp_path, data_dir):
    book = tmp_path / "book.txt"
    book.write_text(
        "A harmless paragraph.\n\nWe read that MADRID IS LOCATED IN Spain.\n\n"
        "Then, Mary and John went to the park. John gave a cup to Mary.\n\nMadrid lies in Spain.\n", encoding="utf-8",
    )
    corpus = build_corpus(CorpusConfig(sources=(f"file:{book}",)), data_dir)
    assert corpus.documents == ("A harmless paragraph.", "Madrid lies in Spain.")
    assert corpus.sources[0].n_dropped == 2


def test_a_rendered_template_that_leaks_is_a_data_error(tmp_path, monkeypatch):
    prompts = tmp_path / "prompts"
    for sub in ("factual", "ioi", "lm"):
        src = Path(__file__).resolve().parents[2] / "prompts" / sub
        (prompts / sub).mkdir(parents=True)
        for f in src.iterdir():
            (prompts / sub / f.name).write_bytes(f.read_bytes())
    templates = json.loads((prompts / "lm/fact_templates.json").read_text())
    templates["located_in"].append("{subject} is located in {answer}.")
    (prompts / "lm/fact_templates.json").write_text(json.dumps(templates))
    monkeypatch.setenv("INTERP_PROMPTS", str(prompts))
    with pytest.raises(UsageError) as excinfo:
        build_corpus(replace(RENDERED_ONLY, sources=("facts",)))
    one_line_error(excinfo, "is located in", "fact_templates.json", "reword")


def test_full_default_corpus_holds_no_evaluation_prompt():
    """The default corpus (every source, no cap) contains no factual prompt (any case) and no IOI prompt (any template's
    fixed text, either name order, any fillers), checked by brute force apart from the library's own search."""
    data = shared_data_dir()
    if not (data / "wordnet/glosses.tsv").is_file():
        pytest.skip(f"the shared data is not at {data}")
    corpus = build_corpus(CorpusConfig())
    assert [s.name for s in corpus.sources] == list(DEFAULT_SOURCES)
    assert all(s.n_documents > 0 for s in corpus.sources)
    prompts = sorted({f["prompt"].lower() for f in load_facts()})
    # only documents holding every word that all prompts share ("is") can hold a prompt
    shared = set.intersection(*(set(p.split()) for p in prompts))
    lower = "\n\n".join(d for d in map(str.lower, corpus.documents) if all(w in d for w in shared))
    leaks = [p for p in prompts if p in lower]
    assert not leaks, leaks
    joined = "\n\n".join(corpus.documents)
    for template in load_templates():
        match = _ioi_fixed_text(template.text).search(joined)
        assert match is None, (template.text, match and match.group())
