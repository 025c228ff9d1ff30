"""Per-token decompositions of one layer, component by component (Kobayashi et al. 2024).

Every vector on the way through the layer is held as :class:`Parts`: one part per input
token ``j`` (the layer's input vectors ``x_j``) plus a bias term, summing to the vector the
model computed. Each component maps parts to parts:

* attention: ``y_i = sum_h sum_j alpha^h_ij f^h(x~_j) + b_O`` with ``f^h(x) = (x W_V^h + b_V^h) W_O^h``
  (value vectors ``x~_j W_V + b_V`` come from the ``hook_v`` cache; ``x~_j`` is the LN1
  output at ``j``, which depends on ``x_j`` alone, so it is wholly token ``j``'s);
* residual: ``x_i`` joins part ``(i, i)``;
* LayerNorm / RMSNorm: with token ``i``'s statistics fixed (``scale_i`` from ``hook_scale``),
  the norm is linear: part ``p -> w * (p - mean(p)) / scale_i`` (no centring for RMSNorm),
  and the bias term takes the norm's own bias;
* FF: the pre-activation parts go through the linear map, the activation is split by
  integrated gradients (:mod:`interp.attribution.ig`), the result through the output
  projection; the output bias joins the bias term.

Each component's parts plus bias are checked against the output the hooked forward
recorded; :func:`attribute_layer` returns those relative errors with the maps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor

from interp.attribution.capture import next_norm_prefix
from interp.attribution.ig import gated_ig_parts, ig_parts
from interp.attribution.layout import BlockLayout, LayerWeights, Norm


@dataclass
class Parts:
    """Vectors at each output position, split over source tokens plus a bias term."""

    parts: Float[Tensor, "batch out src d"]
    bias: Float[Tensor, "batch out d"]

    def total(self) -> Float[Tensor, "batch out d"]:
        return self.parts.sum(2) + self.bias

    def norms(self) -> Float[Tensor, "batch out src"]:
        return self.parts.norm(dim=-1)

    def __add__(self, other: Parts) -> Parts:
        return Parts(self.parts + other.parts, self.bias + other.bias)

    def linear(self, W: Float[Tensor, "d_out d_in"], b: Tensor | None) -> Parts:
        """``v -> v W^T + b``: the weight acts on every part, the bias joins the bias term."""
        bias = self.bias @ W.T
        return Parts(self.parts @ W.T, bias if b is None else bias + b)


def diagonal(x: Float[Tensor, "batch pos d"]) -> Parts:
    """``x`` as parts: ``x_i`` is token ``i``'s own part at position ``i``; no bias."""
    B, T, d = x.shape
    parts = x.new_zeros(B, T, T, d)
    idx = torch.arange(T, device=x.device)
    parts[:, idx, idx] = x
    return Parts(parts, x.new_zeros(B, T, d))


def norm_parts(p: Parts, scale: Float[Tensor, "batch pos 1"], norm: Norm) -> Parts:
    """A LayerNorm / RMSNorm applied to each part, with each position's own scale."""
    parts, bias = p.parts, p.bias
    if not norm.rms:
        parts = parts - parts.mean(-1, keepdim=True)
        bias = bias - bias.mean(-1, keepdim=True)
    parts = parts * (norm.weight / scale.unsqueeze(2))
    bias = bias * (norm.weight / scale)
    if norm.bias is not None:
        bias = bias + norm.bias
    return Parts(parts, bias)


