"""P(" the") versus P(answer) over Pythia's pre-training, with and without LASER.

Reproduces the training-dynamics figure of Chen, Bruna & Bietti ("Distributional associations
vs in-context reasoning", ICLR 2025): early in training (about steps 10 to 1000) the model
mostly predicts the generic " the"; only later (after about 2000 steps) does it put more
mass on the in-context answer (IOI: the indirect object; factual recall: the country in
"Madrid is located in"), and a LASER truncation of a late MLP widens the answer's lead.

For each task it runs one resumable checkpoint sweep (``interp checkpoint-sweep``) and writes

    OUT/config.json                 this script's arguments
    OUT/{ioi,factual}/              each a sweep folder: results.parquet, summary.parquet,
                                    training_dynamics.png, ratio.png, warnings.json, sweep.json

GPU with hub access (the defaults: pythia-1b, the log-spaced steps, the last layer's MLP input
at rho 0.05; 27 checkpoints of 2 GB each, deleted after use with --no-keep-cache). For each task
it prints both ratios at step 14000, where the paper reports them: ``ratio_of_means`` (mean
P(answer) / mean P(" the")) and ``geo_mean_ratio`` (geometric mean of per-prompt ratios):

    python analyses/pythia_training_dynamics.py --no-keep-cache

Offline, on a local folder of step*/ checkpoints (here tiny random models):

    interp tiny /tmp/tiny-ckpts --arch gpt-neox --steps 0,1,2,4,8,16,32,64
    python analyses/pythia_training_dynamics.py --model /tmp/tiny-ckpts --steps all --n 24 \\
        --out results/checkpoint_sweep/tiny-demo

Rerunning the same command resumes; ``--shard I/N`` splits the steps over N machines (merge the
folders with ``interp checkpoint-sweep --merge``).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import NoReturn

import pandas as pd

from interp.checkpoint_sweeps.run import SweepConfig, SweepReport, run_sweep
from interp.checkpoint_sweeps.steps import PAPER_RATIO_STEP
from interp.edits.spec import Edit
from interp.errors import UsageError
from interp.io import now, provenance, write_json
from interp.models.checkpoints import local_steps
from interp.models.spec import ModelSpec

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = "EleutherAI/pythia-1b"
#: The default edit: the input matrix of the last layer's MLP at rho 0.05 ("auto"; see the docs).
DEFAULT_MATRIX, DEFAULT_RHO = "mlp_in", 0.05
#: Layers per Pythia size (the "-deduped" models have the same shapes).
PYTHIA_LAYERS = {"14m": 6, "31m": 6, "70m": 6, "160m": 12, "410m": 24, "1b": 16, "1.4b": 24, "2.8b": 32, "6.9b": 32, "12b": 36}
TASKS = ("ioi", "factual")
#: The paper's factual prompts are "X is located in" only: the factual task filtered to that relation.
FACTUAL_RELATION = "located_in"


def n_layers(model: str) -> int:
    """Layers of a Pythia hub model (by size) or of a local folder's checkpoints (from config.json)."""
    path = Path(model).expanduser()
    if path.is_dir():
        steps = local_steps(path)
        if not steps:
            raise UsageError(f"{model} holds no step*/ models")
        config = json.loads((next(iter(steps.values())) / "config.json").read_text())
        for key in ("num_hidden_layers", "n_layer", "num_layers"):
            if key in config:
                return int(config[key])
        raise UsageError(f"cannot tell the number of layers of {model} from its config.json")
    match = re.search(r"pythia-([\d.]+[mb])", model)
    if not match or match.group(1) not in PYTHIA_LAYERS:
        raise UsageError(f"unknown Pythia size in {model}; pass --laser LAYER:MATRIX:RHO explicitly")
    return PYTHIA_LAYERS[match.group(1)]


def laser_edits(spec: str, model: str) -> tuple[Edit, ...]:
    """``auto`` -> the last layer's MLP input at rho 0.05; ``none`` -> no edit; else comma-separated edits."""
    if spec == "none":
        return ()
    if spec == "auto":
        return (Edit(n_layers(model) - 1, DEFAULT_MATRIX, "lowrank", DEFAULT_RHO),)
    return tuple(Edit.parse(part) for part in spec.split(",") if part.strip())


