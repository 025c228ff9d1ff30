"""GSM8K data: answer extraction, gold parsing, loading and checking files, exemplars and prompts."""

from __future__ import annotations

import json
import logging

import pytest

from interp.errors import UsageError
from interp.paths import shared_data_dir
from interp.tasks import gsm8k_readout as gsm


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"question": "Tom has 3 apples and buys 4 more. How many?", "answer": "3 + 4 = <<3+4=7>>7 apples.\nSo 7.\n#### 7"},
    {"question": "Ann had $1,500 and spent $500. How much is left?", "answer": "1500 - 500 = <<1500-500=1000>>1000\n#### 1,000"},
    {"question": "What is half of 1?", "answer": "1 / 2 = <<1/2=0.5>>0.5\n#### 0.50"},
]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("She has 1,234 apples. The answer is 1,234.", "1234"),  # thousands separators
        ("The answer is $18.00.", "18"),  # dollars, trailing zeros
        ("So she makes $18 every day.", "18"),
        ("The answer is -5.", "-5"),  # negative
        ("The temperature fell to -12 degrees", "-12"),
        ("The answer is 0.50.", "0.5"),  # decimals
        ("He pays .5 dollars", "0.5"),
        ("The answer is 2.5 hours.", "2.5"),
        ("I do not know.", None),  # none
        ("", None),
        ("3 + 4 = 7 and 7 * 2 = 14", "14"),  # several numbers: the last
        ("The answer is 12. Then 99 more.", "12"),  # the first "The answer is" wins over a later number
        ("The answer is 5. The answer is 6.", "5"),
        ("The answer is unclear, so 4 it is", "4"),  # the phrase without a number: last number
        ("from 3-4 weeks", "4"),  # a dash is not a minus
        ("He had 1,000,000 dollars", "1000000"),
        ("Lists like 5,6 and 7", "7"),  # not thousands separators
        ("x2 y3", None),  # digits glued to letters are not numbers
        ("It costs -$3", "-3"),
        ("The answer is 1,234.50.", "1234.5"),
        ("The answer is 007.", "7"),
        ("The answer is -0.", "0"),
    ],
)
def test_extract_answer(text, expected):
    assert gsm.extract_answer(text) == expected


@pytest.mark.parametrize("text, expected", [("1,234", "1234"), ("$18.00", "18"), ("0.50", "0.5"), ("-5", "-5"), ("100", "100"), ("abc", None)])
def test_normalize_number(text, expected):
    assert gsm.normalize_number(text) == expected


def test_parse_gold_normalises_and_keeps_the_solution():
    solution, gold = gsm.parse_gold("a = <<1+1=2>>2\nb\n#### 1,000")
    assert gold == "1000"
    assert solution == "a = <<1+1=2>>2\nb"
    with pytest.raises(ValueError, match="####"):
        gsm.parse_gold("no final line")
    with pytest.raises(ValueError, match="not a number"):
        gsm.parse_gold("x\n#### many")


def test_rationale_drops_calculator_annotations_and_joins_lines():
    problem = gsm.Problem(0, "q", "Natalia sold 48/2 = <<48/2=24>>24 clips.\nThen 48+24 = <<48+24=72>>72.", "72")
    assert problem.rationale == "Natalia sold 48/2 = 24 clips. Then 48+24 = 72."
    exemplar = gsm.train_exemplar(problem)
    assert exemplar.text == "Q: q\nA: Natalia sold 48/2 = 24 clips. Then 48+24 = 72. The answer is 72."


def test_load_split_from_jsonl(tmp_path):
    path = _write(tmp_path / "test.jsonl", ROWS)
    problems = gsm.load_split(path, "test")
    assert [p.id for p in problems] == [0, 1, 2]
    assert [p.gold for p in problems] == ["7", "1000", "0.5"]
    assert problems[1].question == ROWS[1]["question"]
    assert problems[0].solution == "3 + 4 = <<3+4=7>>7 apples.\nSo 7."


@pytest.mark.parametrize(
    "bad_line, needle",
    [
        ("{not json", "invalid JSON"),
        (json.dumps({"question": "q?"}), "not a GSM8K record"),
        (json.dumps({"question": "q?", "answer": "no final answer"}), "####"),
        (json.dumps({"question": "q?", "answer": "x\n#### lots"}), "not a number"),
        (json.dumps(["a", "list"]), "expected a JSON object"),
    ],
)
def test_a_file_that_is_not_gsm8k_names_the_line(tmp_path, bad_line, needle):
    path = _write(tmp_path / "bad.jsonl", [ROWS[0], ROWS[1], bad_line])
    with pytest.raises(UsageError) as err:
        gsm.load_split(path, "test")
    message = str(err.value)
    assert f"{path}:3" in message and needle in message
    assert "\n" not in message


