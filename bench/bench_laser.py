"""Benchmark: LASER sweeps the reference way against interp's, on the same grid, in one process.

The reference way (the LASER authors' code): for every config, deepcopy the model, truncate the
weight with ``torch.svd_lowrank(W, q=k, niter=2)`` (randomized), run a full forward pass that
unembeds every position. interp's way (:func:`interp.laser.sweep.run_configs`): exact SVD
computed once per matrix, the weight edited in place and restored, the residual at the edited
layer cached per prompt batch and only the blocks from there on run, last position unembedded.

Grids, on the factual task of the embedded default model (``--n`` prompts):
    (a) all layers x mlp_in,mlp_out x 6 rhos      target speedup >= 2.5
    (b) last third of the layers x the same       target speedup >= 5
It also prints our sweep's time over the bare suffix-forward floor (the same suffix passes and
metrics with no edit; target <= 1.25), the largest metric difference between our results and a
naive full-forward run with the exact SVD (must be <= 1e-4), and how far the reference's
randomized SVD moves P(answer) from the exact one. The last line is ``speedup_vs_naive: X`` for
grid (b). ``--quick`` runs a reduced grid (b) only, in under a minute.

    python bench/bench_laser.py [--quick] [--n 64] [--threads 1] [--naive-every 1]

``--naive-every K`` times the reference on every K-th config only and scales its time up (it
says so in the output); the default, 1, runs the whole grid both ways.
"""

from __future__ import annotations

import argparse
import copy
import logging
import math
import time
from dataclasses import replace

import numpy as np
import torch

from interp.edits.apply import apply_edits
from interp.edits.grid import Grid
from interp.edits.lowrank import rank_for
from interp.edits.svd_cache import SVDCache
from interp.edits.weights import resolve
from interp.laser.sweep import BASELINE, PromptMetrics, Timing, run_configs, start_layer
from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import HookedModel, load_model
from interp.scoring.evaluate import collect_metrics
from interp.scoring.forward import make_batches
from interp.tasks import build_task

RHOS = (0.9, 0.5, 0.25, 0.1, 0.05, 0.01)
MATRICES = ("mlp_in", "mlp_out")
COMPARED = ("p_answer", "p_the", "p_function", "log_ratio", "logp_answer_full")


def full_forward_logits(model: HookedModel, batch):
    """The reference's forward: every position unembedded, then the read positions picked.

    A :data:`~interp.scoring.evaluate.LogitsFn`: ``[batch, n_read, vocab]``, the prompt's last
    position first, then one per further answer token (teacher forcing, see ``Batch.positions``).
    """
    with torch.inference_mode():
        logits = model.bridge(batch.input_ids, attention_mask=batch.attention_mask)
    rows = torch.arange(len(batch), device=logits.device)[:, None]
    return logits[rows, batch.positions]


def naive_randomized(model: HookedModel, prompt_set, batches, configs) -> tuple[float, dict]:
    """The reference way; returns (seconds, {config: metrics})."""
    out = {}
    t0 = time.perf_counter()
    out[BASELINE] = collect_metrics(model, prompt_set, batches, full_forward_logits)
    for config in configs:
        (edit,) = config
        edited = replace(model, bridge=copy.deepcopy(model.bridge))
        handle = resolve(edited, edit.layer, edit.matrix)
        W = handle.read()
        k = rank_for(edit.rho, tuple(W.shape))
        U, S, V = torch.svd_lowrank(W, q=k, niter=2)
        handle.write(U @ torch.diag(S) @ V.T)
        out[config] = collect_metrics(edited, prompt_set, batches, full_forward_logits)
        del edited
    return time.perf_counter() - t0, out


def naive_exact(model: HookedModel, prompt_set, batches, configs) -> dict:
    """Full forwards with the exact truncation applied in place (no cache, no suffix)."""
    out = {}
    for config in configs:
        with apply_edits(model, config):
            out[config] = collect_metrics(model, prompt_set, batches, full_forward_logits)
    return out


def ours(model: HookedModel, prompt_set, batches, configs) -> tuple[float, dict, Timing]:
    timing = Timing()
    t0 = time.perf_counter()
    results = run_configs(model, [BASELINE, *configs], [PromptMetrics(prompt_set, batches)], svd_cache=SVDCache(), timing=timing)
    return time.perf_counter() - t0, {r.edits: r.values for r in results}, timing


