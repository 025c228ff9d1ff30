"""The training loop of ``interp lm train``: a GPT-NeoX model from scratch on the corpus, checkpoints on Pythia's schedule, resumable.

:func:`train` builds the corpus and its tokenizer, tokenizes the corpus once, builds the model
from the seed (or loads the newest checkpoint's weights and training state when the folder
holds this run already) and runs plain steps: a batch of ``optim.batch_size`` sequences,
forward, cross-entropy on every position, backward, gradient clipping, AdamW, the learning
rate of the next step. Checkpoint ``step{N}`` holds the weights after N updates (``step0``: the
initialisation); the loss of step N is that of the batch the N-th update was computed on.

On a CPU the same config gives the same weights bit for bit, whether or not the run was killed
and resumed in between: the initialisation and the data order are drawn from explicit
generators of the seed, the model has no dropout, and a resume restores the weights, the
optimizer and scheduler states, the RNG states and the data position of the checkpoint.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from interp.errors import UsageError
from interp.lm import checkpoint as ckpt
from interp.lm.config import TrainConfig
from interp.lm.corpus import build_corpus, check_corpus
from interp.lm.data import TokenBlocks, tokenize_documents
from interp.lm.model import build_model, count_parameters, load_weights
from interp.lm.schedule import checkpoint_steps, lr_factor, warmup_steps
from interp.lm.tokenizer import coverage, train_tokenizer
from interp.models.loading import quiet_progress
from interp.store import RunStore

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """What a call of :func:`train` did: the run folder, the steps trained now, the loss history of the whole run."""

    out: Path
    config: TrainConfig
    resumed_from: int | None
    history: list[dict[str, float]] = field(default_factory=list)
    tokens_per_s: float | None = None
    n_params: int = 0


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse (no mmap, no trimming); True when it applied.

    A CPU training step allocates and frees the same large tensors (the logits and their gradient:
    batch x n_ctx x vocab floats, 33 MB for the small preset) every step. Above glibc's mmap
    threshold (at most 32 MB) each is mapped and unmapped, and its pages are faulted in and zeroed
    again on every step: about 400,000 page faults per 10 steps of the small preset, a fifth of
    the step time on this machine. This process-wide setting (``mallopt(M_MMAP_MAX, 0)``,
    ``mallopt(M_TRIM_THRESHOLD, 1 GiB)``) keeps them in the heap; peak memory is unchanged. It is
    for a process that trains (:func:`train` sets it on a CPU); a no-op where malloc is not glibc's.
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 1 << 30))


def make_optimizer(model: torch.nn.Module, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices and embeddings only (not biases or LayerNorm gains), as GPT-NeoX."""
    o = config.optim
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = next(model.parameters()).device.type == "cuda"
    return torch.optim.AdamW(groups, lr=o.lr, betas=o.betas, eps=o.eps, fused=fused or None)


def make_scheduler(optimizer: torch.optim.Optimizer, config: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, functools.partial(lr_factor, optim=config.optim, steps=config.steps))


