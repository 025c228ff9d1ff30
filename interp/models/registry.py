"""Architecture registry: where each family keeps its blocks and raw MLP / attention weights.

One entry per Hugging Face ``model_type``, plus the toy trainer's family (``interp-toy``); no
model-type ``if`` chains elsewhere. Paths are relative to the module holding the raw weights
(``root`` under the loaded model's hooked module: the Hugging Face model under the bridge,
``bridge.original_model``, or the toy model itself), so edits act on the weights the forward
pass really uses (the bridge is booted without LayerNorm folding or weight centring).

A :class:`WeightRef` names one matrix. ``layout`` says how the stored tensor maps onto the
mathematical ``(out_features, in_features)`` matrix: ``"out_in"`` for ``nn.Linear``,
``"in_out"`` for GPT-2's ``Conv1D`` (stored transposed), ``"heads_in_out"`` for TransformerLens's
per-head ``W_Q/W_K/W_V`` ``[heads, in, head_dim]`` and ``"heads_out"`` for its ``W_O``
``[heads, head_dim, out]`` (the toy models). Fused projections (GPT-2's
``c_attn``, GPT-NeoX's ``query_key_value``) name a ``fused`` scheme and the part they take.
A matrix's bias, when it has one, sits next to it (``.weight`` -> ``.bias``).

Paths resolve through the blocks the TransformerBridge installs into the raw model, and must
name the tensors its forward pass reads: GPT-2's split q/k/v are views into ``c_attn``
(editing ``c_attn`` reaches them), but GPT-NeoX's are copies made at boot, so GPT-NeoX's
attention entries name those copies (``attention.q``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from interp.errors import UsageError

Layout = Literal["out_in", "in_out", "heads_in_out", "heads_out"]
TOY_FAMILY = "interp-toy"
Fused = Literal["none", "concat", "per_head"]

MLP_MATRICES = ("mlp_in", "mlp_gate", "mlp_out")
ATTN_MATRICES = ("attn_q", "attn_k", "attn_v", "attn_o")


@dataclass(frozen=True)
class WeightRef:
    """One weight matrix inside a block, relative to that block's module."""

    path: str  # e.g. "mlp.c_fc.weight"
    layout: Layout = "out_in"
    fused: Fused = "none"  # "concat": [q; k; v] blocks; "per_head": (heads, 3, head_dim) interleaved
    part: int = 0  # which of the fused parts (0 = q, 1 = k, 2 = v)
    n_parts: int = 1


@dataclass(frozen=True)
class NormRef:
    """One LayerNorm / RMSNorm: its module path and how its affine weight is applied.

    ``path`` is relative to a block (or, for ``ArchSpec.final_norm``, to the raw model);
    its ``.weight`` (and ``.bias`` for LayerNorm) are the parameters. ``weight_offset`` is
    1.0 where the module multiplies by ``1 + weight`` (Gemma's RMSNorm), else 0.0.
    """

    path: str
    rms: bool = False
    weight_offset: float = 0.0


@dataclass(frozen=True)
class ArchSpec:
    """What ``interp`` needs to know about one architecture family."""

    model_type: str
    family: str  # human name
    blocks_path: str  # the ModuleList of blocks in the raw model
    prepend_bos: bool  # default BOS policy (embedded models may override)
    matrices: dict[str, WeightRef] = field(default_factory=dict)
    root: str = "original_model"  # the raw model under the hooked module ("" for the toy models)
    # For norm-based attribution (interp.attribution): the block's norms by role
    # (ln1: before attention, ln2: before the MLP, ln1_post / ln2_post: Gemma's norms on
    # the attention / MLP output), the final norm, the MLP's activation module, and the
    # HF config flag that makes attention and MLP read the same input (GPT-NeoX).
    norms: dict[str, NormRef] = field(default_factory=dict)
    final_norm: NormRef | None = None
    mlp_act: str = ""
    parallel_flag: str | None = None

    @property
    def matrix_names(self) -> tuple[str, ...]:
        return tuple(self.matrices)

    def ref(self, matrix: str) -> WeightRef:
        if matrix not in self.matrices:
            raise UsageError(
                f"matrix {matrix!r} does not exist in {self.family} models; "
                f"choose from {', '.join(self.matrices)}"
            )
        return self.matrices[matrix]


def _qkv(path: str, layout: Layout, fused: Fused) -> dict[str, WeightRef]:
    return {
        name: WeightRef(path, layout=layout, fused=fused, part=i, n_parts=3)
        for i, name in enumerate(("attn_q", "attn_k", "attn_v"))
    }


