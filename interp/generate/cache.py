"""The key/value cache of a prompt prefix shared by every sequence of a run, computed once.

``PrefixCache.compute(model, ids)`` runs the prefix once (batch 1) and keeps every layer's keys
and values. ``for_batch(pads)`` lays them out for a left-padded batch: row ``i`` of the batch is
``[pad] * pads[i] + prefix + suffix_i``, so its first ``P`` columns are ``pads[i]`` pad slots
(zeros, masked out) and then the prefix shifted right by ``pads[i]``. Keys and values of a
prefix token depend only on the tokens before it and on its position id, which is the same
with and without left padding (positions come from the attention mask), so the shifted copy
is exactly what a fresh forward of the padded batch would compute. Padding sits in front of
the prefix as in ordinary left-padded generation, never between prefix and question, so a
sliding-window layer (Gemma 3) sees the same tokens as in an unpadded run.

The caches are plain ``transformers.DynamicCache`` objects with full-length layers (no config
is passed, so sliding-window layers keep every position; their attention masks still apply the
window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from transformers import DynamicCache

from interp.generate.backend import cache_kwarg
from interp.models.loading import HookedModel


def forward_step(
    model: HookedModel,
    input_ids: Tensor,
    attention_mask: Tensor,
    position_ids: Tensor,
    cache: DynamicCache,
) -> Float[Tensor, "batch vocab"]:
    """Run new tokens ``[batch, new]`` through the model, extending ``cache`` in place; the
    logits after each row's last token.

    Call it inside :func:`interp.generate.backend.generation_forward`, which decides whether
    ``model.raw_model`` is the plain Hugging Face tree or the bridge's.
    """
    out = model.raw_model(
        input_ids=input_ids,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=True,
        logits_to_keep=1,
        **{cache_kwarg(model): cache},
    )
    return out.logits[:, -1, :].float()


def split_common_prefix(sequences: Sequence[Sequence[int]]) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """(the longest token prefix shared by every sequence, each sequence's rest), leaving every
    rest at least one token long.

    Tokenize each whole prompt, then split: the shared part is then exactly what the tokenizer
    makes of the prompt (tokenizing a text prefix on its own can merge differently at the
    boundary, e.g. a trailing blank line as one token where the whole text has two).
    """
    if not sequences:
        raise ValueError("split_common_prefix needs at least one sequence")
    first = sequences[0]
    limit = min(len(s) for s in sequences) - 1
    length = 0
    while length < limit and all(s[length] == first[length] for s in sequences):
        length += 1
    prefix = tuple(int(t) for t in first[:length])
    return prefix, tuple(tuple(int(t) for t in s[length:]) for s in sequences)


def positions_from_mask(attention_mask: Tensor) -> Tensor:
    """Position ids of a left-padded batch: 0, 1, ... over the real tokens (pads get 1, as in HF)."""
    positions = attention_mask.long().cumsum(-1) - 1
    return positions.masked_fill(attention_mask == 0, 1)


@dataclass(frozen=True)
class PrefixCache:
    """Per-layer keys and values ``[1, heads, P, head_dim]`` of a prefix of ``P`` tokens."""

    ids: tuple[int, ...]
    keys: tuple[Tensor, ...]
    values: tuple[Tensor, ...]

    @property
    def length(self) -> int:
        return len(self.ids)

    @classmethod
    @torch.inference_mode()
    def compute(cls, model: HookedModel, ids: Sequence[int]) -> PrefixCache:
        """One forward pass of the prefix (with whatever edits are active on ``model`` now),
        run inside :func:`interp.generate.backend.generation_forward`."""
        if not ids:
            raise ValueError("a prefix cache needs at least one token")
        input_ids = torch.tensor([list(ids)], dtype=torch.long, device=model.device)
        mask = torch.ones_like(input_ids)
        cache = DynamicCache()
        forward_step(model, input_ids, mask, positions_from_mask(mask), cache)
        keys, values = [], []
        for layer in cache.layers:
            if layer.keys is None or layer.keys.shape[-2] != len(ids):
                raise RuntimeError(
                    f"the model's cache layer {type(layer).__name__} does not hold all {len(ids)} prefix positions; "
                    "prefix reuse needs full key/value layers"
                )
            keys.append(layer.keys)
            values.append(layer.values)
        return cls(tuple(int(i) for i in ids), tuple(keys), tuple(values))

    def for_batch(self, pads: Sequence[int]) -> DynamicCache:
        """A fresh cache for a batch whose row ``i`` starts with ``pads[i]`` pad tokens (see the module doc)."""
        device = self.keys[0].device
        P = self.length
        pad = torch.as_tensor(list(pads), dtype=torch.long, device=device)[:, None]  # [batch, 1]
        column = torch.arange(P, device=device)[None, :]  # [1, P]
        source = (column - pad).clamp(min=0)  # [batch, P]: prefix position shown in each column
        valid = (column >= pad)[:, None, :, None]  # [batch, 1, P, 1]
        layers = []
        for k, v in zip(self.keys, self.values):
            # k[0]: [heads, P, d] -> [heads, batch, P, d] -> [batch, heads, P, d]
            k_b = k[0][:, source].transpose(0, 1) * valid
            v_b = v[0][:, source].transpose(0, 1) * valid
            layers.append((k_b.contiguous(), v_b.contiguous()))
        return DynamicCache(ddp_cache_data=layers)
