"""``interp eval`` and ``interp predict``; ``register(app)`` mounts them on the main app."""

# Commands import the torch-heavy library modules inside their bodies, so that `interp --help` answers at once.

from __future__ import annotations

from pathlib import Path

import typer

from interp.edits.options import EditOpt, LaserOpt, edits_from_options
from interp.edits.spec import WEIGHT_KINDS
from interp.errors import UsageError
from interp.io import out_folder
from interp.models.cli import CheckpointOpt, DeviceOpt, ModelOpt
from interp.tasks.options import RelationsOpt, parse_relations


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "none"
    return str(value)


def predict(
    prompt: str = typer.Argument(..., help="the text to continue"),
    model: str = ModelOpt,
    checkpoint: str | None = CheckpointOpt,
    top_k: int = typer.Option(10, "--top-k", help="how many tokens to show"),
    laser: list[str] | None = LaserOpt,
    edit: list[str] | None = EditOpt,
    device: str = DeviceOpt,
) -> None:
    """Show the model's top next tokens after PROMPT; with --laser/--edit, unedited and edited side by side."""
    from rich.console import Console
    from rich.table import Table

    from interp.edits.apply import check_edits
    from interp.models.loading import load_model
    from interp.models.spec import ModelSpec
    from interp.scoring.predict import top_tokens, top_tokens_edited

    if top_k < 1:
        raise UsageError(f"--top-k must be >= 1, got {top_k}")
    if not prompt.strip():
        raise UsageError("PROMPT is empty; give the text to continue, e.g. interp predict 'The capital of France is'")
    spec = ModelSpec.parse(model, checkpoint)
    edits = edits_from_options(laser, edit)
    means = [e.label for e in edits if not e.is_weight_edit]
    if means:
        raise UsageError(
            f"predict takes weight edits ({', '.join(WEIGHT_KINDS)}), not {means[0]}: a mean edit needs a reference text; "
            f"run interp eval --edit {means[0]} --lm-text FILE instead"
        )
    hooked = load_model(spec, device=device)
    if hooked.tokenizer is None:
        raise UsageError(f"{hooked.spec.display} is a toy model without a tokenizer; predict takes text models")
    console = Console()
    if not edits:
        rows = top_tokens(hooked, prompt, top_k)
        table = Table(title=f"{hooked.spec.display}: {prompt!r}")
        for col in ("rank", "token", "id", "probability"):
            table.add_column(col, justify="right" if col != "token" else "left")
        for row in rows:
            table.add_row(str(row.rank), repr(row.token), str(row.token_id), f"{row.probability:.4f}")
        console.print(table)
        return
    edits = check_edits(hooked, edits)  # as they run (a clipped rank relabelled)
    before, after = top_tokens_edited(hooked, prompt, edits, top_k)
    typer.echo(f"edits: {'+'.join(e.label for e in edits)}")
    table = Table(title=f"{hooked.spec.display}: {prompt!r} · unedited vs edited")
    for col in ("rank", "unedited", "p", "edited", "p "):
        table.add_column(col, justify="left" if col in ("unedited", "edited") else "right")
    for b, a in zip(before, after):
        table.add_row(str(b.rank), repr(b.token), f"{b.probability:.4f}", repr(a.token), f"{a.probability:.4f}")
    console.print(table)


def eval_command(
    task: str = typer.Option(..., "--task", help="ioi, factual, prompts:FILE (jsonl of {prompt, answer}), gsm8k or gsm8k:FILE"),
    out: Path = typer.Option(..., "--out", help="output folder", parser=out_folder),
    model: str = ModelOpt,
    checkpoint: str | None = CheckpointOpt,
    n: int | None = typer.Option(None, "--n", help="number of prompts (default: the task's)"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(32, "--batch-size"),
    device: str = DeviceOpt,
    laser: list[str] | None = LaserOpt,
    edit: list[str] | None = EditOpt,
    lm_text: Path | None = typer.Option(None, "--lm-text", help="reference text for the edits' LM cost and mean ablations"),
    lm_cost: bool = typer.Option(True, "--lm-cost/--no-lm-cost", help="with edits: also score the LM loss on the reference text (the slow part)"),
    relations: str | None = RelationsOpt,
) -> None:
    """Evaluate a task: writes config.json, results.parquet, summary.json, p_the_vs_p_answer.png."""
    from interp.models.spec import ModelSpec
    from interp.scoring.lm_loss import check_lm_text
    from interp.scoring.run import EvalRun, run_eval

    config = EvalRun(
        out=str(out), model=ModelSpec.parse(model, checkpoint), task=task, n=n, seed=seed,
        batch_size=batch_size, device=device, edits=edits_from_options(laser, edit),
        lm_text=None if lm_text is None else str(check_lm_text(lm_text).resolve()), lm_cost=lm_cost,
        relations=parse_relations(relations),
    )
    summary = run_eval(config)
    for key, value in summary.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            typer.echo(f"{key}:")  # e.g. by_relation: one line per relation
            for name, inner in value.items():
                typer.echo(f"  {name}: {_format_value(inner)}")
        else:
            typer.echo(f"{key}: {_format_value(value)}")
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Mount ``predict`` and ``eval`` on the main ``interp`` app."""
    app.command()(predict)
    app.command("eval")(eval_command)
