"""The ``interp laser-sweep`` command (mounted on the main app by ``register``)."""

# Commands import the torch-heavy library modules inside their bodies, so that `interp --help` answers at once.

from __future__ import annotations

from pathlib import Path

import typer

from interp.edits.grid import DEFAULT_MATRICES, DEFAULT_RHOS, LayerSpec, parse_floats, parse_names
from interp.io import out_folder
from interp.laser.criteria import SELECT_BY
from interp.models.cli import CheckpointOpt, DeviceOpt, ModelOpt
from interp.scoring.options import DEFAULT_LM_TOKENS
from interp.tasks.options import RelationsOpt, parse_relations


def laser_sweep(
    task: str = typer.Option(..., "--task", help="ioi, factual, prompts:FILE, gsm8k or gsm8k:FILE"),
    out: Path = typer.Option(..., "--out", help="output folder", parser=out_folder),
    model: str = ModelOpt,
    checkpoint: str | None = CheckpointOpt,
    layers: str = typer.Option("all", "--layers", help="all, last-third, A:B (half-open) or L1,L2,..."),
    matrices: str = typer.Option(",".join(DEFAULT_MATRICES), "--matrices", help="comma-separated: mlp_in, mlp_gate, mlp_out, attn_q, attn_k, attn_v, attn_o"),
    rhos: str = typer.Option(",".join(f"{r:g}" for r in DEFAULT_RHOS), "--rhos", help="fractions of the rank kept, in (0, 1]"),
    select_frac: float = typer.Option(0.2, "--select-frac", help="fraction of prompts the best config is chosen on; reported on the rest"),
    n: int | None = typer.Option(None, "--n", help="number of prompts (default: the task's)"),
    seed: int = typer.Option(0, "--seed", help="prompt sampling, selection split, random-control directions"),
    batch_size: int = typer.Option(64, "--batch-size"),
    compose: int = typer.Option(1, "--compose", help="greedy composition of up to K edits at different layers (1: off)"),
    kinds: str = typer.Option("lowrank", "--kinds", help="edit kinds swept at every place: lowrank plus any of remove_top, zero, random, mean"),
    controls: bool = typer.Option(False, "--controls", help="also zero and random edits at every place, gain over zero, LM cost"),
    lm_cost: bool = typer.Option(False, "--lm-cost", help="language-modelling loss per config (implied by --controls)"),
    lm_text: Path | None = typer.Option(None, "--lm-text", help="reference text for the LM cost (default: Tiny Shakespeare slice, else a packaged passage)"),
    lm_tokens: int = typer.Option(DEFAULT_LM_TOKENS, "--lm-tokens", help="tokens of reference text scored per config"),
    max_lm_loss_increase: float | None = typer.Option(None, "--max-lm-loss-increase", help="only pick configs whose LM loss rises by at most X nats"),
    relations: str | None = RelationsOpt,
    select_by: str = typer.Option("log_ratio", "--select-by", help="choose the best config on: log_ratio (default), logp_answer_full or exact"),
    device: str = DeviceOpt,
) -> None:
    """Sweep LASER edits (layers x matrices x rhos): results, summary, heatmaps and the best held-out config."""
    from interp.laser.run import LaserSweep, run_laser_sweep
    from interp.models.spec import ModelSpec
    from interp.scoring.lm_loss import check_lm_text

    config = LaserSweep(
        out=str(out), model=ModelSpec.parse(model, checkpoint), task=task, layers=LayerSpec.parse(layers),
        matrices=parse_names(matrices), rhos=parse_floats(rhos), select_frac=select_frac, n=n, seed=seed,
        batch_size=batch_size, compose=compose, kinds=parse_names(kinds, "--kinds"), controls=controls, lm_cost=lm_cost,
        lm_text=None if lm_text is None else str(check_lm_text(lm_text).resolve()), lm_tokens=lm_tokens,
        max_lm_loss_increase=max_lm_loss_increase, select_by=select_by, relations=parse_relations(relations), device=device,
    )
    best = run_laser_sweep(config)
    typer.echo(format_best(best))
    typer.echo(f"wrote {out}")


def format_best(best: dict) -> str:
    """The lines ``laser-sweep`` prints about the chosen config."""
    held, sel = best["heldout"], best["select"]
    lines = [
        f"best (chosen on {best['n_select']} selection prompts): {best['edit']} (k={best['k']})",
        f"gain in {SELECT_BY[best.get('select_by', 'log_ratio')]}: selection {best['gain_select']:+.3f}, held-out {best['gain_heldout']:+.3f}",
        best["headline"] + f" (n={held['n']})",
        f"held-out P(answer) change {held['change']['delta_p_answer']:+.4g}, P(the) change {held['change']['delta_p_the']:+.4g}"
        + (f", P(function words) change {held['change']['delta_p_function']:+.4g}" if "delta_p_function" in held["change"] else ""),
        f"selection: top-1 {sel['baseline']['top1_acc']:.3f} -> {sel['edited']['top1_acc']:.3f}",
    ]
    if "heldout_gain_over_zero" in best:
        lines.append(f"held-out gain over zero-ablation at the same place: {best['heldout_gain_over_zero']:+.3f}")
    if "delta_lm_loss" in best:
        lines.append(f"LM loss {best['baseline_lm_loss']:.4f} -> {best['lm_loss']:.4f} nats ({best['delta_lm_loss']:+.4f})")
    if "compose" in best:
        comp = best["compose"]
        lines.append(
            f"composition {' + '.join(comp['edits'])}: held-out gain "
            f"{comp['heldout']['change']['delta_log_ratio']:+.3f}"
        )
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Mount ``laser-sweep`` on the main ``interp`` app."""
    app.command("laser-sweep")(laser_sweep)
