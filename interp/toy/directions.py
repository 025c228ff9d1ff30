"""What each singular direction of an MLP's weight matrices writes to the noise and correct-token logits.

For the MLP of layer ``l`` (``blocks.{l}.mlp``; no biases) with input x (after ``ln2``),
hidden h = ReLU(x W_in) and output h W_out, both matrices are split by their SVD,
W = sum_i sigma_i u_i v_i^T (directions in descending order of sigma, numbered from 1), and
each direction's share of the MLP's *direct* logit contribution is read at the readout
positions of a batch: every trigger occurrence from the second on (``Batch.icl_mask``, the
positions of ``icl_acc``, ``p_noise`` and ``p_correct``). The MLP's direct contribution is
its output read through the unembedding, with the final LayerNorm (if any) frozen at the
forward pass's own scale: ``D(o) = ((o - mean(o)) / scale) * ln_final.w @ W_U`` (the
identity before ``W_U`` when the model has no LayerNorm). D is linear, so:

``W_out``  h W_out = sum_i (h . u_i) sigma_i v_i; direction i contributes D((h . u_i) sigma_i v_i).
``W_in``   x W_in = sum_i (x . u_i) sigma_i v_i, and h = g * (x W_in) with g the ReLU's gate
           (1 where x W_in > 0) of the actual forward pass; direction i contributes
           D((g * (x . u_i) sigma_i v_i) W_out), its pre-activation passed through the gate as
           it is open in the forward pass.

Either way the contributions of all directions add up to D(MLP output) exactly (the
completeness checked in the tests). Each row averages over the readout positions:
``logit_noise`` (the noise token's logit), ``logit_correct`` (the correct token's),
``logit_mean`` (the mean over the vocabulary; softmax ignores a shift shared by all logits,
so ``logit_noise - logit_mean`` is what moves P(noise)).
"""

from __future__ import annotations

import pandas as pd
import torch
from jaxtyping import Float
from torch import Tensor

from interp.errors import UsageError
from interp.toy.data import Batch
from interp.toy.model import ToyTransformer

COLUMNS = ("matrix", "direction", "sigma", "logit_noise", "logit_correct", "logit_mean")


@torch.no_grad()
def readout_cache(model: ToyTransformer, batch: Batch, layer: int) -> dict[str, Tensor]:
    """The activations the decomposition needs, at the readout positions only (rows = positions)."""
    if not (0 <= layer < len(model.blocks)) or not model.blocks[layer].has_mlp:
        raise UsageError(f"layer {layer} has no MLP (0-based layers, as in blocks.{{l}})")
    names = [f"blocks.{layer}.hook_resid_mid", f"blocks.{layer}.mlp.hook_pre", f"blocks.{layer}.mlp.hook_post",
             f"blocks.{layer}.hook_mlp_out"]
    if model.cfg.layernorm:
        names.append("ln_final.hook_scale")
    logits, cache = model.run_with_cache(batch.inputs, names_filter=names)
    mask = batch.icl_mask
    block = model.blocks[layer]
    out = {
        "x": block.ln2(cache[names[0]])[mask],  # [n, d_model] MLP input
        "pre": cache[names[1]][mask],  # [n, d_mlp]
        "post": cache[names[2]][mask],  # [n, d_mlp]
        "mlp_out": cache[names[3]][mask],  # [n, d_model]
        "logits": logits[mask],  # [n, d_vocab]
        "answer": batch.answer[mask],  # [n]
    }
    out["scale"] = cache["ln_final.hook_scale"][mask] if model.cfg.layernorm else torch.ones_like(out["x"][:, :1])
    return out


def _unembed_matrix(model: ToyTransformer) -> Float[Tensor, "d_model d_vocab"]:
    """The linear part of D without the per-position scale: centring, ``ln_final.w``, ``W_U``."""
    W_U = model.unembed.W_U
    if not model.cfg.layernorm:
        return W_U
    d = W_U.shape[0]
    centre = torch.eye(d, device=W_U.device, dtype=W_U.dtype) - 1.0 / d
    return centre @ (model.ln_final.w[:, None] * W_U)


@torch.no_grad()
def direct_logits(model: ToyTransformer, resid_part: Float[Tensor, "n d_model"], scale: Float[Tensor, "n 1"]) -> Float[Tensor, "n d_vocab"]:
    """D(resid_part): a residual-stream component read through the frozen final LayerNorm and W_U."""
    return (resid_part / scale) @ _unembed_matrix(model)


