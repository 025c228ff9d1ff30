"""Next-token metrics from last-position logits, one value per prompt.

All functions take logits ``[n, vocab]`` (the next-token distribution after each prompt)
and return float/int/bool tensors ``[n]``. Probabilities come from a float32 softmax.
"""

from __future__ import annotations

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

THE = " the"

#: Columns every task reports, in order; evaluation adds FUNCTION_COLUMNS, IOI adds IOI_COLUMNS.
METRIC_COLUMNS = ("p_answer", "p_the", "log_ratio", "rank", "top1")
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
