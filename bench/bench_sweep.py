"""Benchmark a checkpoint sweep: peak memory per step, and what the background prefetch gains.

Writes N tiny GPT-NeoX checkpoints (``step0/`` ... ``step{N-1}/``, each its own random weights)
into a temporary folder, warms up, then runs the same sweep without and with the prefetch
(``--no-prefetch`` / ``--prefetch``), alternating, best of two each, and prints:

* per step of a prefetching run: the peak resident memory of the process (and the peak CUDA
  memory on a GPU) while that step was loaded and evaluated; a sweep that frees each model
  stays flat: the last steps peak no higher than the first ones;
* the wall time of both modes and the overlap gain, time without prefetch / time with it, in two
  scenarios: the local folder as it is, and with ``--fetch-s`` seconds of simulated download or
  slow-disk time added to each load (a sleep, which like real I/O does not hold the GIL).

    python bench/bench_sweep.py [--steps 20] [--d-model 256] [--n 32] [--device cpu] [--threads 1] [--fetch-s 0.2]

Tiny models on a CPU are the worst case for a background thread: loading and evaluating are
both mostly Python and share the interpreter lock, so the prefetch can lose there. With real
checkpoints the load is dominated by downloading and reading GBs (I/O, no lock held), and the
gain approaches (load + eval) / max(load, eval), as the second scenario shows.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import threading
import time
from pathlib import Path

import torch

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.checkpoint_sweeps.sources import CheckpointSource
from interp.models.spec import ModelSpec
from interp.models.tiny import TinyConfig, build_tokenizer, make_tiny_model

SAMPLE_S = 0.005


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc, else psutil)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import psutil

        return psutil.Process().memory_info().rss


class PeakSampler:
    """Samples RSS in a thread; ``lap()`` returns the peak since the previous lap."""

    def __init__(self) -> None:
        self._peak = rss_bytes()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            value = rss_bytes()
            with self._lock:
                self._peak = max(self._peak, value)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def lap(self) -> int:
        with self._lock:
            peak, self._peak = max(self._peak, rss_bytes()), rss_bytes()
        return peak


def make_checkpoints(root: Path, n_steps: int, d_model: int) -> Path:
    tokenizer = build_tokenizer()
    for step in range(n_steps):
        config = TinyConfig(arch="gpt-neox", d_model=d_model, d_mlp=4 * d_model, seed=step)
        make_tiny_model(root / f"step{step}", config, tokenizer)
    return root


def timed_sweep(model: Path, out: Path, *, prefetch: bool, n: int, device: str, steps: str = "all",
                sampler: PeakSampler | None = None) -> tuple[float, list[tuple[int, int, int]], tuple[float, float]]:
    """Run one sweep; its wall time, (step, peak RSS, peak CUDA) per step, mean (load, eval) seconds."""
    laps: list[tuple[int, int, int]] = []
    seconds: list[tuple[float, float]] = []
    cuda = torch.cuda.is_available() and device != "cpu"

    def on_step(result) -> None:
        gpu = torch.cuda.max_memory_allocated() if cuda else 0
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        laps.append((result.step, sampler.lap() if sampler else 0, gpu))
        seconds.append((result.meta["load_seconds"], result.meta["eval_seconds"]))

    config = SweepConfig(out=str(out), model=ModelSpec.parse(str(model)), steps=steps, task="factual", n=n, device=device, prefetch=prefetch)
    if sampler:
        sampler.lap()
    start = time.perf_counter()
    run_sweep(config, on_step=on_step)
    wall = time.perf_counter() - start
    means = tuple(sum(col) / len(seconds) for col in zip(*seconds)) if seconds else (0.0, 0.0)
    return wall, laps, means


def compare(model: Path, root: Path, args: argparse.Namespace, label: str) -> float:
    """Best-of-two wall time without and with prefetch; prints them and returns the gain."""
    best: dict[bool, tuple[float, tuple[float, float]]] = {}
    for rep in range(2):
        for prefetch in (False, True):
            wall, _, means = timed_sweep(model, root / f"{label}-{prefetch}-{rep}", prefetch=prefetch, n=args.n, device=args.device)
            if prefetch not in best or wall < best[prefetch][0]:
                best[prefetch] = (wall, means)
    print(f"\n{label}:")
    for prefetch in (False, True):
        wall, (load, evaluate) = best[prefetch]
        print(f"  {'with' if prefetch else 'without'} prefetch: {wall:.2f} s; per step {load:.3f} s loading "
              f"and fingerprinting, {evaluate:.3f} s evaluating")
    gain = best[False][0] / best[True][0]
    print(f"  overlap gain (time without / time with prefetch): {gain:.2f}x")
    return gain


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="number of tiny checkpoints")
    parser.add_argument("--d-model", type=int, default=256, help="width of the tiny models (64 in the tests)")
    parser.add_argument("--n", type=int, default=32, help="factual prompts per step")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch intra-op threads (default 1: on a small, busy CPU more threads spin-wait and hide the overlap)",
    )
    parser.add_argument("--fetch-s", type=float, default=0.2, help="simulated download / disk seconds per checkpoint")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        root = Path(tmp)
        model = make_checkpoints(root / "ckpts", args.steps, args.d_model)
        size_mb = sum(p.stat().st_size for p in (model / "step0").glob("*.safetensors")) / 1e6
        print(f"{args.steps} tiny gpt-neox checkpoints, d_model {args.d_model}, {size_mb:.1f} MB of weights each; "
              f"{args.n} factual prompts per step; device {args.device}, {args.threads} torch thread(s)")
        timed_sweep(model, root / "warmup", prefetch=True, n=args.n, device=args.device, steps="0,1")
        with PeakSampler() as sampler:
            _, laps, _ = timed_sweep(model, root / "memory", prefetch=True, n=args.n, device=args.device, sampler=sampler)
        local_gain = compare(model, root, args, "local folder as it is")
        original_load = CheckpointSource.load

        def slow_load(self, step, device, dtype):  # stands in for a download or a slow disk
            time.sleep(args.fetch_s)
            return original_load(self, step, device, dtype)

        CheckpointSource.load = slow_load
        try:
            fetch_gain = compare(model, root, args, f"with {args.fetch_s:g} s of simulated download per checkpoint")
        finally:
            CheckpointSource.load = original_load

    print("\nstep  peak RSS (MB)" + ("  peak CUDA (MB)" if laps and laps[0][2] else ""))
    for step, rss, gpu in laps:
        print(f"{step:>4}  {rss / 1e6:>13.1f}" + (f"  {gpu / 1e6:>14.1f}" if gpu else ""))
    peaks = [rss for _, rss, _ in laps]
    quarter = max(1, len(peaks) // 4)
    first, last = max(peaks[:quarter]), max(peaks[-quarter:])
    print(f"\npeak RSS, first {quarter} steps: {first / 1e6:.1f} MB; last {quarter} steps: {last / 1e6:.1f} MB "
          f"(change {100 * (last - first) / first:+.1f}%)")
    print(f"overlap gain: {local_gain:.2f}x as is, {fetch_gain:.2f}x with {args.fetch_s:g} s of download per checkpoint")


if __name__ == "__main__":
    main()
