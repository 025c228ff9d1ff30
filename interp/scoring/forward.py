"""Batched forward passes that return only what next-token metrics need.

Prompts are grouped into batches of similar length (less padding), right-padded with an
attention mask, and only the last real position of each prompt is unembedded: a hook on
``unembed.hook_in`` keeps that one position, so the vocabulary projection costs one row per
prompt instead of one per token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.models.loading import HookedModel


@dataclass(frozen=True)
class Batch:
    """Right-padded token ids of some prompts, and where each prompt's last token sits."""

    indices: tuple[int, ...]  # positions of these prompts in the caller's list
    input_ids: Int[Tensor, "batch pos"]
    attention_mask: Int[Tensor, "batch pos"]
    last_index: Int[Tensor, " batch"]

    def to(self, device: torch.device) -> "Batch":
        return Batch(self.indices, self.input_ids.to(device), self.attention_mask.to(device), self.last_index.to(device))

    def __len__(self) -> int:
        return len(self.indices)


def make_batches(model: HookedModel, prompts: Sequence[str], batch_size: int = 32) -> list[Batch]:
    """Tokenize with the model's BOS policy; batch prompts of similar length together."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    encoded = [model.tokenizer.encode_prompt(p) for p in prompts]
    order = sorted(range(len(encoded)), key=lambda i: (len(encoded[i]), i))
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        input_ids, mask, last = model.tokenizer.pad_batch([encoded[i] for i in idx])
        batches.append(Batch(tuple(idx), input_ids, mask, last).to(model.device))
    return batches


@contextmanager
def last_position_only(model: HookedModel, last_index: Int[Tensor, " batch"]) -> Iterator[None]:
    """Within the block, the unembedding sees only each prompt's last real position."""
    rows = torch.arange(last_index.shape[0], device=last_index.device)

    def keep_last(resid: Float[Tensor, "batch pos d_model"], hook) -> Float[Tensor, "batch 1 d_model"]:
        return resid[rows, last_index][:, None, :]

    with model.bridge.hooks(fwd_hooks=[("unembed.hook_in", keep_last)]):
        yield


@torch.inference_mode()
def last_logits(model: HookedModel, batch: Batch) -> Float[Tensor, "batch vocab"]:
    """Next-token logits after each prompt of ``batch`` (a full forward pass)."""
    with last_position_only(model, batch.last_index):
        logits = model.bridge(batch.input_ids, attention_mask=batch.attention_mask)
    return logits[:, 0, :]
