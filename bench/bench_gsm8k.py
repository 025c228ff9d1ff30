"""GSM8K generation speed, three ratios measured side by side in one run, on the same problems:

    batched_vs_single      batched generation vs one problem at a time (both reuse the prefix)   target >= 3x
    prefix_reuse           shared-prefix KV cache computed once vs the prefix recomputed per batch target >= 2x
    ours_vs_hf_generate    our tokens/s vs Hugging Face ``generate`` on the same batches            target >= 1.0x

    python bench/bench_gsm8k.py [--model embedded:smollm2-135m] [--n 16] [--n-shot 8] [--batch-size 8]
                                [--max-new-tokens 48] [--threads 1] [--device auto] [--data test.jsonl]

``generate`` runs on the same model (the plain Hugging Face module tree, see
``interp.generate.backend``) with the same left-padded prompts, greedy, the same stop string
and budget. Every way must produce the same tokens; the script checks it and says so. Tokens
are counted up to each problem's stop, the same count for every way, so each ratio is a ratio
of wall times. Runs on CPU with one thread by default (``--threads``) and on a GPU with
``--device cuda``.
"""

from __future__ import annotations

import argparse
import time

import torch

from interp.generate import GenerateConfig, Generator, split_common_prefix
from interp.generate.backend import plain_hf
from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import load_model
from interp.paths import shared_data_dir
from interp.tasks import gsm8k_readout as gsm


def _generate(model, prefix, suffixes, batch_size, reuse, max_new_tokens):
    config = GenerateConfig(max_new_tokens=max_new_tokens, batch_size=batch_size, stop=(gsm.STOP,), reuse_prefix=reuse)
    generator = Generator(model, prefix, config)
    out = []
    for start in range(0, len(suffixes), batch_size):
        out.extend(generator.run_batch(suffixes[start : start + batch_size]).generations)
    return out


def _hf_generate(model, prefix, suffixes, batch_size, max_new_tokens):
    """Hugging Face ``generate`` on left-padded full prompts; the generated ids of each row."""
    tok = model.tokenizer
    out = []
    with plain_hf(model), torch.inference_mode():
        for start in range(0, len(suffixes), batch_size):
            rows = [list(prefix) + list(s) for s in suffixes[start : start + batch_size]]
            width = max(map(len, rows))
            ids = torch.tensor([[tok.pad_token_id] * (width - len(r)) + r for r in rows], device=model.device)
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in rows], device=model.device)
            generated = model.raw_model.generate(
                ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=False, stop_strings=[gsm.STOP],
                tokenizer=tok.tokenizer, pad_token_id=tok.pad_token_id, top_p=None, top_k=None, temperature=None,
            )
            out.extend(generated[:, width:].tolist())
    return out


def _timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--data", default=str(shared_data_dir() / "gsm8k" / "test.jsonl"))
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--n-shot", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    model = load_model(args.model, device=args.device)
    problems = gsm.load_split(args.data, "test")[: args.n]
    few_shot = gsm.FewShotPrompt(gsm.choose_exemplars("wei", args.n_shot, [p.question for p in problems]))
    # as `interp gsm8k` does: whole prompts tokenized, the shared tokens split off, batched by length
    prefix, suffixes = split_common_prefix([model.tokenizer.encode_prompt(few_shot.prompt(p.question)) for p in problems])
    suffixes = sorted(suffixes, key=len)
    mnt, bs = args.max_new_tokens, args.batch_size
    _generate(model, prefix, suffixes[:2], 2, True, 2)  # warm-up

    t_batched, batched = _timed(lambda: _generate(model, prefix, suffixes, bs, True, mnt))
    t_single, single = _timed(lambda: _generate(model, prefix, suffixes, 1, True, mnt))
    t_recompute, recompute = _timed(lambda: _generate(model, prefix, suffixes, bs, False, mnt))
    t_hf, hf = _timed(lambda: _hf_generate(model, prefix, suffixes, bs, mnt))

    ours = [g.token_ids for g in batched]
    same_single = ours == [g.token_ids for g in single]
    same_recompute = ours == [g.token_ids for g in recompute]
    same_hf = all(list(h[: len(o)]) == list(o) for h, o in zip(hf, ours))
    tokens = sum(len(o) for o in ours)

    print(
        f"model: {model.spec.display}  problems: {len(suffixes)}  shots: {args.n_shot}  prefix tokens: {len(prefix)}  "
        f"max new tokens: {mnt}  batch: {bs}  device: {model.device}  threads: {torch.get_num_threads()}"
    )
    print(f"tokens generated (up to each stop): {tokens}")
    for name, t in (("batched, prefix reused", t_batched), ("one at a time", t_single),
                    ("batched, prefix recomputed", t_recompute), ("Hugging Face generate", t_hf)):
        print(f"  {name:28s} {tokens / t:8.1f} tokens/s  ({t:.1f} s)")
    print(f"same tokens: one at a time {same_single}, prefix recomputed {same_recompute}, HF generate {same_hf}")
    print(f"batched_vs_single: {t_single / t_batched:.2f}x")
    print(f"prefix_reuse: {t_recompute / t_batched:.2f}x")
    print(f"ours_vs_hf_generate: {t_hf / t_batched:.2f}x")


if __name__ == "__main__":
    main()
