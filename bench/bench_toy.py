"""Speed of the toy trainer for the Chen config on CPU.

Prints, side by side: sequences per second of the vectorised torch generator and of a plain
per-sequence Python generator of the same process (with their ratio), and training steps per
second of the full Chen model (d 256, MLP 1024, batch 512, T 256 unless shrunk by options).

    python bench/bench_toy.py [--batch-size 512] [--steps 3] [--threads N]
"""

from __future__ import annotations

import argparse
import random
import time

import torch

from interp.toy.bigram import BigramModel, shakespeare_bigram
from interp.toy.configs import RunConfig, preset, with_overrides
from interp.toy.data import SequenceGenerator, make_generator
from interp.toy.model import ToyTransformer
from interp.toy.train import loss_fn, make_optimizer


def python_sequence(bigram: BigramModel, trigger: int, noise: float, noise_token: int, seq_len: int, rng: random.Random) -> list[int]:
    """One noisy-recall sequence, token by token, with the standard library only (the baseline)."""
    n = bigram.n_chars
    population = list(range(n))
    marginal = bigram.marginal.tolist()
    rows = bigram.transition.tolist()
    output = rng.choice([v for v in population if v != trigger])
    seq = rng.choices(population, weights=marginal)
    while len(seq) < seq_len + 1:
        last = seq[-1]
        if last == trigger:
            seq.append(noise_token if rng.random() < noise else output)
        elif last == noise_token:
            seq.append(rng.choices(population, weights=marginal)[0])
        else:
            seq.append(rng.choices(population, weights=rows[last])[0])
    return seq


def bench_generators(cfg: RunConfig, batch_size: int, repeats: int) -> tuple[float, float]:
    gen = SequenceGenerator(cfg.data)
    g = make_generator(0)
    gen.sample(batch_size, g)  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        gen.sample(batch_size, g)
    torch_rate = repeats * batch_size / (time.perf_counter() - t)

    bigram = shakespeare_bigram()
    rng = random.Random(0)
    trigger = gen.fixed_triggers[0].item()
    n_py = max(16, batch_size // 8)
    t = time.perf_counter()
    for _ in range(n_py):
        python_sequence(bigram, trigger, cfg.data.noise, cfg.data.noise_token, cfg.data.seq_len, rng)
    python_rate = n_py / (time.perf_counter() - t)
    return torch_rate, python_rate


def bench_training(cfg: RunConfig, steps: int) -> float:
    gen = SequenceGenerator(cfg.data)
    g = make_generator(0)
    model = ToyTransformer(cfg.model)
    opt = make_optimizer(model, cfg)

    def step() -> None:
        batch = gen.sample(cfg.optim.batch_size, g)
        loss = loss_fn(model(batch.inputs), batch, cfg.loss_on)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()  # warm-up
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return steps / (time.perf_counter() - t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3, help="timed training steps")
    parser.add_argument("--repeats", type=int, default=5, help="timed generator batches")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = with_overrides(preset("chen", "noisy-recall"), {"optim.batch_size": args.batch_size})
    print(f"chen config on CPU ({torch.get_num_threads()} threads): d_model {cfg.model.d_model}, d_mlp {cfg.model.d_mlp}, "
          f"T {cfg.data.seq_len}, batch {cfg.optim.batch_size}")
    torch_rate, python_rate = bench_generators(cfg, args.batch_size, args.repeats)
    print(f"{'data generator':<28}{'sequences/s':>14}")
    print(f"{'  torch, vectorised':<28}{torch_rate:>14.0f}")
    print(f"{'  python, per sequence':<28}{python_rate:>14.0f}")
    print(f"{'  ratio torch / python':<28}{torch_rate / python_rate:>14.1f}x")
    steps_per_s = bench_training(cfg, args.steps)
    print(f"{'training':<28}{'steps/s':>14}{'sequences/s':>14}")
    print(f"{'  chen, SGD':<28}{steps_per_s:>14.3f}{steps_per_s * cfg.optim.batch_size:>14.0f}")
    print(f"{'  generator share of a step':<28}{steps_per_s * cfg.optim.batch_size / torch_rate:>13.1%}")


if __name__ == "__main__":
    main()
