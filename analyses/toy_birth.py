"""Trigger bigrams (Bietti et al., "Birth of a Transformer", NeurIPS 2023): one layer vs two.

Trains the ``birth`` config, shrunk to fit a few CPU minutes, once with one layer and once
with two, and reports their in-context accuracy on fresh test sequences (trigger
occurrences from the second on) together with the memory-recall probes of the two-layer
model over training. Writes to ``--out`` (default ``results/toy/birth``): ``summary.json``,
``config.json`` (the two-layer config), ``metrics_1layer.jsonl``, ``metrics_2layer.jsonl``
and ``birth.png``. Checkpoints go to a temporary folder that is deleted afterwards.

    python analyses/toy_birth.py [--out DIR] [--steps N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
import torch  # noqa: E402

from interp.toy.configs import preset, with_overrides  # noqa: E402
from interp.toy.evaluate import evaluate  # noqa: E402
from interp.toy.train import train  # noqa: E402

PROBES = {"probe_wo2": "W_O of layer 2", "probe_wk2": "W_K of layer 2", "probe_wk1": "W_K of layer 1"}


def build_config(args: argparse.Namespace, n_layers: int):
    """The birth preset with the CPU-sized overrides."""
    overrides = {
        "data.seq_len": args.seq_len,
        "model.n_ctx": args.seq_len,
        "optim.batch_size": args.batch_size,
        "optim.lr": args.lr,
        "loss_on": args.loss_on,
        "eval_every": args.eval_every,
        "eval_sequences": 256,
    }
    return with_overrides(preset("birth", "trigger-bigram", n_layers=n_layers, steps=args.steps, seed=args.seed), overrides)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/toy/birth"))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--loss-on", default="icl", choices=["icl", "all"])
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--test-sequences", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads; 1 is fastest for these small models when the cores are shared")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    final, histories, configs = {}, {}, {}
    for n_layers in (1, 2):
        cfg = build_config(args, n_layers)
        run_dir = Path(tempfile.mkdtemp(prefix=f"toy_birth_{n_layers}layer_"))
        try:
            result = train(cfg, run_dir, device=args.device)
            shutil.copy(run_dir / "metrics.jsonl", args.out / f"metrics_{n_layers}layer.jsonl")
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        final[n_layers] = evaluate(result.model, cfg, n_sequences=args.test_sequences, seed=777, device=args.device)
        histories[n_layers] = pd.DataFrame(result.history)
        configs[n_layers] = cfg

    last2 = histories[2].iloc[-1]
    summary = {
        "acc_1layer": final[1]["icl_acc"],
        "acc_2layer": final[2]["icl_acc"],
        "p_correct_1layer": final[1]["p_correct"],
        "p_correct_2layer": final[2]["p_correct"],
        "loss_non_trigger_1layer": final[1]["loss_non_trigger"],
        "loss_non_trigger_2layer": final[2]["loss_non_trigger"],
        "probes_2layer_final": {k: float(last2[k]) for k in PROBES},
        "test_sequences": args.test_sequences,
        "total_seconds": round(time.perf_counter() - t0, 1),
        "device": args.device,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    (args.out / "config.json").write_text(configs[2].to_json() + "\n", encoding="utf-8")
    plot(histories, args.out / "birth.png")

    cfg = configs[2]
    print(f"config: {cfg.name} shrunk to T {cfg.data.seq_len}, batch {cfg.optim.batch_size}, {cfg.optim.steps} steps, "
          f"SGD lr {cfg.optim.lr}, loss on {cfg.loss_on}; d_model {cfg.model.d_model}, K = {cfg.data.n_triggers} triggers")
    print(f"in-context accuracy on {args.test_sequences} fresh sequences: "
          f"1 layer {summary['acc_1layer']:.3f}, 2 layers {summary['acc_2layer']:.3f}")
    print("2-layer memory probes at the end: " + ", ".join(f"{PROBES[k]} {v:.3f}" for k, v in summary["probes_2layer_final"].items()))
    print(f"total {summary['total_seconds']} s; wrote {args.out}")


def plot(histories: dict[int, pd.DataFrame], path: Path) -> None:
    """Left: in-context accuracy of the one- and two-layer models. Right: the two-layer probes."""
    sns.set_theme(style="whitegrid", context="talk", font_scale=0.8)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 5.5), sharey=True)
    acc = pd.concat([h.assign(model=f"{n} layer{'s' if n > 1 else ''}") for n, h in histories.items()])
    sns.lineplot(data=acc, x="step", y="icl_acc", hue="model", ax=ax1, linewidth=2.2)
    ax1.set(xlabel="training step", ylabel="accuracy / fraction recovered", ylim=(-0.02, 1.02),
            title="In-context accuracy (second trigger occurrence on)")
    ax1.legend(title=None, loc="upper left")
    probes = histories[2].melt(id_vars="step", value_vars=list(PROBES), var_name="probe")
    probes["probe"] = probes["probe"].map(PROBES)
    sns.lineplot(data=probes, x="step", y="value", hue="probe", ax=ax2, linewidth=2.2)
    sns.lineplot(data=histories[2], x="step", y="icl_acc", ax=ax2, color="grey", linestyle=":", linewidth=2,
                 label="in-context accuracy")
    ax2.set(xlabel="training step", title="Two-layer model: memory-recall probes")
    ax2.legend(title=None, loc="lower right", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()
