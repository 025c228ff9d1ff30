"""Run only the part of the model an edit can change.

An edit of layer l leaves the residual stream entering block l unchanged, so a sweep can
compute that residual once per prompt batch and, for every edit of layer l, run only blocks
l..n-1 and the unembedding of the positions the metrics read (the prompt's last position, and
one per further answer token).

The bridge's ``forward(resid, start_at_layer=l)`` feeds ``resid`` in as ``inputs_embeds`` and
swaps it in at block l, but still executes blocks 0..l-1 and discards their output.
:func:`skip_blocks_below` makes those block bridges return their input untouched for the
duration of a call, so a suffix pass costs only the suffix. (The HF decoder layers of the
supported families return a bare hidden-state tensor, which is what the pass-through returns.)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from jaxtyping import Float
from torch import Tensor

from interp.models.loading import HookedModel
from interp.scoring.forward import Batch, read_positions_only


def _pass_through(*args, **kwargs) -> Tensor:
    """A block's forward that returns its hidden-state input unchanged."""
    if args and isinstance(args[0], Tensor):
        return args[0]
    return kwargs["hidden_states"]


@contextmanager
def skip_blocks_below(model: HookedModel, layer: int) -> Iterator[None]:
    """Within the block, blocks 0..layer-1 of the bridge are identity functions (restored in ``finally``)."""
    patched = []
    try:
        for block in list(model.bridge.blocks)[:layer]:
            if "forward" in block.__dict__:
                raise RuntimeError(f"block {block.name} already has a patched forward; nested skip_blocks_below?")
            # Through __dict__: the bridge's __setattr__ would forward the assignment to the
            # wrapped HF layer.
            block.__dict__["forward"] = _pass_through
            patched.append(block)
        yield
    finally:
        for block in patched:
            block.__dict__.pop("forward", None)


@torch.inference_mode()
def residual_at(
    model: HookedModel,
    batch: Batch,
    layer: int,
    *,
    resid: Float[Tensor, "batch pos d_model"] | None = None,
    from_layer: int = 0,
) -> Float[Tensor, "batch pos d_model"]:
    """The residual stream entering block ``layer`` for ``batch``.

    Without ``resid``: a pass over blocks 0..layer-1 from the tokens. With ``resid`` (the
    residual entering ``from_layer`` <= ``layer``): only blocks from_layer..layer-1 run.
    """
    if not 0 <= layer < model.n_layers:
        raise ValueError(f"layer {layer} out of range [0, {model.n_layers})")
    if resid is None:
        return model.bridge(batch.input_ids, attention_mask=batch.attention_mask, stop_at_layer=layer)
    if from_layer > layer:
        raise ValueError(f"cannot go back from layer {from_layer} to {layer}")
    if from_layer == layer:
        return resid
    with skip_blocks_below(model, from_layer):
        return model.bridge(resid, attention_mask=batch.attention_mask, start_at_layer=from_layer, stop_at_layer=layer)


class ResidualCache:
    """The residual stream entering one layer, per prompt batch, advanced layer by layer.

    Moving forward from layer a to b runs only blocks a..b-1 on the cached residuals, so
    visiting the layers in increasing order costs one forward pass in all; moving back starts
    again from the tokens.
    """

    def __init__(self, batches: Sequence[Batch]) -> None:
        self.batches = list(batches)
        self._resid: dict[tuple[int, ...], Float[Tensor, "batch pos d_model"]] = {}
        self.layer: int | None = None

    def advance(self, model: HookedModel, layer: int) -> None:
        if self.layer is not None and layer < self.layer:
            self._resid.clear()  # cannot run backwards: start again from the tokens
        for batch in self.batches:
            prev = self._resid.get(batch.indices)
            self._resid[batch.indices] = residual_at(
                model, batch, layer, resid=prev, from_layer=self.layer if prev is not None else 0
            )
        self.layer = layer

    def at(self, batch: Batch, layer: int) -> Float[Tensor, "batch pos d_model"]:
        """The cached residual of ``batch`` entering ``layer`` (the layer last advanced to)."""
        if layer != self.layer:
            raise RuntimeError(f"residuals are cached at layer {self.layer}, not {layer}")
        return self._resid[batch.indices]


@torch.inference_mode()
def suffix_read_logits(
    model: HookedModel, batch: Batch, resid: Float[Tensor, "batch pos d_model"], layer: int
) -> Float[Tensor, "batch n_read vocab"]:
    """Logits at the batch's read positions (after the prompt, after each answer prefix), running only
    blocks ``layer``.. from ``resid`` (the residual entering ``layer``)."""
    with skip_blocks_below(model, layer), read_positions_only(model, batch.positions):
        return model.bridge(resid, attention_mask=batch.attention_mask, start_at_layer=layer)


def suffix_logits(
    model: HookedModel, batch: Batch, resid: Float[Tensor, "batch pos d_model"], layer: int
) -> Float[Tensor, "batch vocab"]:
    """Next-token logits after each prompt, running only blocks ``layer``.. from ``resid`` (the residual entering ``layer``)."""
    return suffix_read_logits(model, batch, resid, layer)[:, 0, :]


@torch.inference_mode()
def suffix_all_logits(
    model: HookedModel,
    resid: Float[Tensor, "batch pos d_model"],
    layer: int,
    attention_mask: Tensor | None = None,
) -> Float[Tensor, "batch pos vocab"]:
    """Logits at every position, running only blocks ``layer``.. from ``resid`` (for language-modelling loss)."""
    with skip_blocks_below(model, layer):
        return model.bridge(resid, attention_mask=attention_mask, start_at_layer=layer)