def _llama_like(model_type: str, family: str, *, norms: dict[str, NormRef], final_norm: NormRef) -> ArchSpec:
    """Llama-style blocks (``model.layers``, gated MLP, separate q/k/v/o projections): Llama, Gemma 3."""
    return ArchSpec(
        model_type=model_type,
        family=family,
        blocks_path="model.layers",
        prepend_bos=True,
        matrices={
            "mlp_in": WeightRef("mlp.up_proj.weight"),
            "mlp_gate": WeightRef("mlp.gate_proj.weight"),
            "mlp_out": WeightRef("mlp.down_proj.weight"),
            "attn_q": WeightRef("self_attn.q_proj.weight"),
            "attn_k": WeightRef("self_attn.k_proj.weight"),
            "attn_v": WeightRef("self_attn.v_proj.weight"),
            "attn_o": WeightRef("self_attn.o_proj.weight"),
        },
        norms=norms,
        final_norm=final_norm,
        mlp_act="mlp.act_fn",
    )


ARCHITECTURES: dict[str, ArchSpec] = {
    "gpt2": ArchSpec(
        model_type="gpt2",
        family="GPT-2",
        blocks_path="transformer.h",
        prepend_bos=True,
        matrices={
            "mlp_in": WeightRef("mlp.c_fc.weight", layout="in_out"),
            "mlp_out": WeightRef("mlp.c_proj.weight", layout="in_out"),
            **_qkv("attn.c_attn.weight", "in_out", "concat"),
            "attn_o": WeightRef("attn.c_proj.weight", layout="in_out"),
        },
        norms={"ln1": NormRef("ln_1"), "ln2": NormRef("ln_2")},
        final_norm=NormRef("transformer.ln_f"),
        mlp_act="mlp.act",
    ),
    "gpt_neox": ArchSpec(
        model_type="gpt_neox",
        family="GPT-NeoX (Pythia)",
        blocks_path="gpt_neox.layers",
        prepend_bos=True,
        matrices={
            "mlp_in": WeightRef("mlp.dense_h_to_4h.weight"),
            "mlp_out": WeightRef("mlp.dense_4h_to_h.weight"),
            # The bridge splits the per-head fused ``query_key_value`` into separate q/k/v
            # Linear layers (copies) at boot and its forward reads only those, so an edit
            # must act on them: editing ``query_key_value`` would change nothing.
            "attn_q": WeightRef("attention.q.weight"),
            "attn_k": WeightRef("attention.k.weight"),
            "attn_v": WeightRef("attention.v.weight"),
            "attn_o": WeightRef("attention.dense.weight"),
        },
        norms={"ln1": NormRef("input_layernorm"), "ln2": NormRef("post_attention_layernorm")},
        final_norm=NormRef("gpt_neox.final_layer_norm"),
        mlp_act="mlp.act",
        parallel_flag="use_parallel_residual",
    ),
    "llama": _llama_like(
        "llama", "Llama",
        norms={"ln1": NormRef("input_layernorm", rms=True), "ln2": NormRef("post_attention_layernorm", rms=True)},
        final_norm=NormRef("model.norm", rms=True),
    ),
    "gemma3_text": _llama_like(
        "gemma3_text", "Gemma 3",
        norms={
            "ln1": NormRef("input_layernorm", rms=True, weight_offset=1.0),
            "ln1_post": NormRef("post_attention_layernorm", rms=True, weight_offset=1.0),
            "ln2": NormRef("pre_feedforward_layernorm", rms=True, weight_offset=1.0),
            "ln2_post": NormRef("post_feedforward_layernorm", rms=True, weight_offset=1.0),
        },
        final_norm=NormRef("model.norm", rms=True, weight_offset=1.0),
    ),
    TOY_FAMILY: ArchSpec(
        model_type=TOY_FAMILY,
        family="interp toy transformer",
        blocks_path="blocks",
        prepend_bos=False,
        root="",
        matrices={
            "mlp_in": WeightRef("mlp.W_in", layout="in_out"),
            "mlp_out": WeightRef("mlp.W_out", layout="in_out"),
            "attn_q": WeightRef("attn.W_Q", layout="heads_in_out"),
            "attn_k": WeightRef("attn.W_K", layout="heads_in_out"),
            "attn_v": WeightRef("attn.W_V", layout="heads_in_out"),
            "attn_o": WeightRef("attn.W_O", layout="heads_out"),
        },
    ),
}


def arch_for(model_type: str) -> ArchSpec:
    """The registry entry for a Hugging Face ``model_type``."""
    if model_type not in ARCHITECTURES:
        raise UsageError(
            f"architecture {model_type!r} is not in interp's registry; "
            f"supported: {', '.join(ARCHITECTURES)}"
        )
    return ARCHITECTURES[model_type]
