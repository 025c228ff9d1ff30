"""The ``interp gsm8k`` command (mounted on the main app by ``register``)."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.edits.grid import DEFAULT_MATRICES, DEFAULT_RHOS, LayerSpec, parse_floats, parse_names
from interp.edits.options import EditOpt, LaserOpt, edits_from_options
from interp.io import out_folder
from interp.models.embedded import DEFAULT_MODEL


def gsm8k(
    out: Path = typer.Option(..., "--out", help="output folder (resumed when it holds the same run)", parser=out_folder),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub name, local folder, or embedded:NAME"),
    checkpoint: str | None = typer.Option(None, "--checkpoint", help="training step of a Pythia model or a step*/ folder"),
    n: int | None = typer.Option(None, "--n", help="evaluate the first N test problems (default: all)"),
    seed: int = typer.Option(0, "--seed", help="draws the exemplars with --exemplars train"),
    data: Path | None = typer.Option(None, "--data", help="GSM8K jsonl to evaluate (default: hub openai/gsm8k, test split)"),
    train_data: Path | None = typer.Option(None, "--train-data", help="GSM8K jsonl of exemplars for --exemplars train (default: train.jsonl next to --data, else the hub)"),
    n_shot: int = typer.Option(8, "--n-shot", help="number of worked exemplars before the question (0 to 8 with wei)"),
    exemplars: str = typer.Option("wei", "--exemplars", help="wei (the 8 of Wei et al. 2022) or train (drawn with --seed)"),
    laser: list[str] | None = LaserOpt,
    edit: list[str] | None = EditOpt,
    laser_grid: bool = typer.Option(False, "--laser-grid", help="also every --layers x --matrices x --rhos LASER edit"),
    layers: str = typer.Option("all", "--layers", help="with --laser-grid: all, last-third, A:B or L1,L2,..."),
    matrices: str = typer.Option(",".join(DEFAULT_MATRICES), "--matrices", help="with --laser-grid: comma-separated matrix names"),
    rhos: str = typer.Option(",".join(f"{r:g}" for r in DEFAULT_RHOS), "--rhos", help="with --laser-grid: fractions of the rank kept"),
    max_new_tokens: int = typer.Option(256, "--max-new-tokens", help="stop a generation after this many tokens"),
    batch_size: int = typer.Option(8, "--batch-size", help="problems generated together"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
    lm_text: Path | None = typer.Option(None, "--lm-text", help="reference text for mean edits"),
    check_harness: bool = typer.Option(False, "--check-harness", help="also run lm-eval's gsm8k_cot on the same model and problems (needs interp[harness])"),
    force: bool = typer.Option(False, "--force", help="run even when the generations are estimated to take over a day"),
) -> None:
    """Few-shot chain-of-thought accuracy on GSM8K by greedy generation, with and without edits."""
    from interp.gsm8k.run import GSM8KRun, run_gsm8k
    from interp.models.spec import ModelSpec

    # each edit is its own config (not composed), so two edits of one matrix are fine: parsed one by one
    edits = [e for text in laser or [] for e in edits_from_options([text], None)]
    edits += [e for text in edit or [] for e in edits_from_options(None, [text])]
    config = GSM8KRun(
        out=str(out), model=ModelSpec.parse(model, checkpoint), n=n, seed=seed,
        data=None if data is None else str(data), train_data=None if train_data is None else str(train_data),
        n_shot=n_shot, exemplars=exemplars, edits=tuple(edits), laser_grid=laser_grid, layers=LayerSpec.parse(layers),
        matrices=parse_names(matrices), rhos=parse_floats(rhos), max_new_tokens=max_new_tokens,
        batch_size=batch_size, device=device, lm_text=None if lm_text is None else str(lm_text),
        check_harness=check_harness,
    )
    summary = run_gsm8k(config, force=force)
    typer.echo(format_summary(summary))
    typer.echo(f"wrote {out}")


def _line(s: dict) -> str:
    return (
        f"{s['edit']}: accuracy {s['accuracy']:.3f} ({s['n_correct']}/{s['n']}), "
        f"95% CI [{s['ci_low']:.3f}, {s['ci_high']:.3f}], {s['tokens_per_s']:.1f} tokens/s"
    )


def format_summary(summary: dict) -> str:
    """The lines ``interp gsm8k`` prints."""
    configs = summary.get("configs", [summary])
    lines = [f"{summary['model']}, GSM8K, n={configs[0]['n']}"] + [_line(s) for s in configs]
    if "harness" in summary:
        h = summary["harness"]
        lines.append(
            f"lm-eval gsm8k_cot on the same problems: strict-match {h['strict_match']:.3f}, "
            f"flexible-extract {h['flexible_extract']:.3f}; same generation as ours on {h['n_same_generation']}/{h['n']}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Mount ``gsm8k`` on the main ``interp`` app."""
    app.command("gsm8k")(gsm8k)
