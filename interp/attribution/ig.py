"""Integrated gradients (IG) on the feed-forward activation, split over input tokens.

The MLP's pre-activation at output position ``i`` is a sum of per-source-token parts plus a
bias term, ``z_i = sum_j z_ij + b_i`` (the parts come from the decomposition before the
MLP). IG with a zero baseline walks the straight path ``a * (z_ij, b_i)`` for ``a`` in
``[0, 1]`` (every part scaled together) and credits each part with its own value times the
path-averaged gradient::

    act(z_i) - act(0) ~= sum_j z_ij * G_i + b_i * G_i,    G_i = mean_k act'(a_k z_i)

A gated MLP (Llama, Gemma: ``act(gate) * up``) integrates the product along the same path,
gate and up parts together::

    f(g, u) = act(g) * u,   part j gets  g_ij * mean_k d f/dg (a_k g, a_k u)
                                       + u_ij * mean_k d f/du (a_k g, a_k u)

The path average uses the midpoint rule with ``steps`` points ``a_k = (k + 1/2) / steps``,
so the completeness error (the parts' sum against the true activation) falls roughly as
``1 / steps**2``. ``f(0)`` (zero for GELU and SiLU) goes to the bias term, so parts plus
bias equal the activation up to that quadrature error. Gradients come from autograd through
the model's own activation module: nothing is re-derived by hand.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from jaxtyping import Float
from torch import Tensor

Act = Callable[[Tensor], Tensor]

# Elements (steps x batch x pos x d_mlp) evaluated per chunk of path points.
_CHUNK_ELEMENTS = 1 << 24


def midpoints(steps: int, device: torch.device, dtype: torch.dtype) -> Float[Tensor, " steps"]:
    """The path points ``(k + 1/2) / steps``, k = 0..steps-1."""
    if steps < 1:
        raise ValueError(f"IG needs at least one step, got {steps}")
    return (torch.arange(steps, device=device, dtype=dtype) + 0.5) / steps


def _chunks(steps: int, per_point: int, device: torch.device, dtype: torch.dtype) -> Iterator[Tensor]:
    """The path points in chunks of at most ``_CHUNK_ELEMENTS`` evaluated elements, made one chunk at a
    time (so a large ``steps`` costs time, not a ``steps``-long tensor)."""
    if steps < 1:
        raise ValueError(f"IG needs at least one step, got {steps}")
    size = max(1, _CHUNK_ELEMENTS // max(1, per_point))
    for start in range(0, steps, size):
        yield (torch.arange(start, min(start + size, steps), device=device, dtype=dtype) + 0.5) / steps


def path_gradient(act: Act, z: Float[Tensor, "*batch d"], steps: int) -> Float[Tensor, "*batch d"]:
    """``mean_k act'(a_k z)``, elementwise (the activation acts on each unit alone)."""
    total = torch.zeros_like(z)
    with torch.enable_grad():
        for chunk in _chunks(steps, z.numel(), z.device, z.dtype):
            point = (chunk.view(-1, *([1] * z.dim())) * z.detach()).requires_grad_(True)
            (grad,) = torch.autograd.grad(act(point).sum(), point)
            total += grad.sum(0)
    return total / steps


def gated_path_gradients(
    act: Act, gate: Float[Tensor, "*batch d"], up: Float[Tensor, "*batch d"], steps: int
) -> tuple[Float[Tensor, "*batch d"], Float[Tensor, "*batch d"]]:
    """Path averages of ``d(act(g) * u)/dg`` and ``d(act(g) * u)/du`` along ``a * (g, u)``."""
    total_g = torch.zeros_like(gate)
    total_u = torch.zeros_like(up)
    with torch.enable_grad():
        for chunk in _chunks(steps, gate.numel(), gate.device, gate.dtype):
            shape = (-1, *([1] * gate.dim()))
            g = (chunk.view(shape) * gate.detach()).requires_grad_(True)
            u = (chunk.view(shape) * up.detach()).requires_grad_(True)
            grad_g, grad_u = torch.autograd.grad((act(g) * u).sum(), (g, u))
            total_g += grad_g.sum(0)
            total_u += grad_u.sum(0)
    return total_g / steps, total_u / steps


def ig_parts(
    act: Act,
    parts: Float[Tensor, "batch out src d"],
    bias: Float[Tensor, "batch out d"],
    steps: int,
) -> tuple[Float[Tensor, "batch out src d"], Float[Tensor, "batch out d"]]:
    """IG of ``act`` at ``z = parts.sum(src) + bias``: per-token parts and the bias term."""
    z = parts.sum(2) + bias
    grad = path_gradient(act, z, steps)
    baseline = act(torch.zeros_like(z))
    return parts * grad.unsqueeze(2), bias * grad + baseline


def gated_ig_parts(
    act: Act,
    gate_parts: Float[Tensor, "batch out src d"],
    gate_bias: Float[Tensor, "batch out d"],
    up_parts: Float[Tensor, "batch out src d"],
    up_bias: Float[Tensor, "batch out d"],
    steps: int,
) -> tuple[Float[Tensor, "batch out src d"], Float[Tensor, "batch out d"]]:
    """IG of ``act(gate) * up`` along the joint path: per-token parts and the bias term."""
    gate = gate_parts.sum(2) + gate_bias
    up = up_parts.sum(2) + up_bias
    grad_g, grad_u = gated_path_gradients(act, gate, up, steps)
    baseline = act(torch.zeros_like(gate)) * torch.zeros_like(up)
    parts = gate_parts * grad_g.unsqueeze(2)
    parts += up_parts * grad_u.unsqueeze(2)
    return parts, gate_bias * grad_g + up_bias * grad_u + baseline
