"""What one block of a supported architecture does, and its weights, read through the registry.

The scopes (paper names, Kobayashi et al. 2024) in the order a pre-LN block applies its parts:

    ATTN-W      attention weights alpha_ij, averaged over heads
    ATTN-N      ||sum_h alpha^h_ij f^h(x~_j)||, x~_j the attention input (LN1 output) at j
    ATB         the attention block: LN1 -> ATTN (-> Gemma's post-attention norm) -> RES1
    ATBFF       then LN2 -> FF (-> Gemma's post-FF norm): the FF output alone
    ATBFFRES    then RES2: the block's output (the residual stream after the layer)
    ATBFFRESLN  then the next norm the residual meets (next layer's LN1, or the final norm)

GPT-NeoX (Pythia) runs attention and MLP in parallel on the same input
(``x + attn(ln1(x)) + mlp(ln2(x))``): there ATB is ``x + attn`` (a partial sum, not a state
the model holds), and ATBFF reads only ``x_i``, so its map is diagonal: the FF mixes no
tokens inside the layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from interp.edits.weights import resolve
from interp.errors import UsageError
from interp.models.loading import HookedModel
from interp.models.registry import ARCHITECTURES, ArchSpec, NormRef

SCOPES: tuple[str, ...] = ("ATTN-W", "ATTN-N", "ATB", "ATBFF", "ATBFFRES", "ATBFFRESLN")
HEAD_SCOPES: tuple[str, ...] = ("ATTN-W", "ATTN-N")
# Consecutive scopes compared with Spearman, plus ATB -> ATBFFRESLN (the whole FF block's net effect).
SCOPE_PAIRS: tuple[tuple[str, str], ...] = tuple(zip(SCOPES, SCOPES[1:])) + (("ATB", "ATBFFRESLN"),)
# Scopes whose pair shares are compared against ATB's (FF amplification and what follows it).
AMPLIFIED_SCOPES: tuple[str, ...] = ("ATBFF", "ATBFFRES", "ATBFFRESLN")


def supported_architectures() -> tuple[str, ...]:
    """Registry model types that carry what attribution needs (norms, activation, final norm)."""
    return tuple(k for k, a in ARCHITECTURES.items() if a.norms and a.mlp_act and a.final_norm)


def check_supported(model_type: str) -> None:
    if model_type not in supported_architectures():
        raise UsageError(
            f"architecture {model_type!r} is not supported by interp attribution; "
            f"supported: {', '.join(supported_architectures())}"
        )


@dataclass(frozen=True)
class BlockLayout:
    """The shape of a block's computation (the same for every layer of a model)."""

    model_type: str
    family: str
    parallel: bool  # attention and MLP read the same input (GPT-NeoX)
    gated: bool  # act(gate) * up MLP (Llama, Gemma)
    post_norms: bool  # norms on the attention and MLP outputs (Gemma 3)
    n_heads: int
    n_kv_heads: int
    d_head: int
    n_layers: int

    @classmethod
    def of(cls, model: HookedModel) -> BlockLayout:
        arch = model.arch
        check_supported(arch.model_type)
        cfg = model.bridge.cfg
        n_heads = int(cfg.n_heads)
        n_kv = getattr(cfg, "n_key_value_heads", None) or n_heads
        parallel = bool(arch.parallel_flag and getattr(model.raw_model.config, arch.parallel_flag, False))
        return cls(
            model_type=arch.model_type,
            family=arch.family,
            parallel=parallel,
            gated="mlp_gate" in arch.matrices,
            post_norms="ln1_post" in arch.norms,
            n_heads=n_heads,
            n_kv_heads=int(n_kv),
            d_head=int(cfg.d_head),
            n_layers=model.n_layers,
        )

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Norm:
    """A norm as a per-token affine map: ``y = weight * (x - mean?) / scale + bias``."""

    weight: Tensor  # the effective multiplier (``1 + w`` for Gemma)
    bias: Tensor | None
    rms: bool


@dataclass(frozen=True)
class LayerWeights:
    """The raw weights one layer's decomposition needs, as ``(out, in)`` matrices."""

    W_O: Tensor  # (d_model, n_heads * d_head)
    b_O: Tensor | None
    W_in: Tensor  # (d_mlp, d_model): the up projection
    b_in: Tensor | None
    W_gate: Tensor | None
    b_gate: Tensor | None
    W_out: Tensor  # (d_model, d_mlp)
    b_out: Tensor | None
    norms: dict[str, Norm]  # ln2 (+ ln1_post, ln2_post)
    next_norm: Norm  # the next layer's ln1, or the final norm
    act: nn.Module


def _attr_path(root: object, path: str) -> object:
    for part in path.split("."):
        root = getattr(root, part)
    return root


def _norm(root: nn.Module, ref: NormRef) -> Norm:
    module = _attr_path(root, ref.path)
    weight = module.weight.detach()
    bias = None if ref.rms else getattr(module, "bias", None)
    bias = bias.detach() if isinstance(bias, Tensor) else None
    return Norm(weight=weight + ref.weight_offset, bias=bias, rms=ref.rms)


def _matrix(model: HookedModel, layer: int, name: str) -> tuple[Tensor, Tensor | None]:
    handle = resolve(model, layer, name)
    return handle.read(), handle.read_bias()


def layer_weights(model: HookedModel, layer: int) -> LayerWeights:
    """Read layer ``layer``'s weights through the architecture registry."""
    arch: ArchSpec = model.arch
    block = model.raw_blocks[layer]
    W_O, b_O = _matrix(model, layer, "attn_o")
    W_in, b_in = _matrix(model, layer, "mlp_in")
    W_out, b_out = _matrix(model, layer, "mlp_out")
    W_gate, b_gate = _matrix(model, layer, "mlp_gate") if "mlp_gate" in arch.matrices else (None, None)
    norms = {role: _norm(block, ref) for role, ref in arch.norms.items() if role != "ln1"}
    if layer + 1 < model.n_layers:
        next_norm = _norm(model.raw_blocks[layer + 1], arch.norms["ln1"])
    else:
        assert arch.final_norm is not None
        next_norm = _norm(model.raw_model, arch.final_norm)
    act = _attr_path(block, arch.mlp_act)
    if not isinstance(act, nn.Module) and not callable(act):
        raise TypeError(f"{arch.mlp_act} in block {layer} is not an activation module")
    with torch.no_grad():
        return LayerWeights(W_O, b_O, W_in, b_in, W_gate, b_gate, W_out, b_out, norms, next_norm, act)
