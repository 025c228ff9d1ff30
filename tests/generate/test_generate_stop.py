"""A row that finishes first leaves the batch: its generation equals the unbatched one, nothing is
appended after its end-of-sequence token or stop string, and the rows still running are unchanged.

The stop token and stop string are picked from the model's own free-running generations so that
one row finishes after a few tokens while the others run to the length limit.
"""

from __future__ import annotations

import pytest

import interp.generate.greedy as greedy
from interp.generate import GenerateConfig, Generator

QUESTIONS = (
    "Tom has 3 apples and buys 4 more. How many apples does he have?",
    "A box holds 12 pens. How many pens are in 2 boxes?",
    "The king had 5 horses and bought 10 more, then sold 3.",
    "How many is 2 and 2?",
)
MAX_NEW = 12


def _prompts(model):
    prefix = model.tokenizer.encode_prompt("Q:")
    suffixes = [model.tokenizer.tokenizer.encode(" " + q + "\nA:", add_special_tokens=False) for q in QUESTIONS]
    return prefix, suffixes


def _run(model, prefix, suffixes, *, batch_size, reuse=True, stop=()):
    generator = Generator(model, prefix, GenerateConfig(max_new_tokens=MAX_NEW, batch_size=batch_size, stop=stop, reuse_prefix=reuse))
    out = []
    for start in range(0, len(suffixes), batch_size):
        out.extend(generator.run_batch(suffixes[start : start + batch_size]).generations)
    return out


def _free(model, prefix, suffixes):
    free = _run(model, prefix, suffixes, batch_size=1, reuse=False)
    assert all(g.finish == "length" for g in free), "a row ended early on its own; pick other questions"
    return [list(g.token_ids) for g in free]


def _early_token(free: list[list[int]]) -> tuple[int, int, int]:
    """(row, k, token): ``free[row][k]`` is its first occurrence in that row, absent from every other row."""
    for row, tokens in enumerate(free):
        others = {t for r, ts in enumerate(free) if r != row for t in ts}
        for k in range(1, MAX_NEW // 2):
            if tokens[k] not in tokens[:k] and tokens[k] not in others:
                return row, k, tokens[k]
    raise AssertionError("no token ends one row early and no other: the tiny model's generations are too alike")


@pytest.fixture
def batch_sizes(monkeypatch):
    """The batch size of every forward the generator runs."""
    seen: list[int] = []
    real = greedy.forward_step

    def recording(model, input_ids, *args, **kwargs):
        seen.append(int(input_ids.shape[0]))
        return real(model, input_ids, *args, **kwargs)

    monkeypatch.setattr(greedy, "forward_step", recording)
    return seen


def test_a_row_ending_on_eos_leaves_the_batch(long_tiny, batch_sizes):
    prefix, suffixes = _prompts(long_tiny)
    free = _free(long_tiny, prefix, suffixes)
    row, k, token = _early_token(free)
    config = long_tiny.raw_model.generation_config
    before = config.eos_token_id
    config.eos_token_id = token  # the model's generation config names an end-of-sequence id: honoured like the tokenizer's
    try:
        alone = _run(long_tiny, prefix, suffixes, batch_size=1, reuse=False)
        batch_sizes.clear()
        for reuse in (True, False):
            together = _run(long_tiny, prefix, suffixes, batch_size=len(suffixes), reuse=reuse)
            assert [g.token_ids for g in together] == [g.token_ids for g in alone], reuse
            assert [(g.text, g.finish) for g in together] == [(g.text, g.finish) for g in alone], reuse
    finally:
        config.eos_token_id = before
    assert alone[row].finish == "eos" and list(alone[row].token_ids) == free[row][: k + 1]  # nothing after the EOS
    assert alone[row].text == long_tiny.tokenizer.tokenizer.decode(free[row][:k])
    for other in set(range(len(suffixes))) - {row}:
        assert alone[other].finish == "length" and list(alone[other].token_ids) == free[other]
    # the batch runs with every row for k steps, then without the finished one
    n = len(suffixes)
    expected = [n] * (k + 1) + [n - 1] * (MAX_NEW - 1 - k)
    assert batch_sizes[: len(expected)] == expected


def test_a_row_hitting_a_stop_string_leaves_the_batch(long_tiny, batch_sizes):
    prefix, suffixes = _prompts(long_tiny)
    free = _free(long_tiny, prefix, suffixes)
    decode = long_tiny.tokenizer.tokenizer.decode
    texts = [decode(ts) for ts in free]
    stop = None
    for row, tokens in enumerate(free):  # a stop string found early in one row's text and in no other's
        for k in range(1, MAX_NEW // 2):
            piece = decode(tokens[k : k + 1])
            if piece.strip() and piece not in decode(tokens[:k]) and not any(piece in t for r, t in enumerate(texts) if r != row):
                stop = (row, piece)
                break
        if stop:
            break
    assert stop is not None, "no stop string ends one row early and no other"
    row, piece = stop
    alone = _run(long_tiny, prefix, suffixes, batch_size=1, reuse=False, stop=(piece,))
    batch_sizes.clear()
    together = _run(long_tiny, prefix, suffixes, batch_size=len(suffixes), reuse=True, stop=(piece,))
    assert [g.token_ids for g in together] == [g.token_ids for g in alone]
    assert [(g.text, g.finish) for g in together] == [(g.text, g.finish) for g in alone]
    stopped = together[row]
    assert stopped.finish == "stop"
    assert piece in decode(list(stopped.token_ids)) and piece not in decode(list(stopped.token_ids[:-1]))  # nothing after the stop
    assert list(stopped.token_ids) == free[row][: stopped.n_tokens]
    assert stopped.text == decode(list(stopped.token_ids)).split(piece)[0]
    for other in set(range(len(suffixes))) - {row}:
        assert together[other].finish == "length" and list(together[other].token_ids) == free[other]
    assert batch_sizes[-1] == len(suffixes) - 1  # the last steps ran without the stopped row
