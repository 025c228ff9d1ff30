"""Control edits that tell a LASER gain from an artefact.

``random``: keep k random orthonormal directions instead of the top-k singular ones. The
projection acts on the matrix's smaller side, so at k = min(m, n) it is the identity (up to
rounding) and below it keeps exactly rank k: for ``W`` of shape ``(m, n)`` with m <= n,
``Q Q^T W`` with ``Q`` an ``(m, k)`` orthonormal basis; else ``W Q Q^T`` with ``Q`` ``(n, k)``.
The directions are drawn from a generator seeded by (seed, layer, matrix), and the first k
of them are the same for every k (nested subspaces across rhos).

``mean``: the hook that replaces a layer's MLP or attention output by a fixed vector (its mean
over a reference text, computed in :mod:`interp.edits.means`).

``zero`` needs no helper: the edit writes zeros (see :mod:`interp.edits.apply`).
"""

from __future__ import annotations

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from interp.edits.spec import MATRICES


def direction_seed(seed: int, layer: int, matrix: str) -> int:
    """A stable 63-bit seed for the random directions of one (layer, matrix)."""
    state = np.random.SeedSequence([int(seed), int(layer), MATRICES.index(matrix)]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def random_orthonormal(dim: int, k: int, seed: int, device: torch.device | str = "cpu") -> Float[Tensor, "dim k"]:
    """k orthonormal columns in R^dim (float32): the QR basis of the first k of ``dim`` seeded Gaussian columns."""
    if not 1 <= k <= dim:
        raise ValueError(f"k must be in [1, {dim}], got {k}")
    gen = torch.Generator(device="cpu").manual_seed(seed)
    gauss = torch.randn(dim, dim, generator=gen, dtype=torch.float64)[:, :k]
    q, r = torch.linalg.qr(gauss)
    q = q * torch.sign(torch.diagonal(r))[None, :]  # unique basis: positive diagonal of R
    return q.to(device=device, dtype=torch.float32)


def random_rank(W: Float[Tensor, "m n"], k: int, seed: int) -> Float[Tensor, "m n"]:
    """``W`` projected onto k random orthonormal directions of its smaller side, in float32."""
    m, n = W.shape
    w = W.detach().to(torch.float32)
    if m <= n:
        q = random_orthonormal(m, k, seed, w.device)  # (m, k)
        return q @ (q.T @ w)
    q = random_orthonormal(n, k, seed, w.device)  # (n, k)
    return (w @ q) @ q.T


def constant_output_hook(vector: Float[Tensor, " d_model"]):
    """A forward hook that replaces ``[batch, pos, d_model]`` activations by ``vector`` at every position."""

    def hook(act: Float[Tensor, "batch pos d_model"], hook=None) -> Float[Tensor, "batch pos d_model"]:  # noqa: ARG001
        return vector.to(device=act.device, dtype=act.dtype).expand_as(act).clone()

    return hook
