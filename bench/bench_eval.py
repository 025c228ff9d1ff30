"""Prompts per second, in one run: batched vs one prompt at a time, single- vs multi-token answers,
and few-shot prompts with their shared prefix run once vs full forward passes.

    python bench/bench_eval.py [--model embedded:smollm2-135m] [--task factual] [--n 96] [--batch-size 32]
                               [--readout-n 8]

Prints both throughputs and their ratio (target >= 3x), and checks both ways agree. Then, on the
factual task, the batched throughput of the facts whose answer is one token against those whose
answer is several (teacher-forced in the same single forward pass), as a ratio. Last, on
``--readout-n`` problems of the GSM8K readout task (8-shot prompts of about 900 tokens, from
``../shared/data/gsm8k/test.jsonl``), the metrics with the few-shot prefix run once
(``interp.scoring.prefix``) against plain full forward passes, as a ratio, with their largest
difference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import load_model
from interp.paths import shared_data_dir
from interp.scoring.evaluate import collect_metrics, evaluate
from interp.scoring.forward import make_batches, read_logits
from interp.tasks import build_task


def timed(fn, repeats: int):
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--task", default="factual")
    parser.add_argument("--n", type=int, default=96)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--readout-n", type=int, default=8, help="GSM8K readout problems for the shared-prefix ratio (0: skip)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: no thrashing on a shared 2-core machine)")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
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

    facts = build_task("factual", model.tokenizer)
    lengths = np.array([len(a) for a in facts.answer_sequences])
    one, multi = facts.subset(np.flatnonzero(lengths == 1)), facts.subset(np.flatnonzero(lengths > 1))
    if len(multi) == 0:
        print("no multi-token factual answers for this tokenizer")
        return
    k = min(len(one), len(multi))  # the same number of prompts each way
    one, multi = one.subset(range(k)), multi.subset(range(k))
    t_one, _ = timed(lambda: evaluate(model, one, batch_size=args.batch_size, progress=False), args.repeats)
    t_multi, _ = timed(lambda: evaluate(model, multi, batch_size=args.batch_size, progress=False), args.repeats)
    mean_len = float(lengths[lengths > 1][:k].mean())
    print(f"factual, {k} prompts each: single-token answers {k / t_one:8.1f} prompts/s, "
          f"multi-token answers (mean {mean_len:.1f} tokens) {k / t_multi:8.1f} prompts/s")
    print(f"multi_vs_single_token_throughput: {t_one / t_multi:.2f}x")
    if args.readout_n:
        shared_prefix(model, args.readout_n, args.batch_size, args.repeats)


def shared_prefix(model, n: int, batch_size: int, repeats: int) -> None:
    readout = build_task(f"gsm8k:{shared_data_dir() / 'gsm8k' / 'test.jsonl'}", model.tokenizer, n=n, seed=0)
    batches = make_batches(model, readout.prompts, batch_size, answers=readout.answer_sequences)
    t_full, full = timed(lambda: collect_metrics(model, readout, batches, read_logits), repeats)
    t_once, once = timed(lambda: collect_metrics(model, readout, batches), repeats)
    diff = float(np.max(np.abs(full["logp_answer_full"] - once["logp_answer_full"])))
    tokens = np.mean([len(model.tokenizer.encode_prompt(p)) for p in readout.prompts])
    print(f"GSM8K readout, {len(readout)} prompts of {tokens:.0f} tokens on average: full forward {len(readout) / t_full:6.2f} prompts/s, "
          f"shared prefix once {len(readout) / t_once:6.2f} prompts/s; max |logp_answer_full difference| {diff:.1e}")
    print(f"shared_prefix_vs_full: {t_full / t_once:.2f}x")


if __name__ == "__main__":
    main()
