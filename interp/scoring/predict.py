"""Top next-token predictions after one prompt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.models.loading import HookedModel
from interp.scoring.forward import last_logits, make_batches


@dataclass(frozen=True)
class Prediction:
    rank: int
    token: str
    token_id: int
    probability: float


def top_tokens(model: HookedModel, prompt: str, k: int = 10) -> list[Prediction]:
    """The ``k`` most likely next tokens after ``prompt`` (the model's BOS policy applied)."""
    (batch,) = make_batches(model, [prompt], batch_size=1)
    probs = last_logits(model, batch)[0].float().softmax(dim=-1)
    values, ids = probs.topk(min(k, probs.shape[-1]))
    return [
        Prediction(rank=i + 1, token=model.tokenizer.decode(int(t)), token_id=int(t), probability=float(v))
        for i, (v, t) in enumerate(zip(values.tolist(), ids.tolist()))
    ]


def top_tokens_edited(
    model: HookedModel, prompt: str, edits: Sequence[Edit | str], k: int = 10
) -> tuple[list[Prediction], list[Prediction]]:
    """The top ``k`` next tokens after ``prompt`` without and with ``edits`` (weight edits; ``mean`` needs a sweep's reference text)."""
    before = top_tokens(model, prompt, k)
    with apply_edits(model, edits):
        after = top_tokens(model, prompt, k)
    return before, after
