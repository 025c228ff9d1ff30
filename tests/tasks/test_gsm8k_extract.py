"""``extract_answer`` reads the number after "The answer is" (else the last number), never simply
the first number of the text: a chain-of-thought generation states its intermediate numbers
before its answer, so a reader of the first number scores the question's own numbers.
"""

from __future__ import annotations

import pytest

from interp.tasks.gsm8k_readout import extract_answer, normalize_number

# Every text has other numbers before the answer, so "the first number" reads something else.
CASES = [
    ("Tom has 3 apples and buys 4 more, so 3 + 4 = 7. The answer is 7.", "7"),
    ("She earns $12 an hour for 5 hours: 12 * 5 = 60. The answer is $60.", "60"),
    ("2 boxes of 12 pens hold 24 pens. The answer is 24.\n\nQ: A farmer has 17 cows", "24"),  # a number after it
    ("Half of 9 is 4.5, so The answer is 4.5 hours. Then 100 more.", "4.5"),
    ("From 1,200 we take 200 and get 1,000", "1000"),  # no phrase: the last number
    ("It was 3 then 8 then -2", "-2"),
    ("The king had 5 horses and bought 10 more, then sold 3. The answer is unclear; maybe 12", "12"),  # phrase, no number after it
    ("We have 6 and 7. The answer is 13. The answer is 14.", "13"),  # the first phrase wins
]


@pytest.mark.parametrize("text, expected", CASES)
def test_the_answer_is_not_the_first_number(text, expected):
    assert extract_answer(text) == expected


def test_each_case_has_another_number_first():
    """The cases are worth something: the first number of each text differs from its answer."""
    from interp.tasks.gsm8k_readout import _NUMBER

    for text, expected in CASES:
        sign, body = _NUMBER.findall(text)[0]
        assert normalize_number((sign or "") + body) != expected, text


@pytest.mark.parametrize(
    "text, expected",
    [("12", "12"), ("1,234,567", "1234567"), ("$0.50", "0.5"), ("10.", "10"), ("-0.0", "0"), ("3.140", "3.14"),
     ("1e3", "1000"), ("nan", None), ("inf", None), ("", None), ("100", "100"), ("-7", "-7")],
)
def test_normalize_number_edges(text, expected):
    assert normalize_number(text) == expected