def value_vectors(
    v: Float[Tensor, "batch src kv_heads d_head"], W_O: Float[Tensor, "d_model hd"], n_heads: int
) -> Float[Tensor, "batch src heads d_model"]:
    """``f^h(x~_j) = v^h_j W_O^h``: each head's transformed vector of each source token
    (a query head reads key/value head ``h // (n_heads / n_kv_heads)``, as grouped-query attention does)."""
    B, T, n_kv, d_head = v.shape
    v = v.repeat_interleave(n_heads // n_kv, dim=2)  # (B, T, H, d_head)
    W = W_O.view(W_O.shape[0], n_heads, d_head)  # (d_model, H, d_head)
    return torch.einsum("bjhe,dhe->bjhd", v, W)


def attention_parts(
    pattern: Float[Tensor, "batch heads out src"],
    f: Float[Tensor, "batch src heads d_model"],
    b_O: Tensor | None,
) -> Parts:
    """``sum_h alpha^h_ij f^h(x~_j)`` per (i, j); the output bias is the bias term."""
    parts = torch.einsum("bhij,bjhd->bijd", pattern, f)
    B, T = parts.shape[:2]
    bias = parts.new_zeros(B, T, parts.shape[-1])
    return Parts(parts, bias if b_O is None else bias + b_O)


def head_parts(pattern: Float[Tensor, "batch heads out src"], f: Float[Tensor, "batch src heads d_model"]
               ) -> Float[Tensor, "batch heads out src d_model"]:
    """Per-head vectors ``alpha^h_ij f^h(x~_j)`` (they sum over heads to :func:`attention_parts`)."""
    return pattern.unsqueeze(-1) * f.permute(0, 2, 1, 3).unsqueeze(2)


def ff_parts(p: Parts, w: LayerWeights, gated: bool, ig_steps: int) -> Parts:
    """The MLP applied to parts: linear maps exactly, the activation by IG."""
    up = p.linear(w.W_in, w.b_in)
    if gated:
        assert w.W_gate is not None
        gate = p.linear(w.W_gate, w.b_gate)
        act_parts, act_bias = gated_ig_parts(w.act, gate.parts, gate.bias, up.parts, up.bias, ig_steps)
        del gate
    else:
        act_parts, act_bias = ig_parts(w.act, up.parts, up.bias, ig_steps)
    del up
    return Parts(act_parts, act_bias).linear(w.W_out, w.b_out)


def relative_error(parts: Parts, actual: Float[Tensor, "batch pos d"]) -> Float[Tensor, "batch pos"]:
    """``||sum_j parts + bias - actual|| / ||actual||`` at each position."""
    diff = (parts.total() - actual).norm(dim=-1)
    return diff / actual.norm(dim=-1).clamp_min(torch.finfo(actual.dtype).tiny)


@dataclass
class LayerAttribution:
    """One layer's maps (each scope), per-head maps and completeness errors, for a batch."""

    maps: dict[str, Float[Tensor, "batch out src"]]
    head_maps: dict[str, Float[Tensor, "batch heads out src"]]
    errors: dict[str, Float[Tensor, "batch pos"]]  # component -> relative error per position


def attribute_layer(
    layout: BlockLayout,
    weights: LayerWeights,
    cache: dict[str, Tensor],
    layer: int,
    ig_steps: int,
) -> LayerAttribution:
    """All scopes of ``layer`` for a batch, from the hooked forward's ``cache``."""
    b = f"blocks.{layer}"
    x = cache[f"{b}.hook_resid_pre"]
    pattern = cache[f"{b}.attn.hook_pattern"].to(x.dtype)
    f = value_vectors(cache[f"{b}.attn.hook_v"], weights.W_O, layout.n_heads)
    errors: dict[str, Tensor] = {}

    attn = attention_parts(pattern, f, weights.b_O)
    errors["attn"] = relative_error(attn, cache[f"{b}.attn.hook_out"])
    maps = {"ATTN-W": pattern.mean(1), "ATTN-N": attn.norms()}
    head_maps = {"ATTN-W": pattern, "ATTN-N": pattern * f.norm(dim=-1).permute(0, 2, 1).unsqueeze(2)}
    if layout.post_norms:
        attn = norm_parts(attn, cache[f"{b}.ln1_post.hook_scale"], weights.norms["ln1_post"])
        errors["attn_post_norm"] = relative_error(attn, cache[f"{b}.ln1_post.hook_out"])

    atb = diagonal(x) + attn
    del attn
    if layout.parallel:
        errors["res1"] = relative_error(atb, x + cache[f"{b}.attn.hook_out"])
        ff_in = norm_parts(diagonal(x), cache[f"{b}.ln2.hook_scale"], weights.norms["ln2"])
    else:
        errors["res1"] = relative_error(atb, cache[f"{b}.hook_resid_mid"])
        ff_in = norm_parts(atb, cache[f"{b}.ln2.hook_scale"], weights.norms["ln2"])
    maps["ATB"] = atb.norms()
    errors["ln2"] = relative_error(ff_in, cache[f"{b}.ln2.hook_out"])

    ff = ff_parts(ff_in, weights, layout.gated, ig_steps)
    del ff_in
    errors["ff"] = relative_error(ff, cache[f"{b}.mlp.hook_out"])
    if layout.post_norms:
        ff = norm_parts(ff, cache[f"{b}.ln2_post.hook_scale"], weights.norms["ln2_post"])
        errors["ff_post_norm"] = relative_error(ff, cache[f"{b}.ln2_post.hook_out"])
    maps["ATBFF"] = ff.norms()

    out = atb + ff
    del atb, ff
    errors["res2"] = relative_error(out, cache[f"{b}.hook_resid_post"])
    maps["ATBFFRES"] = out.norms()
    nxt = next_norm_prefix(layout, layer)
    normed = norm_parts(out, cache[f"{nxt}.hook_scale"], weights.next_norm)
    del out
    errors["ln_next"] = relative_error(normed, cache[f"{nxt}.hook_out"])
    maps["ATBFFRESLN"] = normed.norms()
    return LayerAttribution(maps=maps, head_maps=head_maps, errors=errors)
