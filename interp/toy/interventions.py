"""Evaluation-time interventions on an MLP, as context managers.

    with drop_mlp(model, 1):                        # layer 2's MLP removed (0-based layer)
        logits = model(tokens)
    with truncate_mlp(model, 1, "mlp_in", 0.05):    # W_in of layer 2 at rank floor(0.05 * min(m, n))
        logits = model(tokens)

They work on any hooked model with TransformerLens names (``blocks.{l}.hook_mlp_out``,
``blocks.{l}.mlp.W_in/W_out``): the toy models and pretrained HookedTransformers alike.
Dropping zero-ablates the MLP output through a temporary hook; truncation replaces the
weight in place with its rank-k SVD reconstruction (:mod:`interp.edits.lowrank`) and restores the
original bit-identical on exit, also when the body raises.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from interp.errors import UsageError
from interp.edits.lowrank import rank_for, truncate

log = logging.getLogger(__name__)

# which attribute of ``blocks[l].mlp`` each matrix name refers to
MLP_MATRICES = {"mlp_in": "W_in", "mlp_out": "W_out"}


def _n_layers(model: nn.Module) -> int:
    return len(model.blocks)  # type: ignore[arg-type]


def _check_mlp_layer(model: nn.Module, layer: int) -> None:
    n = _n_layers(model)
    if not (0 <= layer < n):
        raise UsageError(f"layer {layer} out of range: the model has layers 0..{n - 1} (0-based, as in blocks.{{l}})")
    if f"blocks.{layer}.hook_mlp_out" not in model.hook_dict:  # type: ignore[operator]
        raise UsageError(f"layer {layer} has no MLP")


@contextmanager
def drop_mlp(model: nn.Module, layer: int) -> Iterator[nn.Module]:
    """Remove the MLP of ``layer`` (0-based): its output is replaced by zeros."""
    _check_mlp_layer(model, layer)

    def zero(mlp_out: Tensor, hook: object) -> Tensor:
        return torch.zeros_like(mlp_out)

    with model.hooks(fwd_hooks=[(f"blocks.{layer}.hook_mlp_out", zero)]):  # type: ignore[operator]
        yield model


@contextmanager
def truncate_mlp(model: nn.Module, layer: int, matrix: str, rho: float) -> Iterator[nn.Module]:
    """Replace ``matrix`` ("mlp_in" or "mlp_out") of ``layer`` by its rank-k truncation, k = rank_for(rho)."""
    if matrix not in MLP_MATRICES:
        raise UsageError(f"matrix must be one of {', '.join(MLP_MATRICES)}, got {matrix!r}")
    _check_mlp_layer(model, layer)
    weight: nn.Parameter = getattr(model.blocks[layer].mlp, MLP_MATRICES[matrix])  # type: ignore[index]
    k = rank_for(rho, tuple(weight.shape))
    original = weight.detach().clone()
    with torch.no_grad():
        weight.copy_(truncate(weight, rho))
    log.info("truncated blocks.%d.mlp.%s %s to rank %d", layer, MLP_MATRICES[matrix], tuple(weight.shape), k)
    try:
        yield model
    finally:
        with torch.no_grad():
            weight.copy_(original)


def parse_laser(spec: str) -> tuple[int, str, float]:
    """Parse ``L:matrix:RHO`` (e.g. ``1:mlp_in:0.05``) into (layer, matrix, rho)."""
    parts = spec.split(":")
    if len(parts) != 3:
        raise UsageError(f"--laser takes LAYER:MATRIX:RHO, e.g. 1:mlp_in:0.05; got {spec!r}")
    layer_s, matrix, rho_s = parts
    try:
        layer, rho = int(layer_s), float(rho_s)
    except ValueError as err:
        raise UsageError(f"--laser takes LAYER:MATRIX:RHO with an integer layer and a number rho; got {spec!r}") from err
    if matrix not in MLP_MATRICES:
        raise UsageError(f"--laser matrix must be one of {', '.join(MLP_MATRICES)}, got {matrix!r}")
    rank_for(rho, (1, 1))  # validates rho in (0, 1]
    return layer, matrix, rho
