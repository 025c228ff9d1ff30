"""``exact`` means every answer token is the argmax at its position, not just the first.

Tiny random models almost never predict an answer's first token, so a version of ``exact`` that
looks only at the first token (or only at the last) would pass every other test. Here the answers
are built so that the first token is the argmax and a later one is not, and the other way round:
once on hand-built logits, once end to end with answers made of the model's own greedy tokens.
"""

from __future__ import annotations

import pytest
import torch

from interp.scoring.evaluate import evaluate
from interp.scoring.metrics import answer_metrics
from interp.tasks.base import PromptSet


def _logits(argmaxes: list[list[int]], vocab: int = 6) -> torch.Tensor:
    """``[n, n_read, vocab]`` logits whose argmax at (i, j) is ``argmaxes[i][j]`` (a clear margin)."""
    n, n_read = len(argmaxes), len(argmaxes[0])
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(n, n_read, vocab, generator=gen)
    for i, row in enumerate(argmaxes):
        for j, top in enumerate(row):
            logits[i, j, top] = logits[i, j].max() + 2.0
    return logits


def test_exact_needs_every_answer_token_on_hand_built_logits():
    argmaxes = [[1, 2, 0], [1, 3, 0], [0, 2, 0], [4, 0, 0], [1, 2, 5], [1, 2, 3]]
    targets = torch.tensor([
        [1, 2, -1],  # both tokens argmax
        [1, 2, -1],  # first right, second wrong
        [1, 2, -1],  # first wrong, second right
        [4, -1, -1],  # one token, right; the padded positions are not read
        [1, 2, 3],  # the last of three wrong
        [1, 2, 3],  # all three right
    ])
    got = answer_metrics(_logits(argmaxes), targets)
    assert got["exact"].tolist() == [True, False, False, True, False, True]
    assert got["n_answer_tokens"].tolist() == [2, 2, 2, 1, 3, 3]
    logprobs = _logits(argmaxes).log_softmax(-1)
    for i, row in enumerate(targets.tolist()):
        expected = sum(float(logprobs[i, j, t]) for j, t in enumerate(row) if t >= 0)
        assert float(got["logp_answer_full"][i]) == pytest.approx(expected, abs=1e-5)


def _greedy(model, ids: list[int], n: int) -> list[int]:
    """The model's own next ``n`` greedy tokens after ``ids`` (one full forward per token)."""
    out: list[int] = []
    for _ in range(n):
        with torch.no_grad():
            logits = model.bridge(torch.tensor([ids + out]))[0, -1]
        out.append(int(logits.argmax()))
    return out


def _other(token: int, vocab: int) -> int:
    return (token + 1) % vocab


PROMPTS = (
    "When the morning came, the travellers went to",
    "A letter arrived from the capital; it said",
    "The city is located in",
)


def test_exact_end_to_end_with_answers_the_model_predicts(tiny_model):
    """Answers made of the model's greedy tokens are exact; changing any later token makes them not."""
    vocab = int(tiny_model.bridge.cfg.d_vocab)
    rows: list[tuple[str, tuple[int, ...], bool, bool]] = []  # (prompt, answer ids, exact, top1)
    for prompt in PROMPTS:
        ids = tiny_model.tokenizer.encode_prompt(prompt)
        g = _greedy(tiny_model, ids, 3)
        rows.append((prompt, (g[0],), True, True))
        rows.append((prompt, tuple(g), True, True))
        rows.append((prompt, (g[0], _other(g[1], vocab)), False, True))  # the first token alone would say exact
        rows.append((prompt, (g[0], g[1], _other(g[2], vocab)), False, True))
        wrong_first = _other(g[0], vocab)
        rest = _greedy(tiny_model, ids + [wrong_first], 1)
        rows.append((prompt, (wrong_first, rest[0]), False, False))  # the last token alone would say exact
    prompt_set = PromptSet(
        task="exact-check",
        prompts=tuple(r[0] for r in rows),
        answers=tuple(tiny_model.tokenizer.tokenizer.decode(list(r[1])) for r in rows),
        answer_ids=tuple(r[1][0] for r in rows),
        distractor_ids=tuple(() for _ in rows),
        answer_tokens=tuple(r[1] for r in rows),
    )
    for batch_size in (1, 4, len(rows)):  # answers of 1 to 3 tokens padded together
        frame = evaluate(tiny_model, prompt_set, batch_size=batch_size, progress=False)
        assert frame["exact"].tolist() == [r[2] for r in rows], batch_size
        assert frame["top1"].tolist() == [r[3] for r in rows], batch_size
        assert frame["n_answer_tokens"].tolist() == [len(r[1]) for r in rows]
