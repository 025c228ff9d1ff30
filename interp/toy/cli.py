"""``interp toy train`` and ``interp toy eval``: the command line of the toy trainer.

Layers are 0-based everywhere, as in the hook names: in a two-layer model the papers'
"layer-2 MLP" is ``blocks.1``, so ``--drop-mlp 1``.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from interp.edits.options import EditOpt, LaserOpt, edits_from_options
from interp.edits.spec import edits_label, parse_edits
from interp.errors import UsageError
from interp.overrides import parse_sets

# The commands import torch-heavy modules (models, training, evaluation) inside their bodies,
# so that `interp --help` answers at once.
PRESETS = ("chen", "birth")  # interp.toy.configs.PRESETS (tested equal)
TASKS = ("noisy-recall", "trigger-bigram")  # interp.toy.configs.TASKS (tested equal)
ARCHS = ("simplified", "standard")  # interp.toy.configs.ARCHS (tested equal)

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, add_completion=False)


@app.command()
def train(
    task: str = typer.Option(..., "--task", help=f"one of {', '.join(TASKS)}"),
    out: Path = typer.Option(..., "--out", help="run directory to create (config.json, metrics.jsonl, step*/)"),
    config: str = typer.Option("chen", "--config", help=f"named config: {', '.join(PRESETS)}"),
    layers: int = typer.Option(2, "--layers", help="1 or 2"),
    arch: str | None = typer.Option(
        None, "--arch",
        help=f"one of {', '.join(ARCHS)}: the papers' simplified model or an ordinary layer (LayerNorm, MLP, "
        "every weight trained, AdamW); default: the config's (standard for birth --layers 1, else simplified)",
    ),
    steps: int | None = typer.Option(None, "--steps", help="training steps (default: the config's)"),
    noise: float | None = typer.Option(None, "--noise", help="noise probability p in [0, 1) (noisy-recall)"),
    seed: int = typer.Option(0, "--seed"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
    eval_every: int | None = typer.Option(None, "--eval-every", help="steps between metric records"),
    set_: list[str] = typer.Option([], "--set", help="override a config field, e.g. --set model.d_model=64 (repeatable)"),
) -> None:
    """Train a toy transformer and write checkpoints at log-spaced steps."""
    from interp.io import new_output_dir
    from interp.models.loading import resolve_device
    from interp.toy.configs import preset, with_overrides
    from interp.toy.train import train as train_run

    cfg = preset(config, task, n_layers=layers, steps=steps, noise=noise, seed=seed, arch=arch)
    overrides: dict[str, object] = dict(parse_sets(set_))
    if eval_every is not None:
        overrides["eval_every"] = eval_every
    if overrides:
        cfg = with_overrides(cfg, overrides)
    dev = resolve_device(device)
    new_output_dir(out)  # empty (or new) and writable, before any training
    result = train_run(cfg, out, device=dev)
    typer.echo(json.dumps({k: result.history[-1][k] for k in ("step", "icl_acc", "p_noise", "p_correct")}))


@app.command("eval")
def eval_(
    path: Path = typer.Argument(..., help="a toy run directory (its last step) or one of its step*/ folders"),
    drop_mlp_layer: int | None = typer.Option(None, "--drop-mlp", help="remove the MLP of this layer (0-based): the zero edit of its mlp_out"),
    laser: list[str] | None = LaserOpt,
    edit: list[str] | None = EditOpt,
    noise: float = typer.Option(0.0, "--noise", help="noise of the test data (0: clean)"),
    step: int | None = typer.Option(None, "--step", help="which saved step of a run directory"),
    n_sequences: int = typer.Option(512, "--n-sequences"),
    seed: int = typer.Option(12345, "--seed", help="seed of the test data"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
) -> None:
    """Evaluate a checkpoint on fresh test data (with edits, if given); print and write eval*.json in the run."""
    from interp.edits.apply import apply_edits, check_edits
    from interp.io import output_dir, write_json
    from interp.models.loading import load_model
    from interp.models.spec import ModelSpec, toy_config_json
    from interp.resources import check_memory
    from interp.toy.configs import RunConfig
    from interp.toy.metrics import eval_bytes, evaluate

    edits = edits_from_options(laser, edit)
    if drop_mlp_layer is not None:
        edits = parse_edits([*(e.label for e in edits), f"{drop_mlp_layer}:mlp_out:zero"])
    if n_sequences < 1:
        raise UsageError(f"--n-sequences must be positive, got {n_sequences}")
    if not 0.0 <= noise < 1.0:  # NaN fails too
        raise UsageError(f"--noise must be in [0, 1), got {noise}")
    spec = ModelSpec.parse(str(path), step)
    if spec.source != "toy":
        raise UsageError(f"{path} is not a toy run or toy checkpoint folder; train one with `interp toy train`")
    run_config = RunConfig.from_dict(toy_config_json(Path(spec.name)) or {})
    check_memory(eval_bytes(run_config, n_sequences), f"--n-sequences {n_sequences}", "use fewer --n-sequences (512 is the default)")
    output_dir(path)  # the result is written into the folder given: check it before the work
    model = load_model(spec, device=device)
    edits = check_edits(model, edits)  # as they run (a clipped rank relabelled)
    with apply_edits(model, edits) as report:
        metrics = evaluate(model.bridge, model.run_config, n_sequences=n_sequences, seed=seed, noise=noise, device=model.device)
    record = {
        "icl_acc": metrics["icl_acc"],
        "p_noise": metrics["p_noise"],
        "p_correct": metrics["p_correct"],
        "loss_non_trigger": metrics["loss_non_trigger"],
        "checkpoint": model.spec.display,
        "edits": [e.label for e in edits],
        "n_matrices_edited": report.n_matrices_edited,
        "noise": noise,
        "n_sequences": n_sequences,
        "seed": seed,
    }
    out = path / eval_file_name(edits, noise, step)  # into the folder given: the run, or the step folder
    write_json(out, record)
    log.info("wrote %s", out)
    typer.echo(json.dumps({k: record[k] for k in ("icl_acc", "p_noise", "p_correct")}))


def eval_file_name(edits, noise: float, step: int | None) -> str:
    """``eval.json`` for clean data, no edit and no ``--step``; otherwise named after what differs.

    e.g. ``eval_step64.json``, ``eval_1-mlp_out-zero.json``, ``eval_noise0.2.json``: one file per
    distinct evaluation, so evaluating with an edit never overwrites the unedited record.
    """
    parts = []
    if step is not None:
        parts.append(f"step{step}")
    if edits:
        parts.append(edits_label(edits).replace(":", "-"))
    if noise:
        parts.append(f"noise{noise:g}")
    return "eval.json" if not parts else "eval_" + "_".join(parts) + ".json"
