"""Prompts per second: batched evaluation vs one prompt at a time, in one run, same prompts.

    python bench/bench_eval.py [--model embedded:smollm2-135m] [--task factual] [--n 96] [--batch-size 32]

Prints both throughputs and their ratio (target >= 3x), and checks both ways agree.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from interp.scoring.evaluate import evaluate
from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import load_model
from interp.tasks import build_task


def timed(fn, repeats: int):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--task", default="factual")
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    torch.set_grad_enabled(False)
    model = load_model(args.model, device=args.device)
    prompts = build_task(args.task, model.tokenizer, n=args.n, seed=0)
    n = len(prompts)
    evaluate(model, prompts.subset(range(min(4, n))), batch_size=4, progress=False)  # warm-up

    t_single, single = timed(lambda: evaluate(model, prompts, batch_size=1, progress=False), args.repeats)
    t_batched, batched = timed(lambda: evaluate(model, prompts, batch_size=args.batch_size, progress=False), args.repeats)
    diff = float(np.max(np.abs(single["p_answer"].to_numpy() - batched["p_answer"].to_numpy())))

    print(f"model: {model.spec.display}  task: {args.task}  prompts: {n}  device: {model.device}  threads: {torch.get_num_threads()}")
    print(f"one at a time:          {n / t_single:8.1f} prompts/s  ({t_single:.2f} s)")
    print(f"batched (size {args.batch_size:3d}):     {n / t_batched:8.1f} prompts/s  ({t_batched:.2f} s)")
    print(f"max |P(answer) batched - single|: {diff:.2e}")
    print(f"batched_vs_single: {t_single / t_batched:.2f}x")


if __name__ == "__main__":
    main()
