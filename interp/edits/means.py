"""The reference vectors of ``mean`` edits: each sublayer's mean output over a reference text.

A ``mean`` edit replaces a layer's MLP or attention output by its mean over ordinary text
(:func:`interp.edits.controls.constant_output_hook`). :func:`ablation_means` computes those means
once, for every ``mean`` edit among the edits a command will apply, from token batches of the
reference text (:func:`interp.scoring.lm_loss.lm_batches`); ``apply_edits(..., means=...)``
takes the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.edits.apply import MeanVectors, sublayer
from interp.edits.spec import Edit
from interp.models.loading import HookedModel


class TokenBatch(Protocol):
    """What a reference-text batch carries (e.g. :class:`interp.scoring.forward.Batch`)."""

    input_ids: Int[Tensor, "batch pos"]
    attention_mask: Int[Tensor, "batch pos"]


def mean_keys(edits: Iterable[Edit]) -> list[tuple[int, str]]:
    """The ``(layer, "mlp"|"attn")`` means the ``mean`` edits among ``edits`` need, sorted, each once."""
    return sorted({(e.layer, sublayer(e.matrix)) for e in edits if e.kind == "mean"})


def needs_means(edits: Iterable[Edit]) -> bool:
    """Whether any of ``edits`` is a ``mean`` edit (which needs :func:`ablation_means`)."""
    return any(e.kind == "mean" for e in edits)


@torch.inference_mode()
def sublayer_means(
    model: HookedModel, batches: Sequence[TokenBatch], keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], Float[Tensor, " d_model"]]:
    """Mean of each ``(layer, "mlp"|"attn")`` sublayer output over every real token of ``batches``
    (padded positions, ``attention_mask == 0``, are left out; one pass per batch)."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    sums: dict[tuple[int, str], Tensor] = {}
    count = 0
    real: list[Tensor] = []  # the current batch's attention mask as [batch, pos, 1] weights

    def make_hook(key: tuple[int, str]):
        def hook(act: Float[Tensor, "batch pos d_model"], hook=None):  # noqa: ARG001
            s = (act.detach().double() * real[0]).sum(dim=(0, 1))
            sums[key] = s if key not in sums else sums[key] + s
            return act

        return hook

    fwd = [(f"blocks.{layer}.hook_{kind}_out", make_hook((layer, kind))) for layer, kind in keys]
    stop = max(layer for layer, _ in keys) + 1  # no need to run the blocks above the last one asked for
    with model.bridge.hooks(fwd_hooks=fwd):
        for batch in batches:
            real[:] = [batch.attention_mask.to(torch.float64)[..., None]]
            model.bridge(
                batch.input_ids, attention_mask=batch.attention_mask, stop_at_layer=stop if stop < model.n_layers else None
            )
            count += int(batch.attention_mask.sum())
    return {key: (sums[key] / count).to(model.dtype) for key in keys}


def ablation_means(model: HookedModel, edits: Iterable[Edit], batches: Sequence[TokenBatch]) -> MeanVectors | None:
    """The mean vectors every ``mean`` edit among ``edits`` substitutes, over ``batches``; None when there is none."""
    keys = mean_keys(edits)
    return sublayer_means(model, batches, keys) if keys else None
