"""The library entry point: every requested layer's scopes for a batch of prompts.

    >>> from interp.attribution.attribute import attribute_texts
    >>> batch, results = attribute_texts(model, ["The cat sat on the mat."], layers=(0, 1))
    >>> results[1].maps["ATBFF"]          # (batch, T, T) norms, output i x input j
    >>> results[1].errors["ff"]           # (batch, T) relative completeness error of the FF parts
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from interp.attribution.capture import capture
from interp.attribution.decompose import LayerAttribution, attribute_layer
from interp.attribution.layout import BlockLayout, LayerWeights, layer_weights
from interp.models.loading import HookedModel
from interp.scoring.forward import Batch, make_batches


def attribute_batch(
    model: HookedModel,
    batch: Batch,
    layers: Sequence[int],
    ig_steps: int = 32,
    *,
    layout: BlockLayout | None = None,
    weights: dict[int, LayerWeights] | None = None,
) -> Iterator[tuple[int, LayerAttribution]]:
    """One hooked forward for the batch, then ``(layer, LayerAttribution)`` layer by layer
    (a generator, so only one layer's decomposition is held at a time)."""
    layers = tuple(model.check_layer(layer) for layer in layers)
    layout = layout or BlockLayout.of(model)
    cache = capture(model, layout, layers, batch.input_ids, batch.attention_mask, batch.last_index)
    for layer in layers:
        w = weights[layer] if weights is not None else layer_weights(model, layer)
        yield layer, attribute_layer(layout, w, cache, layer, ig_steps)


def attribute_texts(
    model: HookedModel, texts: Sequence[str], layers: Sequence[int], ig_steps: int = 32
) -> tuple[Batch, dict[int, LayerAttribution]]:
    """All ``texts`` as one right-padded batch (in the order given); results per layer."""
    (batch,) = make_batches(model, list(texts), batch_size=max(1, len(texts)))
    order = list(batch.indices)
    results = dict(attribute_batch(model, batch, layers, ig_steps))
    if order != sorted(order):  # make_batches sorts by length: put rows back in the caller's order
        back = [order.index(k) for k in range(len(order))]
        batch = Batch(tuple(range(len(order))), batch.input_ids[back], batch.attention_mask[back], batch.last_index[back])
        for res in results.values():
            res.maps = {k: v[back] for k, v in res.maps.items()}
            res.head_maps = {k: v[back] for k, v in res.head_maps.items()}
            res.errors = {k: v[back] for k, v in res.errors.items()}
    return batch, results
