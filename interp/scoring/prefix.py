"""Score prompts that share a long prefix (few-shot exemplars) with the prefix run once.

When every prompt of a prompt set starts with the same ``P`` tokens (GSM8K's eight worked
exemplars are ~730 of a readout prompt's ~900), a full forward pass per batch recomputes them
for every row. :class:`SharedPrefixLogits` runs the prefix once (batch 1) under the model's
current weights and hooks, keeps its keys and values (:class:`interp.generate.cache.PrefixCache`,
the same cache generation reuses) and then runs only each row's rest: the prompt after the
prefix and the answer's teacher-forced tokens. Batches are right-padded, so every row's prefix
sits at positions ``0..P-1`` and its rest at ``P..``: the one cache serves every row without
shifting, and position ids are those of the full forward.

The read positions (after the prompt, after each answer prefix) lie in the rest, so the logits
are those of :func:`interp.scoring.forward.read_logits`; a parity test checks them to float
rounding, with and without edits (hooks included: a ``mean`` edit runs the bridge's tree,
:mod:`interp.generate.backend`).

A :class:`SharedPrefixLogits` belongs to one model state (it computes the prefix the first time
it is called): make a new one per edit, as :func:`interp.scoring.evaluate.collect_metrics` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float
from torch import Tensor

from interp.generate.backend import cache_kwarg, generation_forward
from interp.generate.cache import PrefixCache, split_common_prefix
from interp.models.loading import HookedModel
from interp.scoring.forward import Batch

#: below this many shared tokens a plain forward pass is as cheap (the prefix is not worth a second code path)
MIN_SHARED_PREFIX = 64


def shared_prefix_length(batches: Sequence[Batch]) -> int:
    """The number of leading prompt tokens every row of ``batches`` shares (each row keeps at least its last prompt token)."""
    rows = [batch.input_ids[row, : int(last) + 1].tolist() for batch in batches for row, last in enumerate(batch.last_index)]
    if not rows:
        return 0
    prefix, _ = split_common_prefix(rows)
    return len(prefix)


def prefix_worth_sharing(model: HookedModel, batches: Sequence[Batch]) -> int:
    """The shared prefix length of ``batches`` when it is worth running once (at least
    :data:`MIN_SHARED_PREFIX` tokens, on a Hugging Face model: toy models take no key/value
    cache), else 0."""
    if model.is_toy:
        return 0
    length = shared_prefix_length(batches)
    return length if length >= MIN_SHARED_PREFIX else 0


class SharedPrefixLogits:
    """A ``logits_fn`` (see :data:`interp.scoring.evaluate.LogitsFn`) for batches sharing their first ``prefix_length`` tokens."""

    def __init__(self, prefix_length: int) -> None:
        if prefix_length < 1:
            raise ValueError(f"prefix_length must be >= 1, got {prefix_length}")
        self.prefix_length = prefix_length
        self._cache: PrefixCache | None = None

    @torch.inference_mode()
    def __call__(self, model: HookedModel, batch: Batch) -> Float[Tensor, "batch n_read vocab"]:
        P = self.prefix_length
        if int(batch.last_index.min()) < P:
            raise ValueError(f"a prompt of this batch ends inside the shared prefix of {P} tokens")
        with generation_forward(model):
            if self._cache is None:
                self._cache = PrefixCache.compute(model, batch.input_ids[0, :P].tolist())
            elif not torch.equal(batch.input_ids[0, :P].cpu(), torch.tensor(self._cache.ids)):
                raise ValueError("this batch does not start with the shared prefix the cache holds")
            n_rows, width = batch.input_ids.shape
            read = batch.positions - P  # [batch, n_read], positions within the rest
            keep = torch.unique(read)  # sorted: the only positions unembedded
            out = model.raw_model(
                input_ids=batch.input_ids[:, P:],
                attention_mask=batch.attention_mask,
                position_ids=torch.arange(P, width, device=batch.input_ids.device).expand(n_rows, -1),
                use_cache=True,
                logits_to_keep=keep,
                **{cache_kwarg(model): self._cache.for_batch([0] * n_rows)},
            )
        rows = torch.arange(n_rows, device=read.device)[:, None]
        return out.logits[rows, torch.searchsorted(keep, read)]

