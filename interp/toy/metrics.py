"""Evaluation of toy models on fresh (by default clean) test sequences.

``batch_metrics`` gives the scalar metrics logged during training; ``evaluate`` draws a test
batch for a run config and returns ``icl_acc, p_noise, p_correct, loss_non_trigger``;
``noisy_recall_table`` gives one row per test sequence in the format of the checkpoint
sweep's pretrained-model tables, P(noise) in the role of P(" the") and P(correct) in the
role of P(answer). Edits (:func:`interp.edits.apply.apply_edits` on the loaded model) are applied by
wrapping these calls in that context manager.
"""

from __future__ import annotations

import math

import pandas as pd
import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from interp.errors import UsageError
from interp.toy.bigram import shakespeare_bigram
from interp.toy.configs import RunConfig
from interp.toy.data import Batch, SequenceGenerator, make_generator
from interp.toy.model import ToyTransformer

TABLE_COLUMNS = ("prompt", "answer", "p_answer", "p_the", "log_ratio", "rank", "top1")


@torch.no_grad()
def log_probs(model: ToyTransformer, batch: Batch, *, chunk: int = 128) -> Float[Tensor, "batch seq d_vocab"]:
    """Log-probabilities of the next token at every input position, in chunks of sequences."""
    was_training = model.training
    model.eval()
    try:
        parts = [F.log_softmax(model(batch.inputs[i : i + chunk]).float(), dim=-1) for i in range(0, len(batch.inputs), chunk)]
    finally:
        model.train(was_training)
    return torch.cat(parts)


@torch.no_grad()
def batch_metrics(model: ToyTransformer, batch: Batch, noise_token: int | None) -> dict[str, float | None]:
    """In-context accuracy, P(correct), P(noise) at trigger occurrences from the second on;
    cross-entropy at positions that are not triggers (where the bigram model generates)."""
    logp = log_probs(model, batch)
    icl = batch.icl_mask
    lp = logp[icl]  # [n, d_vocab]
    answer = batch.answer[icl]
    non_trigger = ~batch.trigger_mask
    loss_nt = -logp[non_trigger].gather(1, batch.targets[non_trigger][:, None]).mean().item()
    if lp.shape[0] == 0:
        return {"icl_acc": None, "p_correct": None, "p_noise": None, "loss_non_trigger": loss_nt}
    return {
        "icl_acc": (lp.argmax(-1) == answer).float().mean().item(),
        "p_correct": lp.gather(1, answer[:, None]).exp().mean().item(),
        "p_noise": lp[:, noise_token].exp().mean().item() if noise_token is not None else None,
        "loss_non_trigger": loss_nt,
    }


def make_test_batch(
    config: RunConfig, *, n_sequences: int, seed: int, noise: float = 0.0, device: str | torch.device = "cpu"
) -> Batch:
    """A test batch of ``config``'s task with noise level ``noise`` (0: clean)."""
    if not (0.0 <= noise < 1.0) or math.isnan(noise):
        raise UsageError(f"noise must be in [0, 1), got {noise}")
    if noise > 0 and config.data.noise_token is None:
        raise UsageError(f"the {config.data.task} task has no noise token; use --noise 0")
    generator = SequenceGenerator(config.data, device=device)
    return generator.sample(n_sequences, make_generator(seed, device), noise=noise)


def eval_bytes(config: RunConfig, n_sequences: int) -> float:
    """An estimate of the memory :func:`evaluate` takes for ``n_sequences`` (one batch): the tokens,
    the logits and their log-softmax, and per layer the attention pattern and the residual, MLP activations."""
    m, seq = config.model, config.data.seq_len
    per_layer = m.n_heads * seq + 4 * m.d_model + (m.d_mlp or 0)
    return float(n_sequences) * seq * (8 + 4 * (2 * m.d_vocab + m.n_layers * per_layer))


def evaluate(
    model: ToyTransformer,
    config: RunConfig,
    *,
    n_sequences: int = 512,
    seed: int = 12345,
    noise: float = 0.0,
    device: str | torch.device = "cpu",
) -> dict[str, float | None]:
    """``icl_acc, p_noise, p_correct, loss_non_trigger`` on fresh test data (clean by default)."""
    batch = make_test_batch(config, n_sequences=n_sequences, seed=seed, noise=noise, device=device)
    return batch_metrics(model, batch, config.data.noise_token)


def noisy_recall_table(
    model: ToyTransformer,
    config: RunConfig,
    *,
    n_sequences: int,
    seed: int,
    noise: float = 0.0,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """One row per test sequence, read at its last trigger occurrence after the first.

    Columns: ``prompt`` ("seq0", ...), ``answer`` (the correct token as a string), ``p_answer``
    (P(correct)), ``p_the`` (P(noise token), the role of P(" the")), ``log_ratio``
    (log p_answer - log p_the), ``rank`` (1-based rank of the correct token), ``top1``.
    Sequences without a second trigger occurrence are skipped and replaced by further draws.
    """
    if config.data.task != "noisy-recall":
        raise UsageError(f"the noisy-recall table needs a noisy-recall run; this run was trained on {config.data.task}")
    if n_sequences < 1:
        raise UsageError(f"n_sequences must be positive, got {n_sequences}")
    batch = make_test_batch(config, n_sequences=2 * n_sequences + 8, seed=seed, noise=noise, device=device)
    has_icl = batch.icl_mask.any(dim=1)
    keep = torch.nonzero(has_icl).squeeze(1)[:n_sequences]
    if len(keep) < n_sequences:
        raise UsageError(f"only {len(keep)} of the test sequences have a repeated trigger; use longer sequences")
    sub = Batch(
        tokens=batch.tokens[keep], occurrence=batch.occurrence[keep], answer=batch.answer[keep],
        triggers=batch.triggers[keep], outputs=batch.outputs[keep],
    )
    logp = log_probs(model, sub)
    T = sub.icl_mask.shape[1]
    positions = torch.arange(T, device=logp.device)
    last = torch.where(sub.icl_mask, positions, -1).amax(dim=1)  # [n] last icl position
    rows = logp[torch.arange(len(keep), device=logp.device), last]  # [n, d_vocab]
    answer = sub.answer[torch.arange(len(keep), device=logp.device), last]
    lp_answer = rows.gather(1, answer[:, None]).squeeze(1)
    lp_noise = rows[:, config.data.noise_token]
    rank = (rows > lp_answer[:, None]).sum(dim=1) + 1
    chars = shakespeare_bigram().chars
    return pd.DataFrame(
        {
            "prompt": [f"seq{i}" for i in range(len(keep))],
            "answer": [chars[a] for a in answer.tolist()],
            "p_answer": lp_answer.exp().cpu().numpy(),
            "p_the": lp_noise.exp().cpu().numpy(),
            "log_ratio": (lp_answer - lp_noise).cpu().numpy(),
            "rank": rank.cpu().numpy().astype(int),
            "top1": (rank == 1).cpu().numpy(),
        },
        columns=list(TABLE_COLUMNS),
    )