def crossover(summary: pd.DataFrame, edit: str) -> int | None:
    """The first step from which mean P(answer) stays above mean P(" the"), if any."""
    rows = summary[summary["edit"] == edit].sort_values("step")
    above = list(rows["mean_p_answer"] > rows["mean_p_the"])
    for i in range(len(above)):
        if all(above[i:]):
            return int(rows["step"].iloc[i])
    return None


def describe(task: str, folder: Path, report: SweepReport) -> None:
    summary = pd.read_parquet(folder / "summary.parquet")
    last = summary[summary["step"] == summary["step"].max()]
    print(f"{task}: {len(summary['step'].unique())} steps in {folder}")
    for _, row in last.iterrows():
        cross = crossover(summary, row["edit"])
        print(
            f"  {row['edit']:>24}: at step {row['step']} P(answer) {row['mean_p_answer']:.4f}, "
            f"P(\" the\") {row['mean_p_the']:.4f}, ratio of means {row['ratio_of_means']:.3g}, geometric mean ratio {row['geo_mean_ratio']:.3g}; "
            + (f"P(answer) > P(\" the\") from step {cross} on" if cross is not None else "P(answer) > P(\" the\") not for good")
        )
    at = summary[summary["step"] == PAPER_RATIO_STEP]  # both ratios come from the one summary (interp.scoring.summary)
    if at.empty:
        print(f"  step {PAPER_RATIO_STEP} (where the paper reports its ratios) is not in this sweep; use --steps log or paper")
    for _, row in at.iterrows():
        print(
            f"  {row['edit']:>24}: at step {PAPER_RATIO_STEP} ratio_of_means {row['ratio_of_means']:.3g} "
            f"(mean P(answer) / mean P(\" the\")), geo_mean_ratio {row['geo_mean_ratio']:.3g} "
            f"(geometric mean of per-prompt P(answer) / P(\" the\")), {row['n_prompts']} prompts"
        )
    if report.missing:
        print(f"  steps without results yet: {report.missing}")
    for message in report.duplicates:
        print(f"  warning: {message}")


def fail(message: str) -> NoReturn:
    """A user error as the ``interp`` CLI reports it: one line on stderr, exit code 2, no traceback."""
    print(f"error: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help="a Pythia hub name or a local folder of step*/ models")
    parser.add_argument("--steps", default="log", help="all, log (includes 14000), paper (Pythia 0..14000) or a list (default: log)")
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated: ioi, factual")
    parser.add_argument("--laser", default="auto", help="auto (last layer mlp_in, rho 0.05), none, or L:M:RHO[,L:M:RHO]")
    parser.add_argument("--n", type=int, default=None, help="prompts per task (default: IOI 100, all located-in facts)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--shard", default=None, help="I/N: this machine's share of the steps")
    parser.add_argument("--no-keep-cache", dest="keep_cache", action="store_false", help="delete each revision after use")
    parser.add_argument("--out", type=Path, default=None, help="default: results/checkpoint_sweep/MODEL-NAME")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("interp.checkpoint_sweeps").setLevel(logging.INFO)

    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        fail(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}")
    try:
        edits = laser_edits(args.laser, args.model)
    except UsageError as err:
        fail(str(err))
    out = args.out or REPO_ROOT / "results" / "checkpoint_sweep" / Path(args.model).name
    out.mkdir(parents=True, exist_ok=True)
    started = now()
    record = {**vars(args), "out": str(out), "tasks": tasks, "laser_edits": [e.label for e in edits]}
    write_json(out / "config.json", {**record, "provenance": provenance(started, device=args.device, dtype=args.dtype)})
    try:  # every task's options are checked before the first sweep starts
        configs = {
            task: SweepConfig(
                out=str(out / task), model=ModelSpec.parse(args.model), steps=args.steps,
                task=task, relations=() if task == "ioi" else (FACTUAL_RELATION,), laser=edits, n=args.n, seed=args.seed,
                batch_size=args.batch_size, device=args.device, dtype=args.dtype, shard=args.shard, keep_cache=args.keep_cache,
            )
            for task in tasks
        }
    except UsageError as err:
        fail(str(err))
    for task, config in configs.items():
        try:
            report = run_sweep(config)
        except UsageError as err:
            fail(f"{task}: {err}")
        describe(task, Path(config.out), report)
    write_json(out / "config.json", {**record, "provenance": provenance(started, device=args.device, dtype=args.dtype, finished=now())})


if __name__ == "__main__":
    main(sys.argv[1:])