def test_missing_file_and_unavailable_hub_say_how_to_pass_data(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="--data"):
        gsm.load_split(tmp_path / "nope.jsonl", "test")

    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(UsageError) as err:
        gsm.load_split(None, "test")
    assert "openai/gsm8k" in str(err.value) and "--data" in str(err.value)


def test_wei_exemplars_are_the_published_eight_in_harness_format():
    exemplars = gsm.wei_exemplars()
    assert len(exemplars) == gsm.MAX_SHOTS
    assert exemplars[0].text == (
        "Q: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they are done, "
        "there will be 21 trees. How many trees did the grove workers plant today?\n"
        "A: There are 15 trees originally. Then there were 21 trees after some more were planted. "
        "So there must have been 21 - 15 = 6. The answer is 6."
    )
    assert [e.answer for e in exemplars] == ["6", "5", "39", "8", "9", "29", "33", "8"]
    prompt = gsm.FewShotPrompt(tuple(exemplars[:2]))
    text = prompt.prompt("How many?")
    assert text.endswith("The answer is 5.\n\nQ: How many?\nA:")
    assert text.count("Q: ") == 3
    assert gsm.FewShotPrompt(()).prompt("How many?") == "Q: How many?\nA:"


def test_wei_skips_an_exemplar_equal_to_a_question():
    first = gsm.wei_exemplars()[0].question
    chosen = gsm.choose_exemplars("wei", 3, ["  " + first.upper() + " "])
    assert first not in [e.question for e in chosen]
    assert len(chosen) == 3
    with pytest.raises(UsageError, match="--n-shot 7"):
        gsm.choose_exemplars("wei", 8, [first])


def _train(n: int) -> list[gsm.Problem]:
    return [gsm.Problem(i, f"Question number {i}?", f"{i} + 1 = <<{i}+1={i + 1}>>{i + 1}", str(i + 1)) for i in range(n)]


def test_train_exemplars_are_deterministic_under_a_seed():
    train = _train(50)
    a = gsm.choose_exemplars("train", 4, [], seed=3, train=train)
    b = gsm.choose_exemplars("train", 4, [], seed=3, train=train)
    c = gsm.choose_exemplars("train", 4, [], seed=4, train=train)
    assert a == b
    assert a != c
    assert len({e.question for e in a}) == 4
    assert all("<<" not in e.text and e.text.endswith(f"The answer is {e.answer}.") for e in a)
    assert gsm.FewShotPrompt(a).prefix == gsm.FewShotPrompt(b).prefix


def test_train_exemplars_never_include_an_evaluated_question():
    train = _train(5)
    questions = [train[1].question, train[3].question.lower()]
    for seed in range(10):
        chosen = gsm.choose_exemplars("train", 3, questions, seed=seed, train=train)
        assert {e.question for e in chosen} == {train[0].question, train[2].question, train[4].question}
    with pytest.raises(UsageError, match="differ from the evaluated questions"):
        gsm.choose_exemplars("train", 4, questions, seed=0, train=train)


def test_bad_shot_counts():
    with pytest.raises(UsageError, match="larger than the train split"):
        gsm.choose_exemplars("train", 6, [], train=_train(5))
    with pytest.raises(UsageError, match=">= 0"):
        gsm.choose_exemplars("wei", -1, [])
    with pytest.raises(UsageError, match="at most 8"):
        gsm.choose_exemplars("wei", 9, [])


SHARED = shared_data_dir() / "gsm8k"


@pytest.mark.skipif(not (SHARED / "test.jsonl").is_file(), reason=f"GSM8K not found in {SHARED} (the team's shared data)")
def test_shared_gsm8k_loads_and_train_exemplars_never_leak_test_questions():
    test = gsm.load_split(SHARED / "test.jsonl", "test")
    train = gsm.load_split(SHARED / "train.jsonl", "train")
    assert len(test) == 1319 and len(train) == 7473
    assert all(gsm.normalize_number(p.gold) == p.gold for p in test)
    questions = [p.question for p in test]
    test_keys = {" ".join(q.lower().split()) for q in questions}
    for seed in range(3):
        chosen = gsm.choose_exemplars("train", 8, questions, seed=seed, train=train)
        assert not test_keys & {" ".join(e.question.lower().split()) for e in chosen}
    assert not test_keys & {" ".join(e.question.lower().split()) for e in gsm.wei_exemplars()}


def test_readout_with_more_problems_than_the_file_says_how_many_it_gives(prompt_tokenizer, tmp_path, caplog):
    from interp.tasks import build_task

    path = _write(tmp_path / "test.jsonl", ROWS)
    with caplog.at_level(logging.WARNING, logger="interp"):
        readout = build_task(f"gsm8k:{path}", prompt_tokenizer, n=500)
    assert len(readout) == 3
    assert any(m.startswith(f"gsm8k:{path}: 500 prompts asked for, but the test split has 3 problems; using 3") for m in caplog.messages)
