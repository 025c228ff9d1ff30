"""The toy transformer: one or two layers, hooked and named exactly like TransformerLens.

Weights (TransformerLens shapes): ``embed.W_E`` [d_vocab, d_model], ``pos_embed.W_pos``
[n_ctx, d_model], ``blocks.{l}.attn.W_Q/W_K/W_V`` [n_heads, d_model, d_head],
``blocks.{l}.attn.W_O`` [n_heads, d_head, d_model], ``blocks.{l}.mlp.W_in`` [d_model, d_mlp],
``blocks.{l}.mlp.W_out`` [d_mlp, d_model], ``unembed.W_U`` [d_model, d_vocab], and with
LayerNorm ``blocks.{l}.ln1/ln2.w/b``, ``ln_final.w/b``. No biases (as in the papers).

Hook points: ``hook_embed``, ``hook_pos_embed``, ``blocks.{l}.hook_resid_pre``,
``blocks.{l}.attn.hook_q/hook_k/hook_v/hook_attn_scores/hook_pattern/hook_z``,
``blocks.{l}.hook_attn_out``, ``blocks.{l}.hook_resid_mid``, ``blocks.{l}.mlp.hook_pre/hook_post``,
``blocks.{l}.hook_mlp_out``, ``blocks.{l}.hook_resid_post`` (the MLP hooks only in layers
that have an MLP). Analysis code written for TransformerLens models reads these models too.

Frozen parameters (``requires_grad=False``) follow the config: frozen random token
embeddings, unembedding and positions, identity W_Q, or the Birth paper's memory model.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor, nn
from transformer_lens import HookedRootModule
from transformer_lens.hook_points import HookPoint

from interp.toy.configs import ModelConfig

# parameters trained in the Birth paper's simplified "memory" model
MEMORY_MODEL_TRAINED = ("blocks.0.attn.W_K", "blocks.1.attn.W_K", "blocks.1.attn.W_O")


class LayerNorm(nn.Module):
    """LayerNorm with TransformerLens names (w, b, hook_scale, hook_normalized)."""

    def __init__(self, d_model: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.w = nn.Parameter(torch.ones(d_model))
        self.b = nn.Parameter(torch.zeros(d_model))
        self.hook_scale = HookPoint()  # [batch, pos, 1]
        self.hook_normalized = HookPoint()  # [batch, pos, d_model]

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        x = x - x.mean(-1, keepdim=True)
        scale = self.hook_scale((x.pow(2).mean(-1, keepdim=True) + self.eps).sqrt())
        return self.hook_normalized(x / scale) * self.w + self.b


class Attention(nn.Module):
    """Causal multi-head attention without biases."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        H, d, e = cfg.n_heads, cfg.d_model, cfg.d_head
        self.W_Q = nn.Parameter(torch.empty(H, d, e))
        self.W_K = nn.Parameter(torch.empty(H, d, e))
        self.W_V = nn.Parameter(torch.empty(H, d, e))
        self.W_O = nn.Parameter(torch.empty(H, e, d))
        self.attn_scale = math.sqrt(e)
        self.hook_q = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_k = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_v = HookPoint()  # [batch, pos, head_index, d_head]
        self.hook_attn_scores = HookPoint()  # [batch, head_index, query_pos, key_pos], masked with -inf
        self.hook_pattern = HookPoint()  # [batch, head_index, query_pos, key_pos]
        self.hook_z = HookPoint()  # [batch, pos, head_index, d_head]

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        T = x.shape[1]
        q = self.hook_q(torch.einsum("bpd,hde->bphe", x, self.W_Q))
        k = self.hook_k(torch.einsum("bpd,hde->bphe", x, self.W_K))
        v = self.hook_v(torch.einsum("bpd,hde->bphe", x, self.W_V))
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / self.attn_scale  # [batch, head, q, k]
        causal = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
        scores = self.hook_attn_scores(scores.masked_fill(causal, float("-inf")))
        pattern = self.hook_pattern(F.softmax(scores, dim=-1))
        z = self.hook_z(torch.einsum("bhqk,bkhe->bqhe", pattern, v))  # [batch, pos, head, d_head]
        return torch.einsum("bqhe,hed->bqd", z, self.W_O)


