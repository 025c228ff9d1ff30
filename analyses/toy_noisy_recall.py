"""Noisy in-context recall (Chen, Bruna & Bietti, ICLR 2025) on a two-layer toy transformer.

Trains the ``chen`` config shrunk to fit a few CPU minutes, then measures on clean test data
(p = 0) the full model and the model without its layer-2 MLP (``blocks.1``), plus low-rank
truncations of that MLP, and splits that MLP's ``W_in`` and ``W_out`` into singular directions,
each with its contribution to the noise-token and correct-token logits at the readout
positions (:mod:`interp.toy.directions`). Writes to ``--out`` (default
``results/toy/noisy_recall``): ``summary.json``, ``config.json``, ``metrics.jsonl`` (training
curves), ``checkpoints.csv`` (every log-spaced checkpoint with and without the layer-2 MLP),
``directions.parquet`` (one row per matrix and direction), ``directions.md`` (the top
directions and the sums) and ``noisy_recall.png``. Checkpoints go to a temporary folder that
is deleted afterwards unless ``--keep-run DIR``.

    python analyses/toy_noisy_recall.py [--out DIR] [--steps N] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import tempfile
import time
from pathlib import Path

import pandas as pd
import seaborn as sns
import torch

from interp.edits.apply import apply_edits
from interp.edits.lowrank import rank_for
from interp.edits.spec import Edit
from interp.edits.weights import resolve
from interp.io import now, provenance, write_json
from interp.models.loading import load_model, wrap_toy
from interp.plots import TALK, new_figure, save_figure, themed
from interp.toy.checkpoint import list_steps
from interp.toy.configs import TRIGGER_OUTPUTS, preset, with_overrides
from interp.toy.directions import direction_table, summarize_directions
from interp.toy.metrics import evaluate, make_test_batch
from interp.toy.train import train

LAYER2 = 1  # 0-based index of the papers' "layer 2"
DROP_MLP2 = Edit(LAYER2, "mlp_out", "zero")  # removing the layer-2 MLP: the zero edit of its output matrix


def build_config(args: argparse.Namespace):
    """The chen preset with the CPU-sized overrides."""
    return with_overrides(
        preset("chen", "noisy-recall", steps=args.steps, noise=args.noise, seed=args.seed),
        {
            "model.d_model": args.d_model,
            "model.d_mlp": 4 * args.d_model,
            "data.seq_len": args.seq_len,
            "model.n_ctx": args.seq_len,
            "optim.batch_size": args.batch_size,
            "optim.lr": args.lr,
            "eval_every": args.eval_every,
            "eval_sequences": 256,
            **({"data.trigger_output": args.trigger_output} if args.trigger_output else {}),
        },
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/toy/noisy_recall"))
    parser.add_argument("--keep-run", type=Path, default=None, help="keep the run (checkpoints) in this folder")
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--trigger-output", choices=TRIGGER_OUTPUTS, default=None,
                        help="data.trigger_output (default: the chen preset's, uniform)")
    parser.add_argument("--top-directions", type=int, default=8, help="directions per matrix listed in directions.md")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--test-sequences", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads; 1 is fastest for these small models when the cores are shared")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    cfg = build_config(args)
    args.out.mkdir(parents=True, exist_ok=True)
    run_dir = args.keep_run or Path(tempfile.mkdtemp(prefix="toy_noisy_recall_"))
    t0 = time.perf_counter()
    started = now()
    try:
        result = train(cfg, run_dir, device=args.device)
        train_s = time.perf_counter() - t0
        model = result.model
        hooked = wrap_toy(model, cfg)

        def measure(**kw):
            return evaluate(model, cfg, n_sequences=args.test_sequences, seed=777, noise=0.0, device=args.device, **kw)

        full = measure()
        with apply_edits(hooked, [DROP_MLP2]):
            no_mlp2 = measure()
        truncations = []
        for matrix in ("mlp_in", "mlp_out"):
            for rho in (0.01, 0.05, 0.25):
                shape = resolve(hooked, LAYER2, matrix).shape
                with apply_edits(hooked, [Edit(LAYER2, matrix, "lowrank", rho)]):
                    m = measure()
                truncations.append({"matrix": matrix, "rho": rho, "rank": rank_for(rho, shape), **m})
        # remove_top:k (W minus its rank-k truncation: the top k singular directions removed, the
        # rest kept), LASER's complement, at k = 1, 2, 4 of each layer-2 matrix
        removals = []
        for matrix in ("mlp_in", "mlp_out"):
            for k in (1, 2, 4):
                with apply_edits(hooked, [Edit(LAYER2, matrix, "remove_top", k=k)]):
                    removals.append({"matrix": matrix, "k": k, **measure()})

        # per singular direction of the layer-2 MLP, on the same clean test batch as measure()
        test_batch = make_test_batch(cfg, n_sequences=args.test_sequences, seed=777, noise=0.0, device=args.device)
        directions = direction_table(model, test_batch, layer=LAYER2, noise_token=cfg.data.noise_token)
        direction_sums = summarize_directions(directions, top=1)

        rows = []
        for step in list_steps(run_dir):
            ckpt = load_model(str(run_dir), step, device=args.device)
            m = evaluate(ckpt.bridge, ckpt.run_config, n_sequences=256, seed=777, device=args.device)
            with apply_edits(ckpt, [DROP_MLP2]):
                d = evaluate(ckpt.bridge, ckpt.run_config, n_sequences=256, seed=777, device=args.device)
            rows.append({"step": step, **{f"{k}_full": v for k, v in m.items()}, **{f"{k}_no_mlp2": v for k, v in d.items()}})
        checkpoints = pd.DataFrame(rows)
        shutil.copy(run_dir / "metrics.jsonl", args.out / "metrics.jsonl")
    finally:
        if args.keep_run is None:
            shutil.rmtree(run_dir, ignore_errors=True)

    summary = {
        "p_noise_full": full["p_noise"],
        "p_noise_no_mlp2": no_mlp2["p_noise"],
        "icl_acc_full": full["icl_acc"],
        "icl_acc_no_mlp2": no_mlp2["icl_acc"],
        "p_correct_full": full["p_correct"],
        "p_correct_no_mlp2": no_mlp2["p_correct"],
        "train_noise": cfg.data.noise,
        "truncate_mlp2": truncations,
        "remove_top_mlp2": removals,
        "directions_mlp2": direction_sums.to_dict(orient="records"),
        "trigger_output": cfg.data.trigger_output,
        "test_sequences": args.test_sequences,
        "train_seconds": round(train_s, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "device": args.device,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    write_json(args.out / "config.json", {**cfg.to_dict(), "provenance": provenance(started, device=args.device, dtype="float32", finished=now())})
    checkpoints.to_csv(args.out / "checkpoints.csv", index=False, float_format="%.5g")
    directions.to_parquet(args.out / "directions.parquet", index=False)
    (args.out / "directions.md").write_text(directions_markdown(directions, direction_sums, args.top_directions, cfg),
                                            encoding="utf-8")
    metrics = pd.read_json(args.out / "metrics.jsonl", lines=True)
    plot(metrics, checkpoints, cfg.data.noise, args.out / "noisy_recall.png")

    print(f"config: {cfg.name} shrunk to d_model {cfg.model.d_model}, d_mlp {cfg.model.d_mlp}, T {cfg.data.seq_len}, "
          f"batch {cfg.optim.batch_size}, {cfg.optim.steps} steps, SGD lr {cfg.optim.lr}, train noise p = {cfg.data.noise}, "
          f"trigger_output {cfg.data.trigger_output}")
    print(f"clean test data ({args.test_sequences} sequences):")
    print(f"  {'':<32}{'P(noise)':>10}{'P(correct)':>12}{'icl_acc':>10}")
    for label, m in (("full model", full), ("without layer-2 MLP", no_mlp2)):
        print(f"  {label:<32}{m['p_noise']:>10.3f}{m['p_correct']:>12.3f}{m['icl_acc']:>10.3f}")
    for t in truncations:
        label = f"{t['matrix']} rho={t['rho']} (k={t['rank']})"
        print(f"  {'layer-2 ' + label:<32}{t['p_noise']:>10.3f}{t['p_correct']:>12.3f}{t['icl_acc']:>10.3f}")
    for r in removals:
        label = f"{r['matrix']} remove_top k={r['k']}"
        print(f"  {'layer-2 ' + label:<32}{r['p_noise']:>10.3f}{r['p_correct']:>12.3f}{r['icl_acc']:>10.3f}")
    n_readout = int(make_test_batch(cfg, n_sequences=args.test_sequences, seed=777).icl_mask.sum())
    print(f"layer-2 MLP by singular direction: mean direct contribution to the logits at the {n_readout} readout "
          "positions (noise token, correct token, mean over the vocabulary):")
    print(f"  {'matrix':<8}{'direction':>14}{'sigma':>9}{'noise':>9}{'correct':>9}{'mean':>9}")
    for matrix in ("W_in", "W_out"):
        for _, row in directions[(directions["matrix"] == matrix) & (directions["direction"] <= 3)].iterrows():
            print(f"  {matrix:<8}{row['direction']:>14}{row['sigma']:>9.3f}{row['logit_noise']:>+9.3f}"
                  f"{row['logit_correct']:>+9.3f}{row['logit_mean']:>+9.3f}")
        for _, row in direction_sums[direction_sums["matrix"] == matrix].iterrows():
            print(f"  {matrix:<8}{row['directions']:>14}{'':>9}{row['logit_noise']:>+9.3f}"
                  f"{row['logit_correct']:>+9.3f}{row['logit_mean']:>+9.3f}")
    print(f"train {summary['train_seconds']} s, total {summary['total_seconds']} s; wrote {args.out}")


def directions_markdown(directions: pd.DataFrame, sums: pd.DataFrame, top: int, cfg) -> str:
    """The first ``top`` directions of each matrix and the sums, as markdown tables."""
    lines = [
        "# Layer-2 MLP (blocks.1) by singular direction",
        "",
        f"Noisy-recall model of `analyses/toy_noisy_recall.py` (d_model {cfg.model.d_model}, d_mlp {cfg.model.d_mlp}, "
        f"trigger_output {cfg.data.trigger_output}). Each direction's mean direct contribution to the logits at the "
        "readout positions of the clean test batch (trigger occurrences from the second on); definitions in "
        "docs/toy.md and interp/toy/directions.py. All directions: directions.parquet.",
        "",
        "| matrix | direction | sigma | noise logit | correct logit | mean logit |",
        "|---|---|---|---|---|---|",
    ]
    for matrix in ("W_in", "W_out"):
        for _, row in directions[(directions["matrix"] == matrix) & (directions["direction"] <= top)].iterrows():
            lines.append(f"| {matrix} | {row['direction']} | {row['sigma']:.3f} | {row['logit_noise']:+.3f} | "
                         f"{row['logit_correct']:+.3f} | {row['logit_mean']:+.3f} |")
    lines += ["", "| matrix | directions | noise logit | correct logit | mean logit |", "|---|---|---|---|---|"]
    for _, row in sums.iterrows():
        lines.append(f"| {row['matrix']} | {row['directions']} | {row['logit_noise']:+.3f} | "
                     f"{row['logit_correct']:+.3f} | {row['logit_mean']:+.3f} |")
    return "\n".join(lines) + "\n"


@themed(TALK)
def plot(metrics: pd.DataFrame, checkpoints: pd.DataFrame, noise: float, path: Path) -> None:
    """Left: training curves on clean data. Right: checkpoints with and without the layer-2 MLP."""
    fig = new_figure((15, 6.4))
    ax1, ax2 = fig.subplots(1, 2, sharey=True)
    m = metrics[metrics["step"] > 0]
    curves = m.melt(id_vars="step", value_vars=["p_noise", "p_correct", "icl_acc"], var_name="metric")
    curves["metric"] = curves["metric"].map(
        {"p_noise": "P(noise)", "p_correct": "P(correct)", "icl_acc": "in-context accuracy"}
    )
    sns.lineplot(data=curves, x="step", y="value", hue="metric", ax=ax1, linewidth=2)
    ax1.axhline(noise, color="grey", linestyle=":", linewidth=1.5, label=f"train noise p = {noise}")
    ax1.set(xscale="log", xlabel="training step (log)", ylabel="probability / accuracy", ylim=(-0.02, 1.02),
            title="Full model on clean data during training")
    ax1.legend(title=None, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=12)

    c = checkpoints[checkpoints["step"] > 0]
    variants = (("full", "full model"), ("no_mlp2", "without layer-2 MLP"))
    long = pd.concat(
        [
            pd.DataFrame({"step": c["step"], "value": c[f"{col}_{v}"], "metric": name, "model": label})
            for col, name in (("p_noise", "P(noise)"), ("p_correct", "P(correct)"))
            for v, label in variants
        ]
    )
    sns.lineplot(data=long, x="step", y="value", hue="metric", style="model", markers=True, ax=ax2, linewidth=2,
                 markersize=8, palette=sns.color_palette()[:2])
    ax2.set(xscale="log", xlabel="checkpoint step (log)", title="Each checkpoint with and without its layer-2 MLP")
    handles, labels = ax2.get_legend_handles_labels()
    keep = [i for i, lab in enumerate(labels) if lab not in ("metric", "model")]
    ax2.legend([handles[i] for i in keep], [labels[i] for i in keep], loc="upper center",
               bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=12)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, tight=False)


if __name__ == "__main__":
    main()
