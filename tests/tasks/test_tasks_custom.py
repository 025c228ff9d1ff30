"""prompts:FILE: the user's jsonl, its skips, and a one-line error per malformed line."""

from __future__ import annotations

import json
import logging

import pytest

from interp.errors import UsageError
from interp.tasks import build_task

GOOD = [
    '{"prompt": "Madrid is located in", "answer": " Spain", "distractors": [" the", " Qzxwvyk"]}',
    "",
    '{"prompt": "Paris is located in", "answer": " France"}',
    '{"prompt": "Zqx is located in", "answer": " Qzxwvyk", "distractors": [" the"]}',
    '{"prompt": "Rome is located in", "answer": " Italy", "distractors": []}',
]


def _write(tmp_path, lines):
    path = tmp_path / "mine.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_happy_path(prompt_tokenizer, tmp_path):
    tok = prompt_tokenizer
    assert tok.single_token_id(" Qzxwvyk") is None
    path = _write(tmp_path, GOOD)
    got = build_task(f"prompts:{path}", tok)
    assert got.task == f"prompts:{path}"
    assert got.prompts == ("Madrid is located in", "Paris is located in", "Zqx is located in", "Rome is located in")
    qz = tuple(tok.tokenizer.encode(" Qzxwvyk", add_special_tokens=False))
    assert got.answer_ids == (*(tok.single_token_id(a) for a in (" Spain", " France")), qz[0], tok.single_token_id(" Italy"))
    assert got.answer_sequences[2] == qz  # the multi-token answer is kept, all its tokens
    the = tok.single_token_id(" the")
    assert got.distractor_sequences == (((the,), qz), (), ((the,),), ())
    assert got.distractor_ids == ((the, qz[0]), (), (the,), ())
    assert got.columns == {"line": (1, 3, 4, 5)}  # blank line 2 skipped, numbering kept
    assert got.skipped == {} and got.n_skipped == 0


def test_subset_and_example_file(prompt_tokenizer):
    full = build_task("prompts:examples/capitals.jsonl", prompt_tokenizer)  # resolved under prompts/
    assert len(full) >= 1
    part = build_task("prompts:examples/capitals.jsonl", prompt_tokenizer, n=1, seed=0)
    assert len(part) == 1 and part.prompts[0] in full.prompts


@pytest.mark.parametrize(
    "bad_line, message",
    [
        ('{"prompt": "Madrid is located in", "answer": " Spain"', "invalid JSON"),
        ('["Madrid is located in", " Spain"]', "expected a JSON object"),
        ('{"answer": " Spain"}', 'missing "prompt"'),
        ('{"prompt": "Madrid is located in"}', 'missing "answer"'),
        ('{"prompt": "Madrid is located in", "answer": 3}', '"answer" must be a string'),
        ('{"prompt": 7, "answer": " Spain"}', '"prompt" must be a string'),
        ('{"prompt": "Madrid is located in", "answer": ""}', '"answer" is empty'),
        ('{"prompt": "Madrid is located in", "answer": " Spain", "distractors": " the"}', '"distractors" must be a list'),
        ('{"prompt": "Madrid is located in", "answers": " Spain"}', "unknown key"),
    ],
)
def test_malformed_line_names_file_and_line(prompt_tokenizer, tmp_path, bad_line, message):
    path = _write(tmp_path, [GOOD[0], GOOD[2], bad_line])
    with pytest.raises(UsageError, match=message) as err:
        build_task(f"prompts:{path}", prompt_tokenizer)
    assert str(err.value).startswith(f"{path}:3:")
    assert "\n" not in str(err.value)


def test_missing_and_empty_files(prompt_tokenizer, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        build_task(f"prompts:{tmp_path / 'nope.jsonl'}", prompt_tokenizer)
    with pytest.raises(UsageError, match="is a directory"):
        build_task(f"prompts:{tmp_path}", prompt_tokenizer)
    with pytest.raises(UsageError, match="has no prompts"):
        build_task(f"prompts:{_write(tmp_path, [''])}", prompt_tokenizer)
    with pytest.raises(UsageError, match="needs a file name"):
        build_task("prompts:", prompt_tokenizer)


def test_answers_too_long_are_an_error(prompt_tokenizer, tmp_path):
    long = " " + " ".join(["word"] * 40)
    path = _write(tmp_path, ['{"prompt": "Zqx is located in", "answer": " Qzxwvyk"}', json.dumps({"prompt": "A", "answer": long})])
    with pytest.raises(UsageError, match=r"mine.jsonl:2: .* answers are scored up to 32 tokens"):
        build_task(f"prompts:{path}", prompt_tokenizer)


def test_answer_without_leading_space_warns_once(prompt_tokenizer, tmp_path, caplog):
    path = _write(tmp_path, ['{"prompt": "Madrid is located in", "answer": "Spain"}', '{"prompt": "Rome is in", "answer": "Italy"}'])
    with caplog.at_level("WARNING"):
        got = build_task(f"prompts:{path}", prompt_tokenizer)
    assert len(got) == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "2 line(s) have an answer that does not start with a space" in warnings[0]
    assert "(first: line 1)" in warnings[0]


def test_prompt_ending_in_a_space_warns_and_goes_on(prompt_tokenizer, tmp_path, caplog):
    path = _write(tmp_path, ['{"prompt": "Rome is in", "answer": " Italy"}', '{"prompt": "Madrid is located in ", "answer": "Spain"}'])
    with caplog.at_level("WARNING"):
        got = build_task(f"prompts:{path}", prompt_tokenizer)
    assert got.prompts[1] == "Madrid is located in " and got.answers[1] == "Spain"
    assert any("1 line(s)" in r.getMessage() and "line 2" in r.getMessage() for r in caplog.records)


def test_unknown_task(prompt_tokenizer):
    with pytest.raises(UsageError, match=r"unknown task 'iio'; choose from ioi, factual, prompts:FILE"):
        build_task("iio", prompt_tokenizer)


def test_more_prompts_than_lines_says_how_many_it_gives(prompt_tokenizer, tmp_path, caplog):
    path = _write(tmp_path, GOOD)
    with caplog.at_level(logging.WARNING, logger="interp"):
        prompts = build_task(f"prompts:{path}", prompt_tokenizer, n=1000)
    assert len(prompts) == 4
    assert f"{path}: 1000 prompts asked for, but the file has 4 prompts; using 4" in caplog.messages
