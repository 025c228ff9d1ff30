"""The training loop: fresh batches every step, metrics to ``metrics.jsonl``, log-spaced checkpoints.

Metrics (every ``eval_every`` steps and at the log-spaced checkpoint steps 0, 1, 2, 4, ...,
last), on a fixed clean test batch: ``icl_acc``, ``p_correct``, ``p_noise`` (noisy recall),
``loss_non_trigger``; the memory probes ``probe_wo2``, ``probe_wk2``, ``probe_wk1`` and ``ff_kl`` (:mod:`interp.toy.probes`);
and ``train_loss``, the mean training loss since the previous record.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from interp.errors import UsageError
from interp.io import now, provenance
from interp.toy import probes
from interp.toy.checkpoint import checkpoint_steps, save_checkpoint, write_run_config
from interp.toy.configs import RunConfig
from interp.toy.data import Batch, SequenceGenerator, make_generator
from interp.toy.metrics import batch_metrics
from interp.toy.model import ToyTransformer

log = logging.getLogger(__name__)

# offsets that keep the data, test-data and model-init streams of one seed apart
TEST_SEED_OFFSET = 1_000_003
INIT_SEED_OFFSET = 2_000_029


@dataclass
class TrainResult:
    model: ToyTransformer
    config: RunConfig
    history: list[dict] = field(default_factory=list)


def loss_fn(logits: Float[Tensor, "batch seq d_vocab"], batch: Batch, loss_on: str) -> Tensor:
    """Cross-entropy over all positions, or only at trigger occurrences from the second on."""
    if loss_on == "icl":
        mask = batch.icl_mask
        if not mask.any():  # no repeated trigger in the whole batch: nothing to learn from
            return logits.sum() * 0.0
        return F.cross_entropy(logits[mask].float(), batch.targets[mask])
    return F.cross_entropy(logits.flatten(0, 1).float(), batch.targets.flatten())


def make_optimizer(model: ToyTransformer, config: RunConfig) -> torch.optim.Optimizer:
    o = config.optim
    params = list(model.trainable_parameters().values())
    if o.optimizer == "sgd":
        return torch.optim.SGD(params, lr=o.lr, momentum=o.momentum, weight_decay=o.weight_decay)
    return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay, eps=1e-8)


def probe_metrics(model: ToyTransformer, generator: SequenceGenerator) -> dict[str, float | None]:
    """The memory probes; triggers are the fixed ones, or every character when sampled."""
    dev = model.embed.W_E.device
    chars = torch.arange(generator.n_chars, device=dev)
    fixed = generator.fixed_triggers
    triggers = fixed.to(dev) if fixed is not None else chars
    non_triggers = chars[~torch.isin(chars, triggers)] if fixed is not None else chars
    return {
        "probe_wo2": probes.probe_wo2(model, chars),
        "probe_wk2": probes.probe_wk2(model, triggers),
        "probe_wk1": probes.probe_wk1(model, generator.config.seq_len),
        "ff_kl": probes.ff_bigram_kl(model, generator.bigram.transition.to(dev), non_triggers),
    }


def train(
    config: RunConfig,
    out_dir: str | Path | None = None,
    *,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    on_record: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train a toy model from scratch; with ``out_dir``, write config, metrics and checkpoints there."""
    device = torch.device(device)
    started = now()
    data = SequenceGenerator(config.data, device=device)
    train_gen = make_generator(config.seed, device)
    test = data.sample(config.eval_sequences, make_generator(config.seed + TEST_SEED_OFFSET, device), noise=0.0)
    model = ToyTransformer(config.model, seed=config.seed + INIT_SEED_OFFSET, device=device, dtype=dtype)
    optimizer = make_optimizer(model, config)
    steps = config.optim.steps
    save_at = set(checkpoint_steps(steps))

    metrics_file = None
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_run_config(out_dir, config, provenance(started, device=device, dtype=dtype))
        metrics_file = (out_dir / "metrics.jsonl").open("w", encoding="utf-8")

    result = TrainResult(model=model, config=config)
    losses: list[float] = []
    t0 = time.perf_counter()
    try:
        for step in range(steps + 1):
            if out_dir is not None and step in save_at:
                save_checkpoint(out_dir, step, model, config)
            if step % config.eval_every == 0 or step in save_at:
                record = {
                    "step": step,
                    "train_loss": sum(losses) / len(losses) if losses else None,
                    **batch_metrics(model, test, config.data.noise_token),
                    **probe_metrics(model, data),
                    "time_s": round(time.perf_counter() - t0, 3),
                }
                losses.clear()
                result.history.append(record)
                if metrics_file is not None:
                    metrics_file.write(json.dumps(record) + "\n")
                    metrics_file.flush()
                if on_record is not None:
                    on_record(record)
                log.info(
                    "step %d  loss %s  icl_acc %s  p_noise %s  p_correct %s",
                    step, _fmt(record["train_loss"]), _fmt(record["icl_acc"]), _fmt(record["p_noise"]),
                    _fmt(record["p_correct"]),
                )
            if step == steps:
                break
            batch = data.sample(config.optim.batch_size, train_gen)
            loss = loss_fn(model(batch.inputs), batch, config.loss_on)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if not math.isfinite(losses[-1]):
                raise UsageError(
                    f"training diverged at step {step} (loss {losses[-1]}); lower the learning rate, "
                    f"e.g. --set optim.lr={config.optim.lr / 4:g}"
                )
    finally:
        if metrics_file is not None:
            metrics_file.close()
    if out_dir is not None:
        write_run_config(out_dir, config, provenance(started, device=device, dtype=dtype, finished=now()))
    model.eval()
    return result


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"
