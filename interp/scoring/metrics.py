"""Per-prompt metrics from logits, one value per prompt.

Next-token metrics take logits ``[n, vocab]`` (the distribution after each prompt) and are about
the answer's *first* token, so they compare with P(" the"), also a next-token probability.
:func:`answer_metrics` takes the logits at every answer position ``[n, n_read, vocab]`` (teacher
forcing) and scores the whole answer. All return float/int/bool tensors ``[n]``; probabilities
come from a float32 softmax. ``docs/metrics.md`` says which column is which.
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

THE = " the"

#: Columns every task reports, in order; evaluation adds FUNCTION_COLUMNS, IOI adds IOI_COLUMNS.
METRIC_COLUMNS = ("p_answer", "p_the", "log_ratio", "rank", "top1", "logp_answer_full", "n_answer_tokens", "exact")
IOI_COLUMNS = ("p_s", "logit_diff")
#: Summed probability of a small set of function words (" the", " a", " his", ...; see prompts/function_words.json).
FUNCTION_COLUMNS = ("p_function",)


def answer_logprob(logprobs: Float[Tensor, "n vocab"], ids: Int[Tensor, " n"]) -> Float[Tensor, " n"]:
    return logprobs.gather(-1, ids[:, None]).squeeze(-1)


def rank_of(logits: Float[Tensor, "n vocab"], ids: Int[Tensor, " n"]) -> Int[Tensor, " n"]:
    """1-based rank of each id among its row's logits (1 = the model's top prediction)."""
    target = logits.gather(-1, ids[:, None])
    return (logits > target).sum(dim=-1) + 1


def top1(logits: Float[Tensor, "n vocab"], ids: Int[Tensor, " n"]) -> Bool[Tensor, " n"]:
    return logits.argmax(dim=-1) == ids


def function_mass(logprobs: Float[Tensor, "n vocab"], ids: Int[Tensor, " k"]) -> Float[Tensor, " n"]:
    """Summed probability of the token ids ``ids`` (0 for an empty set)."""
    if ids.numel() == 0:
        return torch.zeros(logprobs.shape[0], dtype=logprobs.dtype, device=logprobs.device)
    return logprobs[:, ids].exp().sum(dim=-1)


def next_token_metrics(
    logits: Float[Tensor, "n vocab"],
    answer_ids: Int[Tensor, " n"],
    the_id: int,
    s_ids: Int[Tensor, " n"] | None = None,
    function_ids: Int[Tensor, " k"] | None = None,
) -> dict[str, Tensor]:
    """P(answer), P(" the"), log P(answer) - log P(" the"), rank, top-1; with ``s_ids`` also P(S) and logit_diff.

    ``logit_diff`` is logit(IO) - logit(S), the IOI paper's metric (IO is the answer). With
    ``function_ids`` (distinct token ids) also ``p_function``, their summed probability.
    """
    logits = logits.float()
    answer_ids = answer_ids.to(logits.device)
    logprobs = logits.log_softmax(dim=-1)
    lp_answer = answer_logprob(logprobs, answer_ids)
    lp_the = logprobs[:, the_id]
    out: dict[str, Tensor] = {
        "p_answer": lp_answer.exp(),
        "p_the": lp_the.exp(),
        "log_ratio": lp_answer - lp_the,
        "rank": rank_of(logits, answer_ids),
        "top1": top1(logits, answer_ids),
    }
    if function_ids is not None:
        out["p_function"] = function_mass(logprobs, function_ids.to(logits.device))
    if s_ids is not None:
        s_ids = s_ids.to(logits.device)
        out["p_s"] = answer_logprob(logprobs, s_ids).exp()
        out["logit_diff"] = logits.gather(-1, answer_ids[:, None]).squeeze(-1) - logits.gather(-1, s_ids[:, None]).squeeze(-1)
    return out


def answer_metrics(
    logits: Float[Tensor, "n n_read vocab"], targets: Int[Tensor, "n n_read"]
) -> dict[str, Tensor]:
    """Teacher-forced metrics of whole answers: ``targets[i, j]`` is answer token j of prompt i (-1 past its end).

    ``logp_answer_full``: sum over the answer's tokens of log P(token | prompt, earlier answer tokens);
    ``n_answer_tokens``; ``exact``: every answer token is the argmax at its position (greedy decoding
    reproduces the answer).
    """
    logits = logits.float()
    targets = targets.to(logits.device)
    valid = targets >= 0
    safe = targets.clamp(min=0)
    logprobs = logits.log_softmax(dim=-1).gather(-1, safe[..., None]).squeeze(-1)
    hit = logits.argmax(dim=-1) == safe
    return {
        "logp_answer_full": torch.where(valid, logprobs, torch.zeros_like(logprobs)).sum(dim=-1),
        "n_answer_tokens": valid.sum(dim=-1),
        "exact": (hit | ~valid).all(dim=-1),
    }
