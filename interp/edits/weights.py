"""Live views of one layer's raw weight matrix, in the mathematical ``(out, in)`` orientation.

A registry :class:`~interp.models.registry.WeightRef` says where a matrix is stored and how:
``nn.Linear`` stores ``(out, in)``; GPT-2's ``Conv1D`` stores ``(in, out)`` (transposed);
fused projections hold q, k and v in one tensor, either concatenated along the out dim
(GPT-2 ``c_attn``) or interleaved per head (``(heads, 3, head_dim)``, GPT-NeoX
``query_key_value``); the toy models store TransformerLens per-head tensors. :class:`MatrixHandle` hides all of that: ``read()`` returns the
``(out, in)`` matrix, ``write(W)`` stores an ``(out, in)`` matrix back in place, in the
parameter's own dtype, touching nothing outside the named part.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor, nn

from interp.errors import UsageError
from interp.models.loading import HookedModel
from interp.models.registry import WeightRef


def _get_attr_path(root: nn.Module, path: str) -> object:
    obj: object = root
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class MatrixHandle:
    """One matrix of one block: where it lives and how to read / write it as ``(out, in)``."""

    layer: int
    matrix: str
    ref: WeightRef
    weight: nn.Parameter  # the stored tensor (may hold other fused parts too)
    bias: nn.Parameter | None  # the stored bias next to it, if any
    n_heads: int  # for the per-head fused layout

    # -- the part of a stored tensor that is this matrix --------------------------------
    def _oriented(self, stored: Tensor) -> Tensor:
        """A view of a weight shaped like ``weight``, oriented ``(out_total, in)`` (or ``(heads, head_dim, in)``)."""
        layout = self.ref.layout
        if layout == "in_out":
            return stored.T
        if layout == "heads_in_out":  # TransformerLens W_Q/W_K/W_V [heads, in, head_dim]
            return stored.transpose(1, 2)
        if layout == "heads_out":  # TransformerLens W_O [heads, head_dim, out]
            return stored.view(-1, stored.shape[-1]).T
        return stored

    def _fused_part(self, t: Tensor) -> Tensor:
        """This matrix's slice of dim 0 of a fused weight or bias (the whole tensor when not fused)."""
        if self.ref.fused == "concat":
            size = t.shape[0] // self.ref.n_parts
            return t[self.ref.part * size : (self.ref.part + 1) * size]
        if self.ref.fused == "per_head":
            return t.unflatten(0, (self.n_heads, self.ref.n_parts, -1))[:, self.ref.part]
        return t

    def _weight_part(self, stored: Tensor) -> Tensor:
        """A view of ``stored`` (shaped like ``weight``): ``(out, in)``, or ``(heads, head_dim, in)`` per head."""
        return self._fused_part(self._oriented(stored))

    def _bias_part(self, stored: Tensor) -> Tensor:
        return self._fused_part(stored)

    # -- public API ----------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, int]:
        part = self._weight_part(self.weight)
        return (part.shape[0] * part.shape[1], part.shape[2]) if part.ndim == 3 else (part.shape[0], part.shape[1])

    @property
    def dtype(self) -> torch.dtype:
        return self.weight.dtype

    @property
    def key(self) -> tuple[int, str]:
        return (self.layer, self.matrix)

    def read(self, stored: Tensor | None = None) -> Float[Tensor, "out in"]:
        """The ``(out, in)`` matrix (a copy), from the live weight or from a tensor shaped like it."""
        part = self._weight_part(self.weight if stored is None else stored)
        return part.detach().reshape(self.shape).clone()

    @torch.no_grad()
    def write(self, W: Float[Tensor, "out in"]) -> None:
        """Store the ``(out, in)`` matrix ``W`` in place (cast to the weight's dtype)."""
        if tuple(W.shape) != self.shape:
            raise ValueError(f"layer {self.layer} {self.matrix}: expected a {self.shape} matrix, got {tuple(W.shape)}")
        part = self._weight_part(self.weight)
        part.copy_(W.reshape(part.shape).to(device=part.device, dtype=part.dtype))

    def read_bias(self) -> Tensor | None:
        return None if self.bias is None else self._bias_part(self.bias).detach().clone()

    @torch.no_grad()
    def write_bias(self, b: Tensor) -> None:
        if self.bias is None:
            raise ValueError(f"layer {self.layer} {self.matrix} has no bias")
        part = self._bias_part(self.bias)
        part.copy_(b.reshape(part.shape).to(device=part.device, dtype=part.dtype))

    def part_mask(self) -> torch.Tensor:
        """Boolean tensor shaped like ``weight``: True on this matrix's entries."""
        mask = torch.zeros(self.weight.shape, dtype=torch.bool, device=self.weight.device)
        self._weight_part(mask).fill_(True)
        return mask


def resolve(model: HookedModel, layer: int, matrix: str) -> MatrixHandle:
    """The handle of ``matrix`` in block ``layer``; UsageError for a bad layer or a matrix the family lacks."""
    model.check_layer(layer)
    ref = model.arch.ref(matrix)
    block = model.raw_blocks[layer]
    try:
        weight = _get_attr_path(block, ref.path)
    except AttributeError:
        raise UsageError(f"layer {layer} of {model.spec.display} has no {matrix} (no {ref.path} in that block)") from None
    if not isinstance(weight, torch.Tensor):
        raise TypeError(f"{ref.path} in block {layer} is a {type(weight).__name__}, not a tensor")
    bias = None
    if ref.path.endswith(".weight"):
        try:
            candidate = _get_attr_path(block, ref.path[: -len(".weight")] + ".bias")
        except AttributeError:
            candidate = None
        bias = candidate if isinstance(candidate, torch.Tensor) else None
    return MatrixHandle(
        layer=layer, matrix=matrix, ref=ref, weight=weight, bias=bias, n_heads=int(model.bridge.cfg.n_heads)
    )
