"""The activations a layer's decomposition reads, from one hooked forward pass of the bridge.

Everything comes from TransformerLens hook points (``run_with_cache`` with a names filter):
the layer's input, the attention pattern and value vectors, every norm's scale, and the
outputs each decomposition is checked against. The forward stops after the last block it
needs, and when it must reach the final norm only the last position is unembedded.
"""

from __future__ import annotations

import torch
from jaxtyping import Int
from torch import Tensor

from interp.attribution.layout import BlockLayout
from interp.models.loading import HookedModel
from interp.scoring.forward import last_position_only


def layer_hooks(layout: BlockLayout, layer: int) -> list[str]:
    """Hook names the decomposition of ``layer`` reads (inputs and checked outputs)."""
    b = f"blocks.{layer}"
    names = [
        f"{b}.hook_resid_pre",
        f"{b}.attn.hook_pattern",
        f"{b}.attn.hook_v",
        f"{b}.attn.hook_out",
        f"{b}.ln2.hook_scale",
        f"{b}.ln2.hook_out",
        f"{b}.mlp.hook_pre",
        f"{b}.mlp.hook_out",
        f"{b}.hook_resid_post",
    ]
    if not layout.parallel:
        names.append(f"{b}.hook_resid_mid")
    if layout.gated:
        names.append(f"{b}.mlp.hook_pre_linear")
    if layout.post_norms:
        names += [f"{b}.ln1_post.hook_scale", f"{b}.ln1_post.hook_out",
                  f"{b}.ln2_post.hook_scale", f"{b}.ln2_post.hook_out"]
    nxt = f"blocks.{layer + 1}.ln1" if layer + 1 < layout.n_layers else "ln_final"
    names += [f"{nxt}.hook_scale", f"{nxt}.hook_out"]
    return names


def next_norm_prefix(layout: BlockLayout, layer: int) -> str:
    return f"blocks.{layer + 1}.ln1" if layer + 1 < layout.n_layers else "ln_final"


@torch.no_grad()
def capture(
    model: HookedModel,
    layout: BlockLayout,
    layers: tuple[int, ...],
    input_ids: Int[Tensor, "batch pos"],
    attention_mask: Int[Tensor, "batch pos"],
    last_index: Int[Tensor, " batch"],
) -> dict[str, Tensor]:
    """One forward pass caching every hook ``layers`` need (no_grad, not inference mode:
    the IG step later takes gradients through the activation on these values)."""
    wanted = sorted({name for layer in layers for name in layer_hooks(layout, layer)})
    top = max(layers)
    if top + 2 <= layout.n_layers - 1:
        # Blocks 0..top+1 run (top+1 for its ln1); the rest are skipped.
        _, cache = model.bridge.run_with_cache(
            input_ids, attention_mask=attention_mask, names_filter=wanted,
            stop_at_layer=top + 2, return_cache_object=False,
        )
    else:
        with last_position_only(model, last_index):
            _, cache = model.bridge.run_with_cache(
                input_ids, attention_mask=attention_mask, names_filter=wanted, return_cache_object=False,
            )
    missing = [n for n in wanted if n not in cache]
    if missing:
        raise RuntimeError(f"the hooked forward did not record {missing[:4]}")
    return dict(cache)
