"""Trigger bigrams (Bietti et al., "Birth of a Transformer", NeurIPS 2023): one layer vs two.

Trains the ``birth`` config, shrunk to fit a few CPU minutes, in these settings (``--settings``):

    1layer_paper      one layer, the papers' setting: trigger outputs drawn uniformly over all
                      characters (data.trigger_output = uniform) and an ordinary transformer
                      layer (model.arch = standard: LayerNorm, MLP, every weight trained, AdamW)
    1layer_today      one layer, the earlier default here: outputs other than the trigger
                      (exclude_trigger) and the simplified attention-only model (frozen random
                      embeddings, identity W_Q, SGD)
    2layer            two layers, the birth preset: uniform outputs, simplified model, SGD
    1layer_simplified_uniform, 1layer_standard_exclude
                      the two mixed one-layer settings (not run by default)

and reports each model's in-context accuracy on fresh test sequences of its own data (trigger
occurrences from the second on), with the memory-recall probes of the two-layer model over
training. Writes to ``--out`` (default ``results/toy/birth``): ``summary.json`` (one record per
setting), ``accuracy.csv`` (the same as a table), ``config_{setting}.json``,
``metrics_{setting}.jsonl`` and ``birth.png``. Checkpoints go to a temporary folder that is
deleted afterwards.

    python analyses/toy_birth.py [--out DIR] [--steps N] [--settings A,B] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import seaborn as sns
import torch

from interp.io import now, provenance, write_json
from interp.plots import TALK, new_figure, save_figure, themed
from interp.toy.configs import RunConfig, preset, with_overrides
from interp.toy.metrics import evaluate
from interp.toy.train import train

PROBES = {"probe_wo2": "W_O of layer 2", "probe_wk2": "W_K of layer 2", "probe_wk1": "W_K of layer 1"}


@dataclass(frozen=True)
class Setting:
    n_layers: int
    arch: str
    trigger_output: str
    label: str


SETTINGS = {
    "1layer_paper": Setting(1, "standard", "uniform", "1 layer, papers' setting (uniform, standard layer)"),
    "1layer_today": Setting(1, "simplified", "exclude_trigger", "1 layer, earlier default (exclude_trigger, attention-only)"),
    "2layer": Setting(2, "simplified", "uniform", "2 layers (uniform, simplified)"),
    "1layer_simplified_uniform": Setting(1, "simplified", "uniform", "1 layer, uniform, attention-only"),
    "1layer_standard_exclude": Setting(1, "standard", "exclude_trigger", "1 layer, exclude_trigger, standard layer"),
}
DEFAULT_SETTINGS = ("1layer_paper", "1layer_today", "2layer")


def build_config(args: argparse.Namespace, setting: Setting) -> RunConfig:
    """The birth preset in ``setting`` with the CPU-sized overrides (AdamW keeps the preset's lr unless given)."""
    cfg = preset("birth", "trigger-bigram", n_layers=setting.n_layers, steps=args.steps, seed=args.seed, arch=setting.arch)
    overrides: dict[str, object] = {
        "data.seq_len": args.seq_len,
        "model.n_ctx": args.seq_len,
        "data.n_triggers": args.n_triggers,
        "data.trigger_output": setting.trigger_output,
        "optim.batch_size": args.batch_size,
        "loss_on": args.loss_on,
        "eval_every": args.eval_every,
        "eval_sequences": 256,
    }
    if cfg.optim.optimizer == "sgd":
        overrides["optim.lr"] = args.lr
    elif args.adamw_lr is not None:
        overrides["optim.lr"] = args.adamw_lr
    return with_overrides(cfg, overrides)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/toy/birth"))
    parser.add_argument("--settings", default=",".join(DEFAULT_SETTINGS), help=f"comma-separated: {', '.join(SETTINGS)}")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--n-triggers", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate of the simplified models")
    parser.add_argument("--adamw-lr", type=float, default=None, help="AdamW learning rate of the standard models (default: the preset's)")
    parser.add_argument("--loss-on", default="icl", choices=["icl", "all"])
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--test-sequences", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads; 1 is fastest for these small models when the cores are shared")
    args = parser.parse_args(argv)
    names = [s.strip() for s in args.settings.split(",") if s.strip()]
    unknown = [s for s in names if s not in SETTINGS]
    if unknown or not names:
        parser.error(f"unknown setting(s) {unknown}; choose from {', '.join(SETTINGS)}")
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    args.out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    records, histories = [], {}
    for name in names:
        setting = SETTINGS[name]
        cfg = build_config(args, setting)
        run_dir = Path(tempfile.mkdtemp(prefix=f"toy_birth_{name}_"))
        start = time.perf_counter()
        started = now()
        try:
            result = train(cfg, run_dir, device=args.device)
            shutil.copy(run_dir / "metrics.jsonl", args.out / f"metrics_{name}.jsonl")
        finally:
            shutil.rmtree(run_dir, ignore_errors=True)
        final = evaluate(result.model, cfg, n_sequences=args.test_sequences, seed=777, device=args.device)
        write_json(args.out / f"config_{name}.json",
                   {**cfg.to_dict(), "provenance": provenance(started, device=args.device, dtype="float32", finished=now())})
        histories[name] = pd.DataFrame(result.history)
        last = histories[name].iloc[-1]
        records.append({
            "setting": name,
            "n_layers": setting.n_layers,
            "arch": cfg.model.arch,
            "trigger_output": cfg.data.trigger_output,
            "optimizer": cfg.optim.optimizer,
            "lr": cfg.optim.lr,
            "icl_acc": final["icl_acc"],
            "p_correct": final["p_correct"],
            "loss_non_trigger": final["loss_non_trigger"],
            **({f"{k}_final": float(last[k]) for k in PROBES} if setting.n_layers == 2 else {}),
            "train_seconds": round(time.perf_counter() - start, 1),
        })

    summary = {
        "runs": records,
        "steps": args.steps, "seq_len": args.seq_len, "batch_size": args.batch_size, "n_triggers": args.n_triggers,
        "loss_on": args.loss_on, "test_sequences": args.test_sequences, "test_seed": 777, "seed": args.seed,
        "total_seconds": round(time.perf_counter() - t0, 1), "device": args.device,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    table = pd.DataFrame(records)
    table.to_csv(args.out / "accuracy.csv", index=False, float_format="%.4f")
    plot(histories, args.out / "birth.png")

    print(f"birth config shrunk to T {args.seq_len}, batch {args.batch_size}, {args.steps} steps, K = {args.n_triggers} "
          f"triggers, loss on {args.loss_on}; SGD lr {args.lr} (simplified), AdamW lr "
          f"{args.adamw_lr if args.adamw_lr is not None else 'of the preset'} (standard)")
    print(f"in-context accuracy on {args.test_sequences} fresh sequences of each run's own data:")
    print(f"  {'setting':<28}{'layers':>7}  {'arch':<11}{'trigger_output':<16}{'optim':<7}{'lr':>7}{'icl_acc':>9}{'p_correct':>11}")
    for r in records:
        print(f"  {r['setting']:<28}{r['n_layers']:>7}  {r['arch']:<11}{r['trigger_output']:<16}{r['optimizer']:<7}"
              f"{r['lr']:>7g}{r['icl_acc']:>9.3f}{r['p_correct']:>11.3f}")
    for r in records:
        if r["n_layers"] == 2:
            print(f"{r['setting']} memory probes at the end: "
                  + ", ".join(f"{PROBES[k]} {r[k + '_final']:.3f}" for k in PROBES))
    print(f"total {summary['total_seconds']} s; wrote {args.out}")


@themed(TALK)
def plot(histories: dict[str, pd.DataFrame], path: Path) -> None:
    """Left: in-context accuracy of every run. Right: the two-layer probes (first two-layer run)."""
    fig = new_figure((16, 6))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    acc = pd.concat([h.assign(run=SETTINGS[name].label) for name, h in histories.items()])
    sns.lineplot(data=acc, x="step", y="icl_acc", hue="run", ax=ax1, linewidth=2.2)
    ax1.set(xlabel="training step", ylabel="accuracy / fraction recovered", ylim=(-0.02, 1.02),
            title="In-context accuracy (second trigger occurrence on)")
    ax1.legend(title=None, loc="upper left", fontsize=10)
    two = [name for name in histories if SETTINGS[name].n_layers == 2]
    if two:
        h = histories[two[0]]
        probes = h.melt(id_vars="step", value_vars=list(PROBES), var_name="probe")
        probes["probe"] = probes["probe"].map(PROBES)
        sns.lineplot(data=probes, x="step", y="value", hue="probe", ax=ax2, linewidth=2.2)
        sns.lineplot(data=h, x="step", y="icl_acc", ax=ax2, color="grey", linestyle=":", linewidth=2,
                     label="in-context accuracy")
        ax2.set(xlabel="training step", title=f"{SETTINGS[two[0]].label}: memory-recall probes")
        ax2.legend(title=None, loc="lower right", fontsize=11)
    else:
        ax2.set_visible(False)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, tight=False)


if __name__ == "__main__":
    main()
