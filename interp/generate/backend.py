"""Which module tree runs generation: the plain Hugging Face model, or the TransformerBridge.

The bridge installs its components (hook points, its own attention) inside the Hugging Face
model it wraps, so calling ``model.raw_model`` runs through them. Two ways to decode:

``plain``   for the duration of a block the bridge's wrappers are taken out of the module tree
            (each replaced by the original module it wraps; the same parameter tensors) and
            attention runs through PyTorch's ``scaled_dot_product_attention``. About twice
            as fast per decoding step on CPU. It is exact only when nothing the bridge adds is
            in use: no hook registered on any hook point (``mean`` edits are hooks) and every
            parameter the bridge reads is a tensor of the original modules (true for GPT-2,
            Llama, Gemma; GPT-NeoX's bridge reads its own copies of q/k/v, which edits write).
``bridge``  the bridge as booted, with its hooks; TransformerLens 4.3's attention components
            look for the KV cache under ``past_key_values`` while newer transformers passes it
            as ``cache``, so a pre-hook hands it over (without it cached decoding ignores the
            prompt).

``generation_forward(model)`` picks ``plain`` when it is exact and ``bridge`` otherwise, and
yields the name. Weight edits (``interp.edits.apply``) rewrite tensors in place, so both trees
see them; tests check the first generated step against the bridge's hooked forward under
every edit kind.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn
from transformer_lens.model_bridge.generalized_components.attention import AttentionBridge
from transformer_lens.model_bridge.generalized_components.base import GeneralizedComponent

from interp.models.loading import HookedModel

log = logging.getLogger(__name__)

BACKENDS = ("auto", "plain", "bridge")


def cache_kwarg(model: HookedModel) -> str:
    """The keyword the HF model takes its cache by: ``cache`` (newer transformers) or ``past_key_values``."""
    params = inspect.signature(model.raw_model.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def _alias_cache(module, args, kwargs):  # noqa: ARG001
    if kwargs.get("past_key_values") is None and kwargs.get("cache") is not None:
        return args, {**kwargs, "past_key_values": kwargs["cache"]}
    return None


@contextmanager
def bridge_sees_cache(model: HookedModel) -> Iterator[None]:
    """Within the block the bridge's attention components read the KV cache passed as ``cache=``."""
    handles = [
        module.register_forward_pre_hook(_alias_cache, with_kwargs=True)
        for module in model.raw_model.modules()
        if isinstance(module, AttentionBridge)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def _bridge_swaps(root: nn.Module) -> list[tuple[nn.Module, str, nn.Module, nn.Module]]:
    """(parent, child name, bridge component, original module) for every wrapper under ``root``, outermost first."""
    swaps = []

    def walk(module: nn.Module) -> None:
        for name, child in list(module._modules.items()):
            if isinstance(child, GeneralizedComponent) and child.original_component is not None:
                original = child.original_component
                swaps.append((module, name, child, original))
                walk(original)
            elif child is not None:
                walk(child)

    walk(root)
    return swaps


@contextmanager
def plain_hf(model: HookedModel, attn_implementation: str = "sdpa") -> Iterator[None]:
    """Within the block ``model.raw_model`` is the plain Hugging Face model (see the module doc)."""
    hf = model.raw_model
    swaps = _bridge_swaps(hf)
    previous = hf.config._attn_implementation
    try:
        for parent, name, _, original in swaps:
            parent._modules[name] = original
        hf.config._attn_implementation = attn_implementation
        yield
    finally:
        hf.config._attn_implementation = previous
        for parent, name, bridge, _ in reversed(swaps):
            parent._modules[name] = bridge


def _storages(module: nn.Module) -> set[int]:
    return {p.untyped_storage().data_ptr() for p in module.parameters()}


def hooks_active(model: HookedModel) -> bool:
    """Whether any hook point of the bridge has a hook registered (e.g. a ``mean`` edit)."""
    return any(
        hp._forward_hooks or hp._forward_pre_hooks or hp._backward_hooks for hp in model.bridge.hook_dict.values()
    )


def plain_is_exact(model: HookedModel) -> bool:
    """True when the plain tree computes what the bridge computes (no hooks, same parameter tensors)."""
    if hooks_active(model):
        return False
    bridged = _storages(model.raw_model)
    with plain_hf(model):
        plain = _storages(model.raw_model)
    return bridged == plain


@contextmanager
def generation_forward(model: HookedModel, backend: str = "auto") -> Iterator[str]:
    """Within the block, ``model.raw_model(...)`` runs the chosen tree; yields ``plain`` or ``bridge``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    use_plain = plain_is_exact(model) if backend == "auto" else backend == "plain"
    if use_plain:
        with plain_hf(model):
            yield "plain"
    else:
        with bridge_sees_cache(model):
            yield "bridge"
