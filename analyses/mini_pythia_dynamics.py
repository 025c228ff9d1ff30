"""Training dynamics on a language model trained here: P(" the") versus P(answer) by step, with LASER.

The offline counterpart of the Pythia figure of Chen, Bruna & Bietti (ICLR 2025): a small GPT-NeoX
(Pythia's architecture) is trained from scratch on real English (``interp lm train``), then

1. a LASER sweep of a mid-training checkpoint, per task, picks the best rank reduction on its
   selection split (``interp laser-sweep``; 20% of the prompts, the rest held out);
2. every checkpoint is swept on IOI and factual recall (``interp checkpoint-sweep --steps all``)
   unedited, with that LASER edit, and with the zero-ablation control of the same matrix;
3. one figure shows P(IO), P(S), P(" the") for IOI, P(answer), P(" the") for factual recall and
   both ratios with and without the edit, by step; the phases are printed with their numbers.

    python analyses/mini_pythia_dynamics.py            # make dynamics: the small preset (CPU, ~40 min)
    python analyses/mini_pythia_dynamics.py --size tiny --steps 16 --n 16 --out /tmp/dyn --run /tmp/dyn-run

Writes ``OUT/`` (default ``results/checkpoint_sweep/mini-pythia``): ``config.json``, ``train.json`` and
``loss.png`` (copied from the run), ``laser-ioi/`` and ``laser-factual/`` (LASER sweep folders),
``ioi/`` and ``factual/`` (checkpoint-sweep folders), ``dynamics.png`` and ``phases.json``. The
checkpoints themselves stay in ``--run`` (default ``runs/mini-pythia``, not committed). Rerunning the
same command resumes every stage. The same sweeps on a real Pythia run are
``analyses/pythia_training_dynamics.py``.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.edits.grid import LayerSpec
from interp.edits.spec import NO_EDIT, Edit
from interp.errors import UsageError
from interp.io import now, provenance, write_json
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.lm.config import SIZES, preset, with_overrides
from interp.lm.train import train
from interp.models.checkpoints import local_steps
from interp.models.spec import ModelSpec
from interp.overrides import parse_sets
from interp.plots import GRID, LINESTYLES, PROB_FLOOR, new_figure, palette, save_figure, themed

REPO_ROOT = Path(__file__).resolve().parents[1]
TASKS = ("ioi", "factual")
#: P(" the") at or above this is "the model outputs the" (the paper's early phase: " the" is top-ranked).
THE_SHARE = 0.05


def mid_step(run: Path) -> int:
    """The saved checkpoint nearest half the run's last step (the LASER sweep's checkpoint)."""
    steps = sorted(local_steps(run))
    return min(steps, key=lambda s: (abs(s - steps[-1] / 2), s))


def first_for_good(steps: list[int], flags: list[bool]) -> int | None:
    """The first step from which ``flags`` stays true to the end (None if the last one is false)."""
    first = None
    for step, flag in zip(steps, flags):
        first = (step if first is None else first) if flag else None
    return first


def phases(summary: pd.DataFrame, task: str, edit: str) -> dict[str, Any]:
    """The seeds' phases in one sweep's summary (numbers, not words): see the module docstring."""
    base = summary[summary["edit"] == NO_EDIT].sort_values("step")
    steps = [int(s) for s in base["step"]]
    p_the, p_ans = list(base["mean_p_the"]), list(base["mean_p_answer"])
    out: dict[str, Any] = {
        "task": task,
        "the_first": next((s for s, p in zip(steps, p_the) if p >= THE_SHARE), None),
        "the_peak_step": steps[int(pd.Series(p_the).idxmax())],
        "the_peak": max(p_the),
        "answer_over_the_from": first_for_good(steps, [a > t for a, t in zip(p_ans, p_the)]),
        "final": {"step": steps[-1], "p_answer": p_ans[-1], "p_the": p_the[-1], "ratio_of_means": float(base["ratio_of_means"].iloc[-1])},
    }
    if task == "ioi":
        p_s = list(base["mean_p_s"])
        out["io_over_s_from"] = first_for_good(steps, [a > s for a, s in zip(p_ans, p_s)])
        out["final"]["p_s"] = p_s[-1]
    edited = summary[summary["edit"] == edit].set_index("step")["ratio_of_means"]
    gain = (edited / base.set_index("step")["ratio_of_means"]).reindex(steps)
    out["laser_gain_by_step"] = {int(s): float(g) for s, g in gain.items()}
    out["laser_gain_above_1_from"] = first_for_good(steps, [g > 1 for g in gain])
    return out


def dynamics_figure(summaries: dict[str, pd.DataFrame], edits: dict[str, str], path: Path, title: str) -> Path:
    """Three panels: IOI probabilities, factual probabilities, both ratios with and without LASER."""
    quantities = {
        "ioi": [("mean_p_answer", "P(IO)"), ("mean_p_s", "P(S)"), ("mean_p_the", 'P(" the")')],
        "factual": [("mean_p_answer", "P(answer)"), ("mean_p_the", 'P(" the")')],
    }
    colours = dict(zip(("P(IO)", "P(answer)", "P(S)", 'P(" the")'), palette(4)))
    colours["P(answer)"] = colours["P(IO)"]
    with themed(GRID):
        fig = new_figure((15, 4.4))
        axes = fig.subplots(1, 3)
        for ax, task in zip(axes[:2], TASKS):
            if task not in summaries:
                ax.set_visible(False)
                continue
            rows = summaries[task][summaries[task]["edit"] == NO_EDIT].sort_values("step")
            for column, label in quantities[task]:
                ax.plot(rows["step"], rows[column].clip(lower=PROB_FLOOR), marker="o", ms=3, lw=1.6, color=colours[label], label=label)
            ax.set_title({"ioi": "IOI (held-out names and templates)", "factual": "factual recall (held-out templates)"}[task], fontsize=10)
            ax.set_ylabel("mean probability")
        ax = axes[2]
        for i, (task, summary) in enumerate(summaries.items()):
            for j, (edit, name) in enumerate(((NO_EDIT, "no edit"), (edits[task], f"LASER {edits[task]}"))):
                rows = summary[summary["edit"] == edit].sort_values("step")
                ax.plot(rows["step"], rows["ratio_of_means"].clip(lower=PROB_FLOOR), marker="o", ms=3, lw=1.6,
                        color=palette(2)[i], linestyle=LINESTYLES[j], label=f"{task}: {name}")
        ax.axhline(1.0, color="0.4", lw=1, ls="--")
        ax.set_title('P(answer) / P(" the") (ratio of means)', fontsize=10)
        for ax in (a for a in axes if a.get_visible()):
            ax.set_xscale("symlog", linthresh=1)
            ax.set_xlim(left=0)
            ax.set_yscale("log")
            ax.set_xlabel("training step (symmetric log scale)")
            ax.legend(fontsize=7)
        fig.suptitle(title, fontsize=11)
        return save_figure(fig, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", choices=sorted(SIZES), help="the training preset (default: small)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: the preset's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", dest="sets", action="append", default=[], help="a training config override, e.g. optim.lr=3e-4 (repeatable)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated: ioi, factual (default: both)")
    parser.add_argument("--run", type=Path, default=REPO_ROOT / "runs" / "mini-pythia", help="the training run's folder")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "checkpoint_sweep" / "mini-pythia")
    parser.add_argument("--n", type=int, default=None, help="prompts per task (default: IOI 100, every fact)")
    parser.add_argument("--mid", type=int, default=None, help="the checkpoint the LASER sweeps run on (default: the one nearest half)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: a loaded 2-core machine thrashes with more)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    for name in ("interp.lm", "interp.checkpoint_sweeps", "interp.laser"):
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        _main(args)
    except UsageError as err:
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)
        raise SystemExit(2) from None


def _main(args: argparse.Namespace) -> None:
    if args.threads < 1:
        raise UsageError(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    if not tasks or any(t not in TASKS for t in tasks):
        raise UsageError(f"--tasks takes a comma-separated list of {', '.join(TASKS)}, got {args.tasks!r}")
    config = with_overrides(preset(args.size, steps=args.steps, seed=args.seed), parse_sets(args.sets))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = now()
    record = {**vars(args), "run": str(args.run), "out": str(out)}
    write_json(out / "config.json", {**record, "provenance": provenance(started, device=args.device, dtype="float32")})

    result = train(config, args.run, device=args.device)
    print(f"trained {args.run}: {config.steps} steps, {result.n_params:,} parameters")
    for name in ("train.json", "loss.png"):
        if (args.run / name).is_file():
            shutil.copyfile(args.run / name, out / name)

    mid = args.mid if args.mid is not None else mid_step(args.run)
    model = ModelSpec.parse(str(args.run))
    edits: dict[str, str] = {}
    summaries: dict[str, pd.DataFrame] = {}
    found = {}
    for task in tasks:
        best = run_laser_sweep(
            LaserSweep(out=str(out / f"laser-{task}"), model=model.at_step(mid), task=task, layers=LayerSpec.parse("all"), n=args.n,
                       seed=args.seed, device=args.device),
            progress=True,
        )
        edit = Edit(int(best["layer"]), best["matrix"], "lowrank", float(best["rho"]))
        control = Edit(edit.layer, edit.matrix, "zero")
        print(f"{task}: LASER sweep at step {mid} chose {edit.label} (held-out gain {best['gain_heldout']:+.3f} in mean log ratio)")
        report = run_sweep(SweepConfig(out=str(out / task), model=model, steps="all", task=task, laser=(edit, control), n=args.n,
                                       seed=args.seed, device=args.device))
        if report.missing:
            raise UsageError(f"{task}: steps {report.missing} have no results; rerun the same command to finish them")
        summaries[task] = pd.read_parquet(out / task / "summary.parquet")
        edits[task] = edit.label
        found[task] = {"mid_step": mid, "laser": edit.label, "control": control.label, **phases(summaries[task], task, edit.label)}
    write_json(out / "phases.json", found)
    write_json(out / "config.json", {**record, "provenance": provenance(started, device=args.device, dtype="float32", finished=now())})
    dynamics_figure(summaries, edits, out / "dynamics.png",
                    f"{config.size} GPT-NeoX trained here ({result.n_params / 1e6:.1f}M parameters, {config.steps} steps)")
    for task, record in found.items():
        describe(task, record, summaries[task])
    print(f"wrote {out}")


def describe(task: str, record: dict[str, Any], summary: pd.DataFrame) -> None:
    """The phases as printed lines (the numbers behind results/checkpoint_sweep/mini-pythia/README.md)."""
    final = record["final"]
    print(f"{task}:")
    print(f"  P(\" the\") first >= {THE_SHARE} at step {record['the_first']}; peak {record['the_peak']:.3f} at step {record['the_peak_step']}")
    print(f"  P(answer) > P(\" the\") for good from step {record['answer_over_the_from']}")
    if task == "ioi":
        print(f"  P(IO) > P(S) for good from step {record['io_over_s_from']}")
    print(f"  last step {final['step']}: P(answer) {final['p_answer']:.4f}, P(\" the\") {final['p_the']:.4f}, "
          f"ratio of means {final['ratio_of_means']:.3g}" + (f", P(S) {final['p_s']:.4f}" if "p_s" in final else ""))
    last = summary[summary["step"] == final["step"]].set_index("edit")["ratio_of_means"]
    print("  ratio of means at the last step: " + ", ".join(f"{edit} {value:.3g}" for edit, value in last.items()))
    gains = record["laser_gain_by_step"]
    print(f"  LASER {record['laser']} (chosen at step {record['mid_step']}): ratio gain > 1 for good from step "
          f"{record['laser_gain_above_1_from']}; gain by step " + ", ".join(f"{s}: {g:.2f}x" for s, g in gains.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
