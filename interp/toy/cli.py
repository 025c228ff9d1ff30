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
from interp.io import out_folder
from interp.overrides import parse_sets

# The commands import torch-heavy modules (models, training, evaluation) inside their bodies,
# so that `interp --help` answers at once.
PRESETS = ("chen", "birth")  # interp.toy.configs.PRESETS (tested equal)
TASKS = ("noisy-recall", "trigger-bigram")  # interp.toy.configs.TASKS (tested equal)
ARCHS = ("simplified", "standard")  # interp.toy.configs.ARCHS (tested equal)
DEFAULT_SEED = 12345  # toy eval's --seed (of the test data): its records keep the names they had

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, add_completion=False)


@app.command()
def train(
    task: str = typer.Option(..., "--task", help=f"one of {', '.join(TASKS)}"),
    out: Path = typer.Option(..., "--out", help="run directory (config.json, metrics.jsonl, step*/): new or empty, "
                             "or the folder of this run to resume it", parser=out_folder),
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
    """Train (or resume) a toy transformer and write checkpoints at log-spaced steps."""
    from interp.models.loading import resolve_device
    from interp.toy.checkpoint import check_run_folder
    from interp.toy.configs import preset, with_overrides
    from interp.toy.train import train as train_run

    cfg = preset(config, task, n_layers=layers, steps=steps, noise=noise, seed=seed, arch=arch)
    overrides: dict[str, object] = dict(parse_sets(set_))
    if eval_every is not None:
        overrides["eval_every"] = eval_every
    if overrides:
        cfg = with_overrides(cfg, overrides)
    dev = resolve_device(device)
    check_run_folder(out, cfg)  # new, empty or this run (resumed), and not being written, before any training
    result = train_run(cfg, out, device=dev)  # a finished run is read back, logging that nothing was trained
    typer.echo(json.dumps({k: result.history[-1][k] for k in ("step", "icl_acc", "p_noise", "p_correct")}))


@app.command("eval")
def eval_(
    path: Path = typer.Argument(..., help="a toy run directory (its last step) or one of its step*/ folders", parser=out_folder),
    drop_mlp_layer: int | None = typer.Option(None, "--drop-mlp", help="remove the MLP of this layer (0-based): the zero edit of its mlp_out"),
    laser: list[str] | None = LaserOpt,
    edit: list[str] | None = EditOpt,
    noise: float = typer.Option(0.0, "--noise", help="noise of the test data (0: clean)"),
    step: int | None = typer.Option(None, "--step", help="which saved step of a run directory"),
    n_sequences: int = typer.Option(512, "--n-sequences"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="seed of the test data (another seed writes eval_seedN.json)"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
) -> None:
    """Evaluate a checkpoint on fresh test data (with edits, if given); print and write eval*.json in the run.

    One file per evaluation (see :func:`eval_file_name`); the same evaluation again replaces its
    file, and a file of that name holding another evaluation is refused, not replaced.
    """
    from interp.edits.apply import apply_edits, check_edits
    from interp.io import now, output_dir, output_lock
    from interp.models.loading import load_model
    from interp.models.spec import ModelSpec, toy_config_json
    from interp.resources import check_memory
    from interp.toy.checkpoint import resolve
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
    started = now()
    with output_lock(path):  # one writer of the run's eval files
        checkpoint = resolve(path, step).name  # the step evaluated (the run's last when no --step)
        out = path / eval_file_name(edits, noise, step, seed)  # into the folder given: the run, or the step folder
        asked = {"edits": [e.label for e in edits], "noise": noise, "n_sequences": n_sequences, "seed": seed, "step_folder": checkpoint}
        _check_earlier_record(out, asked)
        model = load_model(spec, device=device)
        ran = check_edits(model, edits)  # as they run (a clipped rank relabelled)
        with apply_edits(model, ran) as report:
            metrics = evaluate(model.bridge, model.run_config, n_sequences=n_sequences, seed=seed, noise=noise, device=model.device)
        _write_record(out, model, metrics, report, {**asked, "edits_as_run": [e.label for e in ran]}, started)
    log.info("wrote %s", out)
    typer.echo(json.dumps({k: metrics[k] for k in ("icl_acc", "p_noise", "p_correct")}))


def _write_record(out: Path, model, metrics: dict, report, asked: dict, started: str) -> None:
    from interp.io import now, provenance, write_json

    edits, noise, n_sequences, seed = asked["edits"], asked["noise"], asked["n_sequences"], asked["seed"]
    record = {
        "icl_acc": metrics["icl_acc"],
        "p_noise": metrics["p_noise"],
        "p_correct": metrics["p_correct"],
        "loss_non_trigger": metrics["loss_non_trigger"],
        "checkpoint": model.spec.display,
        "edits": edits,
        "n_matrices_edited": report.n_matrices_edited,
        "noise": noise,
        "n_sequences": n_sequences,
        "seed": seed,
        "step_folder": asked["step_folder"],
        "edits_as_run": asked["edits_as_run"],
        "provenance": provenance(started, device=model.device, dtype=model.dtype, finished=now()),
    }
    write_json(out, record)


#: what an eval file must record as this evaluation did for it to be replaced (how the user names each)
_RECORD_FIELDS = {"edits": "edits", "noise": "--noise", "n_sequences": "--n-sequences", "seed": "--seed", "step_folder": "checkpoint"}


def _check_earlier_record(out: Path, asked: dict) -> None:
    """A file at ``out`` is replaced only when it records this same evaluation (a rerun); UsageError otherwise."""
    if not out.exists():
        return
    keep = f"move {out.name} away to replace it, or evaluate with its options"
    try:
        old = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = None
    if not isinstance(old, dict) or not {"icl_acc", "edits", "noise"} <= set(old):
        raise UsageError(f"{out} exists and is not a toy eval record; {keep}")
    diffs = [f"{name} was {old[key]!r}, now {asked[key]!r}" for key, name in _RECORD_FIELDS.items()
             if key in old and old[key] != asked[key]]
    if diffs:
        raise UsageError(f"{out} holds another evaluation ({'; '.join(diffs)}); {keep}")


def eval_file_name(edits, noise: float, step: int | None, seed: int = DEFAULT_SEED) -> str:
    """``eval.json`` for clean data, no edit, no ``--step`` and the default ``--seed``; otherwise named after what differs.

    e.g. ``eval_step64.json``, ``eval_1-mlp_out-zero.json``, ``eval_noise0.2.json``, ``eval_seed7.json``:
    one file per distinct evaluation, so evaluating with an edit, or on another seed's test data,
    never overwrites the earlier record (``--n-sequences`` is not in the name: another count for
    the same name is refused, see :func:`_check_earlier_record`).
    """
    parts = []
    if step is not None:
        parts.append(f"step{step}")
    if edits:
        parts.append(edits_label(edits).replace(":", "-"))
    if noise:
        parts.append(f"noise{noise:g}")
    if seed != DEFAULT_SEED:
        parts.append(f"seed{seed}")
    return "eval.json" if not parts else "eval_" + "_".join(parts) + ".json"
