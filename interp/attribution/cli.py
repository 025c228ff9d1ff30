"""The ``interp attribution`` command (mounted on the main app by ``register``)."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.io import out_folder
from interp.models.embedded import DEFAULT_MODEL


def attribution(
    out: Path = typer.Option(..., "--out", help="output folder", parser=out_folder),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub name, local folder, or embedded:NAME"),
    prompt: str | None = typer.Option(None, "--prompt", help="one prompt"),
    prompts: Path | None = typer.Option(None, "--prompts", help="a text file, one prompt per line"),
    layers: str = typer.Option("all", "--layers", help="all, last-third, A:B (half-open) or L1,L2,..."),
    ig_steps: int = typer.Option(32, "--ig-steps", help="integrated-gradients points on the FF activation's path"),
    batch_size: int = typer.Option(8, "--batch-size"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
    force: bool = typer.Option(False, "--force", help="run even when the integrated gradients are estimated to take over a day"),
) -> None:
    """Norm-based token-to-token maps through attention and FF blocks (Kobayashi et al. 2024):
    maps.npz, summary.json, per-scope heatmaps, summary.png, maps.html."""
    from interp.attribution.run import AttributionRun, format_summary, run_attribution
    from interp.edits.grid import LayerSpec
    from interp.models.spec import ModelSpec

    config = AttributionRun(
        out=str(out), model=ModelSpec.parse(model), prompt=prompt, prompts_file=None if prompts is None else str(prompts),
        layers=LayerSpec.parse(layers), ig_steps=ig_steps, batch_size=batch_size, device=device,
    )
    summary = run_attribution(config, force=force)
    typer.echo(format_summary(summary))
    typer.echo(f"wrote {out}")


def register(app: typer.Typer) -> None:
    """Mount ``attribution`` on the main ``interp`` app."""
    app.command("attribution")(attribution)