def _rows(matrix: str, sigma: Tensor, noise: Tensor | None, correct: Tensor, mean: Tensor) -> pd.DataFrame:
    r = len(sigma)
    return pd.DataFrame({
        "matrix": [matrix] * r,
        "direction": list(range(1, r + 1)),
        "sigma": sigma.double().cpu().numpy(),
        "logit_noise": noise.double().mean(0).cpu().numpy() if noise is not None else [float("nan")] * r,
        "logit_correct": correct.double().mean(0).cpu().numpy(),
        "logit_mean": mean.double().mean(0).cpu().numpy(),
    }, columns=list(COLUMNS))


@torch.no_grad()
def direction_contributions(
    model: ToyTransformer, batch: Batch, *, layer: int, noise_token: int | None
) -> tuple[dict[str, dict[str, Float[Tensor, "n r"]]], dict[str, Float[Tensor, " r"]]]:
    """Per readout position and direction: contributions to the noise, correct and mean logit.

    Returns ``({"W_in": {"noise", "correct", "mean"}, "W_out": {...}}, {"W_in": sigma, "W_out": sigma})``;
    each tensor is [n positions, r directions] (``noise`` is None without a noise token).
    """
    c = readout_cache(model, batch, layer)
    if c["answer"].numel() == 0:
        raise UsageError("the batch has no readout positions (no trigger occurs twice); use longer or more sequences")
    mlp = model.blocks[layer].mlp
    A = _unembed_matrix(model)  # [d_model, d_vocab]
    inv_scale = 1.0 / c["scale"]  # [n, 1]
    answer = c["answer"]
    contributions: dict[str, dict[str, Tensor]] = {}
    sigmas: dict[str, Tensor] = {}

    # W_out = U diag(S) Vh: direction i writes (h . u_i) S_i Vh_i
    U, S, Vh = torch.linalg.svd(mlp.W_out.double(), full_matrices=False)  # U [d_mlp, r], Vh [r, d_model]
    B = (Vh @ A.double())  # [r, d_vocab]: logits of one unit along each output direction
    coef = (c["post"].double() @ U) * S * inv_scale.double()  # [n, r]
    contributions["W_out"] = {
        "noise": coef * B[:, noise_token] if noise_token is not None else None,
        "correct": coef * B[:, answer].T,
        "mean": coef * B.mean(1),
    }
    sigmas["W_out"] = S

    # W_in = U diag(S) Vh: direction i gives the pre-activation (x . u_i) S_i Vh_i, gated as in the forward
    U, S, Vh = torch.linalg.svd(mlp.W_in.double(), full_matrices=False)  # U [d_model, r], Vh [r, d_mlp]
    G = mlp.W_out.double() @ A.double()  # [d_mlp, d_vocab]
    gate = (c["pre"] > 0).double()  # [n, d_mlp]
    s = (c["x"].double() @ U) * S * inv_scale.double()  # [n, r]
    contributions["W_in"] = {
        "noise": s * ((gate * G[:, noise_token]) @ Vh.T) if noise_token is not None else None,
        "correct": s * ((gate * G[:, answer].T) @ Vh.T),
        "mean": s * ((gate * G.mean(1)) @ Vh.T),
    }
    sigmas["W_in"] = S
    return contributions, sigmas


def direction_table(model: ToyTransformer, batch: Batch, *, layer: int, noise_token: int | None) -> pd.DataFrame:
    """One row per matrix (W_in, W_out) and singular direction: ``matrix, direction, sigma,
    logit_noise, logit_correct, logit_mean``, averaged over the readout positions of ``batch``."""
    contributions, sigmas = direction_contributions(model, batch, layer=layer, noise_token=noise_token)
    return pd.concat(
        [_rows(m, sigmas[m], contributions[m]["noise"], contributions[m]["correct"], contributions[m]["mean"])
         for m in ("W_in", "W_out")],
        ignore_index=True,
    )


def summarize_directions(table: pd.DataFrame, top: int = 1) -> pd.DataFrame:
    """Per matrix: the top ``top`` directions, the rest, and all, summed (``direction`` as text)."""
    rows = []
    for matrix, group in table.groupby("matrix", sort=False):
        r = int(group["direction"].max())
        for label, part in ((f"1..{top}" if top > 1 else "1", group[group["direction"] <= top]),
                            (f"{top + 1}..{r}", group[group["direction"] > top]),
                            (f"1..{r} (all)", group)):
            rows.append({
                "matrix": matrix, "directions": label,
                "logit_noise": part["logit_noise"].sum(), "logit_correct": part["logit_correct"].sum(),
                "logit_mean": part["logit_mean"].sum(),
            })
    return pd.DataFrame(rows)