class MLP(nn.Module):
    """ReLU feed-forward layer without biases."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_in = nn.Parameter(torch.empty(cfg.d_model, cfg.d_mlp))
        self.W_out = nn.Parameter(torch.empty(cfg.d_mlp, cfg.d_model))
        self.hook_pre = HookPoint()  # [batch, pos, d_mlp]
        self.hook_post = HookPoint()  # [batch, pos, d_mlp]

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        pre = self.hook_pre(x @ self.W_in)
        post = self.hook_post(F.relu(pre))
        return post @ self.W_out


class TransformerBlock(nn.Module):
    """Pre-norm residual block: attention, then (optionally) an MLP."""

    def __init__(self, cfg: ModelConfig, layer: int):
        super().__init__()
        self.layer = layer
        self.ln1: nn.Module = LayerNorm(cfg.d_model) if cfg.layernorm else nn.Identity()
        self.attn = Attention(cfg)
        self.has_mlp = cfg.mlp[layer]
        if self.has_mlp:
            self.ln2: nn.Module = LayerNorm(cfg.d_model) if cfg.layernorm else nn.Identity()
            self.mlp = MLP(cfg)
            self.hook_mlp_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_pre = HookPoint()  # [batch, pos, d_model]
        self.hook_attn_out = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_mid = HookPoint()  # [batch, pos, d_model]
        self.hook_resid_post = HookPoint()  # [batch, pos, d_model]

    def forward(self, resid_pre: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_model"]:
        resid_pre = self.hook_resid_pre(resid_pre)
        attn_out = self.hook_attn_out(self.attn(self.ln1(resid_pre)))
        resid_mid = self.hook_resid_mid(resid_pre + attn_out)
        if not self.has_mlp:
            return self.hook_resid_post(resid_mid)
        mlp_out = self.hook_mlp_out(self.mlp(self.ln2(resid_mid)))
        return self.hook_resid_post(resid_mid + mlp_out)


class Embed(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_E = nn.Parameter(torch.empty(cfg.d_vocab, cfg.d_model))

    def forward(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_model"]:
        return self.W_E[tokens]


class PosEmbed(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_pos = nn.Parameter(torch.empty(cfg.n_ctx, cfg.d_model))

    def forward(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_model"]:
        return self.W_pos[: tokens.shape[1]].expand(tokens.shape[0], -1, -1)


class Unembed(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.W_U = nn.Parameter(torch.empty(cfg.d_model, cfg.d_vocab))

    def forward(self, x: Float[Tensor, "batch pos d_model"]) -> Float[Tensor, "batch pos d_vocab"]:
        return x @ self.W_U


class ToyTransformer(HookedRootModule):
    """A one- or two-layer transformer built from a :class:`ModelConfig`."""

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        seed: int = 0,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
    ):
        super().__init__()
        self.cfg = cfg
        self.embed = Embed(cfg)
        self.hook_embed = HookPoint()  # [batch, pos, d_model]
        self.pos_embed = PosEmbed(cfg)
        self.hook_pos_embed = HookPoint()  # [batch, pos, d_model]
        self.blocks = nn.ModuleList(TransformerBlock(cfg, layer) for layer in range(cfg.n_layers))
        self.ln_final: nn.Module = LayerNorm(cfg.d_model) if cfg.layernorm else nn.Identity()
        self.unembed = Unembed(cfg)
        self.setup()
        self._init_weights(torch.Generator().manual_seed(seed))
        self._set_trainable()
        self.to(device=device, dtype=dtype)

    @torch.no_grad()
    def _init_weights(self, g: torch.Generator) -> None:
        """Random embeddings and positions with unit entries (as in the papers); every other
        matrix with std 1/sqrt(3 fan_in), the scale of PyTorch's default ``nn.Linear`` init."""
        cfg = self.cfg

        def normal_(p: Tensor, std: float) -> None:
            p.copy_(torch.randn(p.shape, generator=g) * std)

        def fan_in_(p: Tensor, fan_in: int) -> None:
            normal_(p, (3 * fan_in) ** -0.5)

        normal_(self.embed.W_E, 1.0)
        normal_(self.pos_embed.W_pos, 1.0)
        fan_in_(self.unembed.W_U, cfg.d_model)
        for block in self.blocks:
            attn = block.attn
            if cfg.identity_query:
                eye = torch.eye(cfg.d_model).reshape(cfg.d_model, cfg.n_heads, cfg.d_head).transpose(0, 1)
                attn.W_Q.copy_(eye)  # head h reads coordinates h*d_head .. (h+1)*d_head
            else:
                fan_in_(attn.W_Q, cfg.d_model)
            fan_in_(attn.W_K, cfg.d_model)
            fan_in_(attn.W_V, cfg.d_model)
            fan_in_(attn.W_O, cfg.d_model)
            if block.has_mlp:
                fan_in_(block.mlp.W_in, cfg.d_model)
                fan_in_(block.mlp.W_out, cfg.d_mlp)

    def _set_trainable(self) -> None:
        cfg = self.cfg
        for name, p in self.named_parameters():
            if cfg.memory_model:
                trainable = name in MEMORY_MODEL_TRAINED
            elif name == "embed.W_E":
                trainable = not cfg.freeze_embed
            elif name == "unembed.W_U":
                trainable = not cfg.freeze_unembed
            elif name == "pos_embed.W_pos":
                trainable = cfg.pos_embed == "learned"
            elif name.endswith("attn.W_Q"):
                trainable = not cfg.identity_query
            else:
                trainable = True
            p.requires_grad_(trainable)

    def forward(self, tokens: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos d_vocab"]:
        """Logits for every position."""
        if tokens.shape[1] > self.cfg.n_ctx:
            raise ValueError(f"sequence of {tokens.shape[1]} tokens exceeds n_ctx = {self.cfg.n_ctx}")
        resid = self.hook_embed(self.embed(tokens)) + self.hook_pos_embed(self.pos_embed(tokens))
        for block in self.blocks:
            resid = block(resid)
        return self.unembed(self.ln_final(resid))

    def trainable_parameters(self) -> dict[str, nn.Parameter]:
        return {name: p for name, p in self.named_parameters() if p.requires_grad}