def floor(model: HookedModel, prompt_set, batches, configs) -> float:
    """The same residual advances, suffix passes and metrics as ``ours``, with no edit at all."""
    measure = PromptMetrics(prompt_set, batches)
    all_configs = [BASELINE, *configs]
    lowest = min(start_layer(c, model.n_layers) for c in configs)
    starts = sorted(start_layer(c, lowest) for c in all_configs)
    t0 = time.perf_counter()
    current = None
    for start in starts:
        if start != current:
            measure.advance(model, start)
            current = start
        measure.measure(model, start)
    return time.perf_counter() - t0


def max_diff(a: dict, b: dict, configs) -> float:
    return max(float(np.max(np.abs(a[c][name].astype(np.float64) - b[c][name].astype(np.float64)))) for c in configs for name in COMPARED)


def bench_grid(name: str, model, prompt_set, batches, configs, naive_every: int) -> tuple[float, dict, float]:
    timed = configs[::naive_every]
    t_naive, naive = naive_randomized(model, prompt_set, batches, timed)
    scale = len(configs) / len(timed)
    t_naive_total = t_naive * scale if naive_every > 1 else t_naive
    t_ours, ours_values, timing = ours(model, prompt_set, batches, configs)
    note = f" (reference timed on {len(timed)} of {len(configs)} configs, scaled)" if naive_every > 1 else ""
    speedup = t_naive_total / t_ours
    print(f"grid ({name}): {len(configs)} configs x {len(prompt_set)} prompts: reference {t_naive_total:.1f} s{note}, "
          f"ours {t_ours:.1f} s (residuals {timing.advance:.1f} s, edits+SVD {timing.edit:.1f} s, suffix passes {timing.suffix:.1f} s) "
          f"-> speedup {speedup:.2f}x", flush=True)
    dp = np.concatenate([np.abs(naive[c]["p_answer"] - ours_values[c]["p_answer"]) for c in timed])
    rel = np.concatenate([np.abs(np.log(naive[c]["p_answer"]) - np.log(ours_values[c]["p_answer"])) for c in timed])
    print(f"grid ({name}): reference randomized SVD (svd_lowrank niter=2) vs exact: |delta P(answer)| max {dp.max():.3g}, "
          f"median {np.median(dp):.3g}; |delta log P(answer)| max {rel.max():.3g}, median {np.median(rel):.3g}", flush=True)
    return speedup, ours_values, t_ours


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--n", type=int, default=None, help="factual prompts (default 64; 16 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a reduced grid (b) only: last 2 layers x 2 matrices x 2 rhos")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--naive-every", type=int, default=1, help="time the reference on every K-th config only")
    parser.add_argument("--check-configs", type=int, default=12, help="configs re-run naively with the exact SVD")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    n = args.n or (16 if args.quick else 64)

    model = load_model(args.model, device="cpu")
    prompt_set = build_task("factual", model.tokenizer, n=n, seed=0)
    batches = make_batches(model, prompt_set.prompts, 64)
    n_layers = model.n_layers
    third = tuple(range(n_layers - max(1, n_layers // 3), n_layers))
    print(f"{model.spec.display}: {n_layers} layers, factual task, {len(prompt_set)} prompts in {len(batches)} batch(es), "
          f"{torch.get_num_threads()} torch thread(s)", flush=True)

    if args.quick:
        grid_b = Grid(layers=third[-2:], matrices=MATRICES, rhos=(0.5, 0.05)).configs()
    else:
        grid_b = Grid(layers=third, matrices=MATRICES, rhos=RHOS).configs()
        grid_a = Grid(layers=tuple(range(n_layers)), matrices=MATRICES, rhos=RHOS).configs()
        speedup_a, _, _ = bench_grid("a", model, prompt_set, batches, grid_a, args.naive_every)
        print(f"grid (a) speedup {speedup_a:.2f}x (target >= 2.5)", flush=True)

    speedup_b, ours_b, t_ours_b = bench_grid("b", model, prompt_set, batches, grid_b, args.naive_every)
    t_floor = floor(model, prompt_set, batches, grid_b)
    print(f"grid (b): ours / bare suffix-forward floor = {t_ours_b:.1f} s / {t_floor:.1f} s = {t_ours_b / t_floor:.3f} (target <= 1.25)", flush=True)

    step = max(1, math.ceil(len(grid_b) / args.check_configs))
    checked = [BASELINE, *grid_b[::step]]
    exact = naive_exact(model, prompt_set, batches, checked)
    diff = max_diff(exact, ours_b, checked)
    print(f"largest metric difference ({', '.join(COMPARED)}) ours vs naive full forward with exact SVD, "
          f"{len(checked)} configs: {diff:.3g} (must be <= 1e-4)", flush=True)
    print(f"grid (b) speedup {speedup_b:.2f}x (target >= 5)")
    print(f"speedup_vs_naive: {speedup_b:.2f}")


if __name__ == "__main__":
    main()
