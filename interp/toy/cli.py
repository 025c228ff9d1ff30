"""``interp toy train`` and ``interp toy eval``: the command line of the toy trainer.

Layers are 0-based everywhere, as in the hook names: in a two-layer model the papers'
"layer-2 MLP" is ``blocks.1``, so ``--drop-mlp 1``.
"""

from __future__ import annotations

import json
import logging
from contextlib import ExitStack
from pathlib import Path
from typing import Optional

import torch
import typer

from interp.errors import UsageError
from interp.toy.checkpoint import load_checkpoint, resolve
from interp.toy.configs import ARCHS, PRESETS, TASKS, preset, with_overrides
from interp.toy.evaluate import evaluate
from interp.toy.interventions import drop_mlp, parse_laser, truncate_mlp
from interp.toy.train import train as train_run

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, add_completion=False)


def _device(device: str) -> str:
    if device not in ("cpu", "cuda"):
        raise UsageError(f"--device must be cpu or cuda, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda requested but CUDA is not available")
    return device


def _parse_sets(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set takes FIELD=VALUE, e.g. model.d_model=64; got {item!r}")
        out[key.strip()] = value.strip()
    return out


@app.command()
def train(
    task: str = typer.Option(..., "--task", help=f"one of {', '.join(TASKS)}"),
    out: Path = typer.Option(..., "--out", help="run directory to create (config.json, metrics.jsonl, step*/)"),
    config: str = typer.Option("chen", "--config", help=f"named config: {', '.join(PRESETS)}"),
    layers: int = typer.Option(2, "--layers", help="1 or 2"),
    arch: Optional[str] = typer.Option(
        None, "--arch",
        help=f"one of {', '.join(ARCHS)}: the papers' simplified model or an ordinary layer (LayerNorm, MLP, "
        "every weight trained, AdamW); default: the config's (standard for birth --layers 1, else simplified)",
    ),
    steps: Optional[int] = typer.Option(None, "--steps", help="training steps (default: the config's)"),
    noise: Optional[float] = typer.Option(None, "--noise", help="noise probability p in [0, 1) (noisy-recall)"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
    eval_every: Optional[int] = typer.Option(None, "--eval-every", help="steps between metric records"),
    set_: list[str] = typer.Option([], "--set", help="override a config field, e.g. --set model.d_model=64 (repeatable)"),
) -> None:
    """Train a toy transformer and write checkpoints at log-spaced steps."""
    cfg = preset(config, task, n_layers=layers, steps=steps, noise=noise, seed=seed, arch=arch)
    overrides: dict[str, object] = dict(_parse_sets(set_))
    if eval_every is not None:
        overrides["eval_every"] = eval_every
    if overrides:
        cfg = with_overrides(cfg, overrides)
    dev = _device(device)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out} exists and is not an empty folder; choose a new --out")
    result = train_run(cfg, out, device=dev)
    typer.echo(json.dumps({k: result.history[-1][k] for k in ("step", "icl_acc", "p_noise", "p_correct")}))


@app.command("eval")
def eval_(
    path: Path = typer.Argument(..., help="a toy run directory (its last step) or one of its step*/ folders"),
    drop_mlp_layer: Optional[int] = typer.Option(None, "--drop-mlp", help="remove the MLP of this layer (0-based)"),
    laser: Optional[str] = typer.Option(None, "--laser", help="LAYER:MATRIX:RHO, e.g. 1:mlp_in:0.05"),
    noise: float = typer.Option(0.0, "--noise", help="noise of the test data (0: clean)"),
    step: Optional[int] = typer.Option(None, "--step", help="which saved step of a run directory"),
    n_sequences: int = typer.Option(512, "--n-sequences"),
    seed: int = typer.Option(12345, "--seed", help="seed of the test data"),
    device: str = typer.Option("cpu", "--device", help="cpu or cuda"),
) -> None:
    """Evaluate a checkpoint on fresh test data; print and write eval.json (icl_acc, p_noise, p_correct)."""
    folder = resolve(path, step)
    if n_sequences < 1:
        raise UsageError(f"--n-sequences must be positive, got {n_sequences}")
    dev = _device(device)
    model, cfg = load_checkpoint(folder, device=dev)
    with ExitStack() as stack:
        if laser is not None:
            layer, matrix, rho = parse_laser(laser)
            stack.enter_context(truncate_mlp(model, layer, matrix, rho))
        if drop_mlp_layer is not None:
            stack.enter_context(drop_mlp(model, drop_mlp_layer))
        metrics = evaluate(model, cfg, n_sequences=n_sequences, seed=seed, noise=noise, device=dev)
    record = {
        "icl_acc": metrics["icl_acc"],
        "p_noise": metrics["p_noise"],
        "p_correct": metrics["p_correct"],
        "loss_non_trigger": metrics["loss_non_trigger"],
        "checkpoint": str(folder),
        "drop_mlp": drop_mlp_layer,
        "laser": laser,
        "noise": noise,
        "n_sequences": n_sequences,
        "seed": seed,
    }
    out = Path(path) / "eval.json"
    out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    typer.echo(json.dumps({k: record[k] for k in ("icl_acc", "p_noise", "p_correct")}))
