"""Memory-recall probes of the Birth paper, read off the weights of a two-layer toy model.

Each probe builds the associative memory one weight matrix should hold and reports the
fraction of target associations recovered by an argmax (layers 0-based, as in hook names):

    probe_wo2   W_O of layer 2 (blocks.1): token embedding -> W_V W_O -> unembedding must
                give back the token (the induction head copies what it attends to).
    probe_wk2   W_K of layer 2: the query W_Q^T e_q must match, among all keys
                W_K^T W_O1^T W_V1^T e_v (a token written by the previous-token head), the key of v = q.
    probe_wk1   W_K of layer 1 (blocks.0): the query of position t+1 must match the key of
                position t (a previous-token head), over random positional embeddings.

Multi-head models report the best head for the two W_K probes. LayerNorm, if any, is
ignored (the probes read raw weights, as in the paper). :func:`ff_bigram_kl` measures how
far the last layer's MLP alone, read through the unembedding, is from the global bigram.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from jaxtyping import Float, Int
from torch import Tensor

from interp.toy.model import ToyTransformer


def recall_fraction(scores: Float[Tensor, "... n m"], targets: Int[Tensor, " n"]) -> float:
    """Fraction of rows whose argmax is the target; with leading dims, the best over them."""
    hits = (scores.argmax(-1) == targets).float().mean(-1)
    return hits.max().item()


def _value_output(model: ToyTransformer, layer: int, x: Float[Tensor, "n d_model"]) -> Float[Tensor, "n d_model"]:
    attn = model.blocks[layer].attn
    return torch.einsum("nd,hde,hef->nf", x, attn.W_V, attn.W_O)


@torch.no_grad()
def probe_wo2(model: ToyTransformer, tokens: Int[Tensor, " n"]) -> float | None:
    """Fraction of ``tokens`` that layer 2's value-output path maps back to themselves."""
    if model.cfg.n_layers < 2:
        return None
    out = _value_output(model, 1, model.embed.W_E[tokens])
    return recall_fraction(out @ model.unembed.W_U, tokens)


@torch.no_grad()
def probe_wk2(model: ToyTransformer, tokens: Int[Tensor, " n"]) -> float | None:
    """Fraction of query tokens whose best-matching layer-1-written key is their own."""
    if model.cfg.n_layers < 2:
        return None
    E = model.embed.W_E[tokens]
    attn = model.blocks[1].attn
    keys = torch.einsum("nd,hde->hne", _value_output(model, 0, E), attn.W_K)
    queries = torch.einsum("nd,hde->hne", E, attn.W_Q)
    scores = torch.einsum("hqe,hke->hqk", queries, keys)
    return recall_fraction(scores, torch.arange(len(tokens), device=scores.device))


@torch.no_grad()
def probe_wk1(model: ToyTransformer, seq_len: int | None = None) -> float | None:
    """Fraction of positions t+1 whose query best matches the key of position t (layer 1)."""
    if model.cfg.n_layers < 2:
        return None
    P = model.pos_embed.W_pos[: seq_len or model.cfg.n_ctx]
    attn = model.blocks[0].attn
    keys = torch.einsum("td,hde->hte", P[:-1], attn.W_K)
    queries = torch.einsum("td,hde->hte", P[1:], attn.W_Q)
    scores = torch.einsum("hqe,hke->hqk", queries, keys)
    return recall_fraction(scores, torch.arange(P.shape[0] - 1, device=scores.device))


@torch.no_grad()
def ff_bigram_kl(
    model: ToyTransformer,
    transition: Float[Tensor, "n_chars n_chars"],
    tokens: Int[Tensor, " n"],
) -> float | None:
    """Mean over ``tokens`` of KL(bigram(. | v) || softmax(W_U^T MLP(e_v))) for the last layer's MLP."""
    block = model.blocks[-1]
    if not block.has_mlp:
        return None
    x = block.ln2(model.embed.W_E[tokens][None])[0]
    logp = F.log_softmax(block.mlp(x) @ model.unembed.W_U, dim=-1)  # [n, d_vocab]
    target = torch.zeros_like(logp)
    target[:, : transition.shape[1]] = transition[tokens].to(logp)
    kl = (torch.xlogy(target, target) - target * logp).sum(-1)
    return kl.mean().item()
