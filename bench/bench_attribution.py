"""Benchmark: the cost of every attribution scope for one layer, against one plain forward pass.

On the same batches (Tiny Shakespeare sentences, or a built-in passage when the shared data
is absent), side by side in one process:

    plain forward        ``model.bridge(input_ids)``: the whole model, every position unembedded
    attribution, layer L the hooked forward (cached activations up to block L+1) plus the
    (ATTN-W .. ATBFFRESLN) decomposition of every component of layer L, IG included
    IG share             the part of that spent in the integrated-gradients step (path
                         gradients of the FF activation and the per-token products)

Each is timed ``--repeats`` times after one warm-up and the median is kept. Prints the ratio
``attribution / forward`` and IG's share; the last line is ``ratio_vs_forward: X``.

    python bench/bench_attribution.py [--model embedded:smollm2-135m] [--n 32] [--layer MIDDLE]
                                      [--ig-steps 32] [--batch-size 8] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

import interp.attribution.decompose as decompose
from interp.attribution.attribute import attribute_batch
from interp.attribution.layout import BlockLayout, layer_weights
from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import load_model
from interp.paths import shared_data_dir
from interp.scoring.forward import make_batches

FALLBACK = (
    "When the morning came, the travellers went to the market in the town. They bought bread and wine, "
    "and then they walked along the river to the old bridge. The city is located in the north of the country. "
    "In the evening, the children played in the garden while their mother read a book to the youngest. "
    "A letter arrived from the capital; it said that the king had gone to the sea."
)


def sentences(n: int) -> list[str]:
    path = shared_data_dir() / "tinyshakespeare" / "input.txt"
    if path.is_file():
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
        text = [line for line in lines if line and not line.endswith(":")]
    else:
        text = [s.strip() + "." for s in FALLBACK.split(".") if s.strip()]
    return [text[k % len(text)] for k in range(n)]


@contextmanager
def ig_timer(total: list[float]) -> Iterator[None]:
    """Accumulate the seconds spent in the IG functions the decomposition calls."""
    originals = decompose.ig_parts, decompose.gated_ig_parts

    def timed(fn: Callable) -> Callable:
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            total[0] += time.perf_counter() - t0
            return out

        return wrapper

    decompose.ig_parts, decompose.gated_ig_parts = timed(originals[0]), timed(originals[1])
    try:
        yield
    finally:
        decompose.ig_parts, decompose.gated_ig_parts = originals


def median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--n", type=int, default=32, help="prompts")
    parser.add_argument("--layer", type=int, default=None, help="default: the middle layer")
    parser.add_argument("--ig-steps", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    model = load_model(args.model, device=args.device)
    layer = model.n_layers // 2 if args.layer is None else model.check_layer(args.layer)
    layout = BlockLayout.of(model)
    weights = {layer: layer_weights(model, layer)}
    batches = make_batches(model, sentences(args.n), args.batch_size)
    n_tokens = int(sum(b.attention_mask.sum() for b in batches))
    print(f"{model.spec.display}: {args.n} prompts, {n_tokens} tokens, {len(batches)} batches, layer {layer}, "
          f"IG steps {args.ig_steps}, {torch.get_num_threads()} torch thread(s), device {args.device}", flush=True)

    def sync() -> None:
        if model.device.type == "cuda":
            torch.cuda.synchronize()

    def plain() -> None:
        with torch.no_grad():
            for b in batches:
                model.bridge(b.input_ids, attention_mask=b.attention_mask)
        sync()

    ig_seconds = [0.0]

    def scopes() -> None:
        for b in batches:
            for _, res in attribute_batch(model, b, (layer,), args.ig_steps, layout=layout, weights=weights):
                del res
        sync()

    t_plain = median_time(plain, args.repeats)
    scopes()  # warm-up outside the IG timer
    runs = []
    for _ in range(args.repeats):
        ig_seconds[0] = 0.0
        with ig_timer(ig_seconds):
            t0 = time.perf_counter()
            scopes()
            runs.append((time.perf_counter() - t0, ig_seconds[0]))
    t_scopes, t_ig = sorted(runs)[len(runs) // 2]
    print(f"plain forward (whole model):           {t_plain:8.3f} s")
    print(f"all scopes of layer {layer} (hooked fwd + decomposition): {t_scopes:8.3f} s")
    print(f"  of which IG ({args.ig_steps} steps):               {t_ig:8.3f} s  ({100 * t_ig / t_scopes:.1f}%)")
    print(f"ig_share: {t_ig / t_scopes:.3f}")
    print(f"ratio_vs_forward: {t_scopes / t_plain:.2f}")


if __name__ == "__main__":
    main()
