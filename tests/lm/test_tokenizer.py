"""The language model's byte-level BPE: deterministic, lossless, Pythia's special token and BOS policy, and coverage."""

from __future__ import annotations

import json

import pytest

from interp.errors import UsageError
from interp.lm.corpus import CorpusConfig, build_corpus, load_story_names
from interp.lm.tokenizer import SPECIAL, coverage, coverage_table, train_tokenizer
from interp.models.tokens import PromptTokenizer
from interp.tasks.ioi import _read_lines, ioi_dir, single_token_names

VOCAB = 600


@pytest.fixture(scope="module")
def documents() -> tuple[str, ...]:
    """A small corpus: the rendered sources, capped (the text sources need ../shared/data)."""
    return build_corpus(CorpusConfig(sources=("facts", "ioi", "people"), max_chars=40_000)).documents


@pytest.fixture(scope="module")
def tokenizer(documents):
    return train_tokenizer(documents, VOCAB)


def test_same_documents_same_tokenizer(documents, tokenizer):
    again = train_tokenizer(documents, VOCAB)
    assert again.backend_tokenizer.to_str() == tokenizer.backend_tokenizer.to_str()
    other = train_tokenizer(documents[: len(documents) // 2], VOCAB)
    assert other.backend_tokenizer.to_str() != tokenizer.backend_tokenizer.to_str()
    assert len(tokenizer) == VOCAB


@pytest.mark.parametrize(
    "text",
    ["Madrid is located in", " Spain", "When Mary and John went to the store,\nJohn gave a drink to",
     "Ünïcödé — naïve café 東京 🙂", "  two  spaces\tand a tab\n\n", "The answer is 72.", "a <|endoftext|> b"],
)
def test_round_trip(tokenizer, text):
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_special_token_as_pythia(tokenizer):
    eot = tokenizer.convert_tokens_to_ids(SPECIAL)
    assert eot == 0
    assert (tokenizer.bos_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id, tokenizer.unk_token_id) == (eot,) * 4
    assert tokenizer.encode("Hello there", add_special_tokens=True) == tokenizer.encode("Hello there", add_special_tokens=False)
    assert tokenizer.encode("a <|endoftext|> b", add_special_tokens=False).count(eot) == 1


def test_bad_arguments_are_one_line(documents):
    for bad in (100, 0, "4096", True):
        with pytest.raises(UsageError, match="vocab_size must be an integer >= 258"):
            train_tokenizer(documents, bad)
    with pytest.raises(UsageError, match="every document is empty"):
        train_tokenizer(["", "  "], 1000)


def test_checkpoint_folder_loads_standalone_with_pythia_bos(tmp_path, tokenizer):
    from interp.models.loading import load_model
    from interp.models.tiny import TinyConfig, make_tiny_model

    folder = make_tiny_model(tmp_path / "step0", TinyConfig(arch="gpt-neox"), tokenizer)
    model = load_model(str(folder), device="cpu")
    assert model.arch.model_type == "gpt_neox"
    prompt = "When Oliver and Grace went to the park, Grace gave a book to"
    ids = model.tokenizer.encode_prompt(prompt)
    assert model.tokenizer.prepend_bos and ids[0] == tokenizer.bos_token_id == 0
    assert ids[1:] == tokenizer.encode(prompt, add_special_tokens=False)
    # the same vocabulary and merges (the loader may switch on BOS in the post-processor; interp adds it itself)
    loaded = json.loads(model.tokenizer.tokenizer.backend_tokenizer.to_str())
    assert loaded["model"] == json.loads(tokenizer.backend_tokenizer.to_str())["model"]


def test_coverage_agrees_with_the_ioi_task(documents):
    frequent = ["Mary", "John", "Linda"]  # IOI task names made frequent enough to be merged into one token
    tokenizer = train_tokenizer([*documents, *(f"Then {n} smiled." for n in frequent * 300)], VOCAB)
    found = coverage(tokenizer, documents)
    names = _read_lines(ioi_dir() / "names.txt")
    kept, _ = single_token_names(names, PromptTokenizer(tokenizer, prepend_bos=True))
    assert set(frequent) <= set(kept)
    assert found.ioi_names == (len(kept), len(names))
    assert found.the_is_one_token == (len(tokenizer.encode(" the")) == 1)
    story = load_story_names()
    assert found.story_names == (sum(len(tokenizer.encode(" " + n)) == 1 for n in story), len(story))
    assert found.factual_answers[1] == found.factual_answers[0] + len(found.multi_token_answers)
    assert tuple(map(sum, zip(*found.factual_by_relation.values()))) == found.factual_facts
    assert 1 < found.chars_per_token < 10
    assert "IOI task names" in coverage_table(tokenizer)
