"""The ``interp checkpoint-sweep`` command; ``register(app)`` mounts it on the main typer app."""

# Commands import the torch-heavy library modules inside their bodies, so that `interp --help` answers at once.

from __future__ import annotations

from pathlib import Path

import typer

from interp.errors import UsageError
from interp.io import out_folder
from interp.tasks.options import RelationsOpt, parse_relations


def _steps_text(steps: list[int], limit: int = 12) -> str:
    if len(steps) <= limit:
        return ", ".join(map(str, steps)) or "none"
    return ", ".join(map(str, steps[:limit])) + f", ... ({len(steps)} in all)"


def checkpoint_sweep(
    dirs: list[Path] | None = typer.Argument(None, help="with --merge: the sweep folders to merge", show_default=False),
    out: Path = typer.Option(..., "--out", help="output folder (resumed when it holds the same sweep)", parser=out_folder),
    model: str | None = typer.Option(
        None, "--model", "-m", help="EleutherAI/pythia-SIZE (revisions stepN), or a local folder of step*/ models or a toy run"
    ),
    steps: str | None = typer.Option(None, "--steps", help="all, log (0,1,2,4..512, then ~2 per octave, and 14000), paper (Pythia 0..14000) or a list: 0,512,1000"),
    task: str | None = typer.Option(None, "--task", help="ioi, factual, prompts:FILE, gsm8k or gsm8k:FILE; noisy-recall for toy runs"),
    laser: list[str] | None = typer.Option(None, "--laser", help="LAYER:MATRIX:RHO or LAYER:MATRIX:KIND[:RHO] edit (any kind); each step is also evaluated with it (repeatable)"),
    n: int | None = typer.Option(None, "--n", help="number of prompts (default: the task's)"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(32, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
    dtype: str = typer.Option("float32", "--dtype", help="float32, float16 or bfloat16"),
    shard: str | None = typer.Option(None, "--shard", help="I/N: evaluate the I-th of N disjoint shares of the steps"),
    keep_cache: bool = typer.Option(True, "--keep-cache/--no-keep-cache", help="keep downloaded revisions in the HF cache"),
    executor: str = typer.Option("local", "--executor", help="local (with background prefetch) or ray"),
    ray_address: str | None = typer.Option(None, "--ray-address", help="Ray cluster address (default: RAY_ADDRESS or a local instance)"),
    prefetch: bool = typer.Option(True, "--prefetch/--no-prefetch", help="load the next checkpoint while evaluating this one"),
    relations: str | None = RelationsOpt,
    merge: bool = typer.Option(False, "--merge", help="merge the sweep folders DIRS (shards of one sweep) into --out"),
) -> None:
    """Evaluate a task over training checkpoints: writes results.parquet, summary.parquet, plots.

    Resumable (rerun the same command after a crash) and shardable (--shard I/N, then --merge).
    """
    from transformers.utils import logging as hf_logging

    from interp.checkpoint_sweeps.run import SweepConfig, merge_sweeps, run_sweep
    from interp.edits.spec import Edit
    from interp.models.spec import ModelSpec

    hf_logging.disable_progress_bar()  # one "Loading weights" bar per checkpoint drowns the sweep's log
    if merge:
        report = merge_sweeps(dirs or [], out)
        typer.echo(f"merged {len(report.already_done)} new steps; {len(report.steps) - len(report.missing)} of {len(report.steps)} steps present")
    else:
        if dirs:
            raise UsageError(f"unexpected arguments {' '.join(map(str, dirs))}; folders are only taken with --merge")
        missing = [flag for flag, value in (("--model", model), ("--steps", steps), ("--task", task)) if value is None]
        if missing:
            raise UsageError(f"checkpoint-sweep needs {', '.join(missing)} (or --merge DIR1 DIR2 ... --out DIR)")
        config = SweepConfig(
            out=str(out), model=ModelSpec.parse(model), steps=steps, task=task, laser=tuple(Edit.parse(t) for t in laser or ()), n=n, seed=seed,
            batch_size=batch_size, device=device, dtype=dtype, shard=shard, keep_cache=keep_cache,
            executor=executor, ray_address=ray_address, prefetch=prefetch, relations=parse_relations(relations),
        )
        report = run_sweep(config)
        typer.echo(
            f"evaluated {len(report.evaluated)} steps ({_steps_text(report.evaluated)}); "
            f"{len(report.already_done)} already done; this shard has {len(report.shard_steps)} of {len(report.steps)}"
        )
    mine = [s for s in report.missing if s in report.shard_steps]
    others = [s for s in report.missing if s not in report.shard_steps]
    if mine:
        typer.echo(f"steps without results yet: {_steps_text(mine)} (run the same command again)")
    if others:
        typer.echo(f"{len(others)} steps belong to other shards; merge their folders with --merge DIR1 DIR2 ... --out DIR")
    for message in report.duplicates:
        typer.echo(f"warning: {message}")
    typer.echo(f"wrote {report.out} ({report.n_rows} rows)")
    if report.failure_message:
        raise UsageError(report.failure_message)  # one line on stderr, exit code 2


def register(app: typer.Typer) -> None:
    """Add ``checkpoint-sweep`` to ``app``."""
    app.command("checkpoint-sweep")(checkpoint_sweep)
