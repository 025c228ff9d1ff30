"""Speed of ``interp lm train`` against a plain PyTorch training loop of the same model, and the sweep's cost per checkpoint.

In one run, on the same model (``GPTNeoXForCausalLM`` of the ``--size`` preset, the same
initialisation) and the same batches (the corpus tokenized once, read in the run's order):

* our trainer (:func:`interp.lm.train.train`, the code ``interp lm train`` runs, with checkpoints
  only at step 0 and the last, whose writing is not counted) against the plainest loop that
  trains the same thing (forward, cross-entropy, backward, gradient clipping, AdamW, the
  learning-rate schedule), both timed over the same ``--steps`` from the first, alternating,
  best of ``--repeats``. They must end with the same weights (printed: the largest difference);
  target tokens/s ratio >= 0.95;
* ``interp checkpoint-sweep --steps all --task TASK`` over the trainer's checkpoints of one more
  run (``--sweep-checkpoints`` of them): seconds per checkpoint, loading included.

Both loops run with the malloc setting the trainer makes on a CPU
(:func:`interp.lm.train.keep_freed_memory`, set here first; ``--default-malloc`` times the plain
loop alone before it, with glibc's defaults, to show what it gains). The last line is ``trainer_vs_plain_loop: R x``.

    python bench/bench_train.py [--size small] [--steps 30] [--repeats 2] [--threads 1] [--device auto]
                                [--task ioi] [--sweep-checkpoints 6] [--set key=value ...] [--default-malloc] [--quick]

``--quick``: 8 steps, one repeat, the corpus cut to 300,000 characters per source, 3 checkpoints swept on 20 prompts.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from interp.lm.config import preset, with_overrides
from interp.lm.corpus import build_corpus
from interp.lm.data import TokenBlocks, tokenize_documents
from interp.lm.model import build_model
from interp.lm.schedule import lr_factor
from interp.lm.tokenizer import train_tokenizer
from interp.lm.train import keep_freed_memory, train
from interp.models.loading import quiet_progress
from interp.overrides import parse_sets


def plain_loop(cfg, tokenizer, data: TokenBlocks, device: torch.device) -> tuple[float, dict[str, torch.Tensor]]:
    """The same training written plainly: returns (seconds for cfg.steps steps, final weights)."""
    model = build_model(cfg.model, len(tokenizer), tokenizer.eos_token_id, cfg.seed, device=device)
    o = cfg.optim
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": o.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=o.lr, betas=o.betas, eps=o.eps, fused=(device.type == "cuda") or None)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda u: lr_factor(u, o, cfg.steps))
    losses = []
    _sync(device)
    t0 = time.perf_counter()
    for update in range(cfg.steps):
        batch = data.batch(update * o.batch_size, o.batch_size).to(device, non_blocking=True)
        logits = model(input_ids=batch[:, :-1], use_cache=False).logits
        loss = F.cross_entropy(logits.flatten(0, 1).float(), batch[:, 1:].flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
        optimizer.step()
        scheduler.step()
        losses.append(loss.detach())
    torch.stack(losses).tolist()
    _sync(device)
    return time.perf_counter() - t0, {k: v.detach().cpu() for k, v in model.state_dict().items()}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _final_weights(out: Path, step: int) -> dict[str, torch.Tensor]:
    from transformers import GPTNeoXForCausalLM

    with quiet_progress():
        model = GPTNeoXForCausalLM.from_pretrained(str(out / f"step{step}"))
    return {k: v.detach() for k, v in model.state_dict().items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small")
    parser.add_argument("--steps", type=int, default=30, help="timed training steps per run")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each loop (alternating); the best is kept")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--task", default="ioi", help="task of the checkpoint sweep")
    parser.add_argument("--n", type=int, default=None, help="prompts of the sweep (default: the task's)")
    parser.add_argument("--sweep-checkpoints", type=int, default=6, help="checkpoints the sweep reads")
    parser.add_argument("--set", dest="sets", action="append", default=[], help="config override, as interp lm train --set")
    parser.add_argument("--default-malloc", action="store_true",
                        help="first time the plain loop with glibc malloc's defaults (the trainer changes them on a CPU)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.quick:
        args.steps, args.repeats, args.sweep_checkpoints, args.n = 8, 1, 3, args.n or 20
    from interp.models.loading import resolve_device

    device = resolve_device(args.device)
    torch.set_num_threads(args.threads)
    overrides = {"checkpoints.log_until": 0, "checkpoints.n_evenly": 1, **parse_sets(args.sets)}
    if args.quick and not any(k == "corpus.max_chars" for k in overrides):
        overrides["corpus.max_chars"] = 300_000
    cfg = with_overrides(preset(args.size, steps=args.steps), overrides)

    t0 = time.perf_counter()
    corpus = build_corpus(cfg.corpus)
    tokenizer = train_tokenizer(corpus.documents, cfg.tokenizer.vocab_size)
    data = TokenBlocks(tokenize_documents(tokenizer, corpus.documents), cfg.model.n_ctx, cfg.seed)
    print(f"{cfg.size} on {device} ({torch.get_num_threads()} threads): d_model {cfg.model.d_model}, {cfg.model.n_layers} layers, "
          f"context {cfg.model.n_ctx}, vocabulary {len(tokenizer)}, batch {cfg.optim.batch_size} "
          f"({cfg.tokens_per_step} tokens), {args.steps} steps; corpus {data.n_tokens} tokens (prepared in {time.perf_counter() - t0:.1f} s)")

    if device.type == "cpu":
        if args.default_malloc:
            seconds, _ = plain_loop(cfg, tokenizer, data, device)
            print(f"{'plain, malloc defaults':<24}{cfg.tokens_per_step * args.steps / seconds:>10.0f} tokens/s  ({seconds:.2f} s)")
        keep_freed_memory()  # what the trainer sets on a CPU (for the process): both loops run with it
    ours, plain = [], []
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        for r in range(args.repeats):
            seconds, plain_weights = plain_loop(cfg, tokenizer, data, device)
            plain.append(seconds)
            out = Path(tmp) / f"ours{r}"
            result = train(cfg, out, device=device, progress=False)
            ours.append(cfg.tokens_per_step * args.steps / result.tokens_per_s)
        diff = max((plain_weights[k] - v).abs().max().item() for k, v in _final_weights(out, args.steps).items())
        tokens = cfg.tokens_per_step * args.steps
        print(f"{'plain PyTorch loop':<24}{tokens / min(plain):>10.0f} tokens/s  (best of {args.repeats}: {min(plain):.2f} s)")
        print(f"{'interp lm train':<24}{tokens / min(ours):>10.0f} tokens/s  (best of {args.repeats}: {min(ours):.2f} s)")
        print(f"same final weights: largest difference {diff:.3g}")

        from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
        from interp.models.spec import ModelSpec

        sweep_cfg = with_overrides(cfg, {"checkpoints.n_evenly": max(1, args.sweep_checkpoints - 1)})
        run_dir = Path(tmp) / "sweep-run"
        train(sweep_cfg, run_dir, device=device, progress=False)
        n_checkpoints = len(list(run_dir.glob("step*")))
        t = time.perf_counter()
        run_sweep(SweepConfig(out=str(Path(tmp) / "sweep"), model=ModelSpec.parse(str(run_dir)), steps="all", task=args.task,
                              n=args.n, device=str(device)))
        seconds = time.perf_counter() - t
        print(f"checkpoint sweep --task {args.task} ({args.n or 'default'} prompts): {n_checkpoints} checkpoints in {seconds:.1f} s, "
              f"{seconds / n_checkpoints:.2f} s per checkpoint")
    print(f"trainer_vs_plain_loop: {min(plain) / min(ours):.2f}x")


if __name__ == "__main__":
    main()