def lm_loss(model: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of ``batch`` (sequences of n_ctx + 1 tokens: inputs [:-1], targets [1:])."""
    logits = model(input_ids=batch[:, :-1], use_cache=False).logits  # [batch, n_ctx, vocab]
    return F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())


def _tokenizer(out: Path, documents, vocab_size: int):
    """The run's tokenizer: the saved one when resuming, else trained on the corpus (saved by the caller)."""
    from transformers import PreTrainedTokenizerFast

    folder = out / ckpt.TOKENIZER_DIR
    if (folder / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(folder))
    log.info("training a %d-token BPE tokenizer on %d documents", vocab_size, len(documents))
    return train_tokenizer(documents, vocab_size)


def _tokenizer_record(tokenizer) -> dict[str, Any]:
    """The tokenizer's size, hash and what it covers of the evaluation (:func:`interp.lm.tokenizer.coverage`)."""
    text = tokenizer.backend_tokenizer.to_str()
    covered = dataclasses.asdict(coverage(tokenizer))
    return {"vocab_size": len(tokenizer), "eos_token": tokenizer.eos_token, "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "coverage": {k: v for k, v in covered.items() if k not in ("vocab_size", "chars_per_token")}}


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def train(
    config: TrainConfig,
    out: str | Path,
    *,
    device: str | torch.device = "cpu",
    data_dir: str | Path | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) the run ``config`` in the folder ``out``; see the module docstring.

    ``data_dir`` is where the corpus files are (default: the shared data folder). On a CPU it
    sets malloc to keep freed memory, for the whole process (:func:`keep_freed_memory`). Bad input
    (a corpus file missing, a folder holding another run or other files, corpus files that
    changed, a corpus too small for one batch) is a UsageError before anything is written.
    """
    device = torch.device(device)
    out = Path(out).expanduser()
    data_dir = None if data_dir is None else Path(data_dir)
    ckpt.check_run_folder(out, config)
    if device.type == "cpu":
        keep_freed_memory()
    check_corpus(config.corpus, data_dir)
    t0 = time.perf_counter()
    corpus = build_corpus(config.corpus, data_dir)
    sources = [dataclasses.asdict(s) for s in corpus.sources]
    store = ckpt.run_store(out)
    tokenizer = _tokenizer(store.root, corpus.documents, config.tokenizer.vocab_size)
    ids = tokenize_documents(tokenizer, corpus.documents)
    data = TokenBlocks(ids, config.model.n_ctx, config.seed)
    if data.n_blocks < config.optim.batch_size:
        raise UsageError(
            f"the corpus makes {data.n_blocks} sequences of {config.model.n_ctx + 1} tokens, fewer than one batch "
            f"(optim.batch_size {config.optim.batch_size}); use a larger corpus or a smaller batch or model.n_ctx"
        )
    log.info("corpus: %d documents, %d tokens, %d sequences of %d tokens (%.1f s)",
             len(corpus.documents), ids.numel(), data.n_blocks, config.model.n_ctx, time.perf_counter() - t0)
    # the first writes, once every check has passed: the definition (on opening), then the tokenizer
    info = {"config": config.to_dict(), "corpus": sources}
    with store.open(ckpt.defining_fields(config), info=info, hashes=ckpt.source_hashes(sources)):
        if not store.folders(ckpt.TOKENIZER_DIR):
            store.write_folder(ckpt.TOKENIZER_DIR, lambda tmp: tokenizer.save_pretrained(str(tmp)))
        return _run(config, store, device, tokenizer, data, progress)


def _run(config: TrainConfig, store: RunStore, device: torch.device, tokenizer, data: TokenBlocks, progress: bool) -> TrainResult:
    out = store.root
    eos = tokenizer.eos_token_id
    model = build_model(config.model, len(tokenizer), eos, config.seed, device=device)
    store.ran_on(device, next(model.parameters()).dtype)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config)
    schedule = checkpoint_steps(config.steps, config.checkpoints)
    save_at = set(schedule)
    history: list[dict[str, float]] = []
    speed: list[dict[str, Any]] = []
    start = 0
    latest = ckpt.latest_state(store)
    if latest is not None:
        start, state_path = latest
        state = ckpt.load_state(state_path)
        load_weights(model, state_path.parent)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"], device)
        history = list(state["history"])
        speed = list(state.get("speed", []))
        if state["data"]["position"] != start * config.optim.batch_size:
            raise UsageError(f"{state_path}: data position {state['data']['position']} does not match step {start}; delete that checkpoint")
        log.info("resuming %s from step %d", out, start)
    counts = count_parameters(model)
    record: dict[str, Any] = {
        "tokenizer": _tokenizer_record(tokenizer),
        "model": {**counts, "tokens_per_step": config.tokens_per_step, "tokens_per_epoch": data.n_tokens},
        "schedule": {"checkpoints": schedule, "warmup_steps": warmup_steps(config.optim, config.steps)},
    }
    store.record(**record, history=history, speed=speed, done=start >= config.steps)

    def save(step: int) -> None:
        state = {
            "step": step,
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng": _rng_state(device),
            "data": {"position": step * config.optim.batch_size, "seed": config.seed},
            "history": history,
            "speed": speed,
        }

        def fill(tmp: Path) -> None:
            with quiet_progress():
                model.save_pretrained(str(tmp))
            tokenizer.save_pretrained(str(tmp))
            ckpt.save_state(tmp / ckpt.STATE, state)

        store.write_folder(f"step{step}", fill)
        ckpt.drop_older_states(store, step)
        store.record(history=history, speed=speed, done=step >= config.steps)

    if latest is None:
        save(0)
    result = TrainResult(out=out, config=config, resumed_from=start if latest is not None else None, n_params=counts["n_params"])
    bar = tqdm(total=config.steps, initial=start, desc="lm train", unit="step", disable=not progress, dynamic_ncols=True)
    pending: list[torch.Tensor] = []
    pending_lr: list[float] = []
    trained_tokens, train_seconds = 0, 0.0
    interval_tokens, interval_start = 0, time.perf_counter()
    tick = time.perf_counter()

    def flush(step: int) -> None:
        """Move the losses of the steps up to ``step`` from the device into the history (one synchronisation)."""
        values = torch.stack(pending).tolist()
        first = step - len(values) + 1
        for i, (loss, lr) in enumerate(zip(values, pending_lr)):
            if not math.isfinite(loss):
                raise UsageError(
                    f"training diverged at step {first + i} (loss {loss}); lower the learning rate, e.g. --set optim.lr={config.optim.lr / 4:g}"
                )
            history.append({"step": first + i, "loss": loss, "lr": lr})
        pending.clear()
        pending_lr.clear()

    model.train()
    try:
        for update in range(start, config.steps):
            step = update + 1
            batch = data.batch(update * config.optim.batch_size, config.optim.batch_size).to(device, non_blocking=True)
            lr = optimizer.param_groups[0]["lr"]
            loss = lm_loss(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
            optimizer.step()
            scheduler.step()
            pending.append(loss.detach())
            pending_lr.append(lr)
            trained_tokens += config.tokens_per_step
            interval_tokens += config.tokens_per_step
            bar.update(1)
            if step in save_at or time.perf_counter() - tick > 1.0:
                flush(step)
                now = time.perf_counter()
                train_seconds += now - tick
                tick = now
                bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", tok_s=f"{trained_tokens / max(train_seconds, 1e-9):.0f}", refresh=False)
            if step in save_at:
                seconds = time.perf_counter() - interval_start
                speed.append({"step": step, "tokens_per_s": round(interval_tokens / seconds, 1), "device": str(device),
                              "threads": torch.get_num_threads()})
                save(step)
                log.info("step %d: loss %.4f, %.0f tokens/s", step, history[-1]["loss"], interval_tokens / seconds)
                interval_tokens, interval_start = 0, time.perf_counter()
                tick = time.perf_counter()  # checkpoint writing is not training time
    finally:
        bar.close()
    from interp.lm.plots import plot_loss  # matplotlib only once there is a curve to draw

    if history:
        plot_loss(history, out / ckpt.LOSS_PLOT, title=f"{config.size}: {counts['n_params'] / 1e6:.2f}M parameters, seed {config.seed}")
    result.history = history
    result.tokens_per_s = trained_tokens / train_seconds if train_seconds > 0 else None
    return result
