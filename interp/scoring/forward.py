"""Batched forward passes that unembed only the positions the metrics read.

Prompts are grouped into batches of similar length (less padding), right-padded with an
attention mask. A prompt whose answer is several tokens long is fed together with its answer
(teacher forcing: the answer's tokens but its last are appended), so one forward pass gives the
next-token distribution after the prompt and after each answer prefix. A hook on
``unembed.hook_in`` keeps only those *read positions* (the prompt's last position, then one per
further answer token), so the vocabulary projection costs a row per read position instead of
one per token.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.generate.greedy import plan_batches
from interp.models.loading import HookedModel, check_context


@dataclass(frozen=True)
class Batch:
    """Right-padded token ids of some prompts (with their answers' prefixes), and where to read.

    ``read_index[b, j]`` is the position whose next-token distribution predicts answer token j of
    row b (``read_index[:, 0] == last_index``, the prompt's last token); ``targets[b, j]`` is that
    answer token, -1 past the row's answer. Without answers (``targets`` None) only the prompt's
    last position is read.
    """

    indices: tuple[int, ...]  # positions of these prompts in the caller's list
    input_ids: Int[Tensor, "batch pos"]
    attention_mask: Int[Tensor, "batch pos"]
    last_index: Int[Tensor, " batch"]
    read_index: Int[Tensor, "batch n_read"] | None = None
    targets: Int[Tensor, "batch n_read"] | None = None

    def to(self, device: torch.device) -> Batch:
        move = [None if t is None else t.to(device) for t in (self.read_index, self.targets)]
        return Batch(self.indices, self.input_ids.to(device), self.attention_mask.to(device), self.last_index.to(device), *move)

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def positions(self) -> Int[Tensor, "batch n_read"]:
        """The read positions (the last prompt position alone when the batch carries no answers)."""
        return self.last_index[:, None] if self.read_index is None else self.read_index


def _build(model: HookedModel, indices: Sequence[int], prompts: Sequence[list[int]], answers: Sequence[list[int]] | None) -> Batch:
    """One batch of ``prompts`` (token ids) and, when given, their answers' token ids."""
    rows = list(prompts) if answers is None else [p + a[:-1] for p, a in zip(prompts, answers)]
    input_ids, mask, _ = model.tokenizer.pad_batch(rows)
    last = torch.tensor([len(p) - 1 for p in prompts], dtype=torch.long)
    if answers is None:
        return Batch(tuple(indices), input_ids, mask, last)
    width = max(len(a) for a in answers)
    read = last[:, None] + torch.arange(width)[None, :]
    targets = torch.full((len(rows), width), -1, dtype=torch.long)
    for row, answer in enumerate(answers):
        targets[row, : len(answer)] = torch.tensor(answer, dtype=torch.long)
    read = torch.where(targets >= 0, read, last[:, None])  # padding reads repeat the last prompt position
    return Batch(tuple(indices), input_ids, mask, last, read, targets)


def make_batches(
    model: HookedModel,
    prompts: Sequence[str],
    batch_size: int = 32,
    *,
    answers: Sequence[Sequence[int]] | None = None,
) -> list[Batch]:
    """Tokenize with the model's BOS policy; batch prompts of similar length together.

    With ``answers`` (token ids per prompt, at least one each) every prompt is fed with its
    answer's prefix and the batch reads one position per answer token (see :class:`Batch`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    encoded = [model.tokenizer.encode_prompt(p) for p in prompts]
    if answers is not None:
        answers = [list(a) for a in answers]
        if len(answers) != len(encoded) or any(not a for a in answers):
            raise ValueError("make_batches needs one non-empty answer per prompt")
    lengths = [len(e) + (0 if answers is None else len(answers[i]) - 1) for i, e in enumerate(encoded)]
    check_context(model, lengths, label=lambda i: f"the prompt {str(prompts[i])[:60]!r}... with its answer", fix="shorten the prompts over the limit")
    batches = []
    for idx in plan_batches(lengths, batch_size):
        picked = None if answers is None else [answers[i] for i in idx]
        batches.append(_build(model, idx, [encoded[i] for i in idx], picked).to(model.device))
    return batches


def with_answers(model: HookedModel, batches: Sequence[Batch], answers: Sequence[Sequence[int]]) -> list[Batch]:
    """``batches`` rebuilt (same prompts, same grouping) to carry ``answers``, for those holding a multi-token answer.

    Batches whose answers are all one token are returned as they are: their last prompt position
    is all the metrics read, so single-token prompts cost (and compute) exactly what they did.
    """
    out = []
    for batch in batches:
        picked = [list(answers[i]) for i in batch.indices]
        if batch.targets is not None or all(len(a) == 1 for a in picked):
            out.append(batch)
            continue
        lengths = (batch.last_index + 1).tolist()
        prompts = [batch.input_ids[row, :n].tolist() for row, n in enumerate(lengths)]
        out.append(_build(model, batch.indices, prompts, picked).to(model.device))
    return out


@contextmanager
def read_positions_only(model: HookedModel, positions: Int[Tensor, "batch n_read"]) -> Iterator[None]:
    """Within the block, the unembedding sees only the residual at ``positions`` (per row)."""
    rows = torch.arange(positions.shape[0], device=positions.device)[:, None]

    def keep(resid: Float[Tensor, "batch pos d_model"], hook) -> Float[Tensor, "batch n_read d_model"]:
        return resid[rows, positions]

    with model.bridge.hooks(fwd_hooks=[("unembed.hook_in", keep)]):
        yield


@contextmanager
def last_position_only(model: HookedModel, last_index: Int[Tensor, " batch"]) -> Iterator[None]:
    """Within the block, the unembedding sees only each prompt's last real position."""
    with read_positions_only(model, last_index[:, None]):
        yield


@torch.inference_mode()
def read_logits(model: HookedModel, batch: Batch) -> Float[Tensor, "batch n_read vocab"]:
    """Logits at the batch's read positions (a full forward pass): after the prompt, then after each answer prefix."""
    with read_positions_only(model, batch.positions):
        return model.bridge(batch.input_ids, attention_mask=batch.attention_mask)


def last_logits(model: HookedModel, batch: Batch) -> Float[Tensor, "batch vocab"]:
    """Next-token logits after each prompt of ``batch`` (a full forward pass)."""
    return read_logits(model, batch)[:, 0, :]
