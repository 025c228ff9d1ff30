"""The training loop: fresh batches every step, metrics to ``metrics.jsonl``, log-spaced checkpoints.

Metrics (every ``eval_every`` steps and at the log-spaced checkpoint steps 0, 1, 2, 4, ...,
last), on a fixed clean test batch: ``icl_acc``, ``p_correct``, ``p_noise`` (noisy recall),
``loss_non_trigger``; the memory probes ``probe_wo2``, ``probe_wk2``, ``probe_wk1`` and ``ff_kl`` (:mod:`interp.toy.probes`);
and ``train_loss``, the mean training loss since the previous record.

With an output folder the run is resumable (the run-folder store, :func:`interp.toy.checkpoint.check_run_folder`):
the newest checkpoint also holds the optimizer state, the training generator's state, the
losses since the last record and the records so far, so a run killed at any moment and
started again with the same config continues from its last checkpoint (``metrics.jsonl`` cut
back to it) and ends with the weights and records of an uninterrupted run, bit for bit on a
CPU (``time_s`` aside, the wall time). A finished run started again trains nothing.
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
from safetensors.torch import load_file
from torch import Tensor

from interp.errors import UsageError
from interp.io import atomic_path
from interp.store import STATE_FILE, RunStore, load_state, save_state
from interp.toy import probes
from interp.toy.checkpoint import (
    WEIGHTS,
    check_run_folder,
    checkpoint_steps,
    defining_fields,
    fill_checkpoint,
    is_finished,
    load_checkpoint,
)
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
    """The trained model, its config and the metric records of the whole run; ``resumed_from``: the
    step a resumed run continued from (None: trained from the start); ``already_finished``: the
    folder held the finished run, nothing was trained (the model is its last checkpoint)."""

    model: ToyTransformer
    config: RunConfig
    history: list[dict] = field(default_factory=list)
    resumed_from: int | None = None
    already_finished: bool = False


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
    """Train a toy model from scratch; with ``out_dir``, write config, metrics and checkpoints there.

    ``out_dir`` follows the output-folder rule (:func:`interp.toy.checkpoint.check_run_folder`): a
    new or empty folder starts the run, one holding this run resumes it from its newest checkpoint
    (or, finished, returns it untouched), anything else is a UsageError before any work.
    """
    device = torch.device(device)
    if out_dir is None:
        return _train(config, None, device, dtype, on_record)
    store = check_run_folder(out_dir, config)
    with store.hold(leave_lock=False):
        defining, info = defining_fields(config.to_dict()), {"config": config.to_dict()}
        store.check(defining, info=info)  # again, holding the lock
        if store.previous is not None and is_finished(store, config):
            return _finished(store, config, device, dtype)
        store.start(defining, info=info)
        store.ran_on(device, dtype)
        result = _train(config, store, device, dtype, on_record)
        store.finish()
    return result


def _finished(store: RunStore, config: RunConfig, device: torch.device, dtype: torch.dtype) -> TrainResult:
    """The finished run in ``store``, read back (nothing is written)."""
    last = max(store.step_folders())
    log.info("%s holds this run, finished (step %d of %d); nothing to train", store.root, last, config.optim.steps)
    model, _ = load_checkpoint(store.root / f"step{last}", device=device, dtype=dtype)
    history = [json.loads(line) for line in (store.root / METRICS).read_text(encoding="utf-8").splitlines() if line.strip()]
    return TrainResult(model=model, config=config, history=history, resumed_from=last, already_finished=True)


METRICS = "metrics.jsonl"


def _train(
    config: RunConfig,
    store: RunStore | None,
    device: torch.device,
    dtype: torch.dtype,
    on_record: Callable[[dict], None] | None,
) -> TrainResult:
    data = SequenceGenerator(config.data, device=device)
    train_gen = make_generator(config.seed, device)
    test = data.sample(config.eval_sequences, make_generator(config.seed + TEST_SEED_OFFSET, device), noise=0.0)
    model = ToyTransformer(config.model, seed=config.seed + INIT_SEED_OFFSET, device=device, dtype=dtype)
    optimizer = make_optimizer(model, config)
    steps = config.optim.steps
    save_at = set(checkpoint_steps(steps))

    result = TrainResult(model=model, config=config)
    losses: list[float] = []
    start, elapsed = 0, 0.0
    metrics_file = None
    if store is not None:
        latest = store.latest_state()
        if latest is not None:
            start, state_path = latest
            state = load_state(state_path)
            if state.get("step") != start:
                raise UsageError(f"{state_path} holds the state of step {state.get('step')}, not {start}; delete that checkpoint folder")
            model.load_state_dict(load_file(str(state_path.parent / WEIGHTS)))
            optimizer.load_state_dict(state["optimizer"])
            train_gen.set_state(state["generator"])
            losses, elapsed, result.history = list(state["losses"]), float(state["time_s"]), list(state["history"])
            result.resumed_from = start
            log.info("resuming %s from step %d of %d", store.root, start, steps)
        elif store.step_folders():
            raise UsageError(
                f"{store.root} holds an unfinished toy run saved without a training state (last step {max(store.step_folders())} "
                f"of {steps}); it cannot be resumed: use another --out"
            )
        with atomic_path(store.root / METRICS) as tmp:  # the records up to the resumed step, none after it
            tmp.write_text("".join(json.dumps(r) + "\n" for r in result.history), encoding="utf-8")
        metrics_file = (store.root / METRICS).open("a", encoding="utf-8")

    def save(step: int) -> None:
        state = {"step": step, "optimizer": optimizer.state_dict(), "generator": train_gen.get_state(), "losses": list(losses),
                 "time_s": time.perf_counter() - t0, "history": list(result.history)}

        def fill(tmp: Path) -> None:
            fill_checkpoint(tmp, step, model, config)
            save_state(tmp / STATE_FILE, state)

        store.write_folder(f"step{step}", fill)
        store.drop_older_states(step)

    t0 = time.perf_counter() - elapsed
    try:
        for step in range(start, steps + 1):
            if store is not None and step in save_at and not (step == start and result.resumed_from is not None):
                save(step)  # the checkpoint a resume starts from is already there
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
    model.eval()
    return result


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.4f}"
