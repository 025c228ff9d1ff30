"""``interp lm train``: train a Pythia-style language model from scratch, with checkpoints on Pythia's schedule.

The options map onto :class:`interp.lm.config.TrainConfig` (``--size`` picks a preset, ``--steps``,
``--seed`` and ``--set key=value`` change fields); ``--device`` and ``--threads`` say how to run it.
Bad input is one line and exit code 2 before any training.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

from interp.errors import UsageError, check_positive
from interp.io import out_folder
from interp.overrides import parse_sets

# The command imports torch-heavy modules inside its body, so that `interp --help` answers at once.
SIZES = ("tiny", "small", "base", "large")  # interp.lm.config.SIZES (tested equal)

log = logging.getLogger(__name__)

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None, add_completion=False)


@app.command()
def train(
    out: Path = typer.Option(..., "--out", help="run folder: new or empty, or the folder of this run to resume it", parser=out_folder),
    size: str = typer.Option("small", "--size", help=f"preset: {', '.join(SIZES)} (tiny: tests; small: 16-26 min on one CPU "
                             "thread; base, large: a GPU)"),
    steps: int | None = typer.Option(None, "--steps", help="optimizer steps (default: the preset's)"),
    seed: int = typer.Option(0, "--seed", help="initialisation and data order"),
    set_: list[str] = typer.Option([], "--set", help="override a config field, e.g. --set model.d_model=64 (repeatable)"),
    device: str = typer.Option("auto", "--device", help="cpu, cuda, cuda:N or auto"),
    threads: int | None = typer.Option(None, "--threads", help="torch CPU threads (default on a CPU: 1)"),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="folder of the corpus files (default: ../shared/data)"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
) -> None:
    """Train (or resume) a GPT-NeoX language model; writes DIR/train.json, DIR/step{N}/ and DIR/loss.png."""
    from interp.lm.config import preset, with_overrides

    check_positive(steps, "--steps")
    check_positive(threads, "--threads")
    cfg = preset(size, steps=steps, seed=seed)
    overrides = parse_sets(set_)
    if overrides:
        cfg = with_overrides(cfg, overrides)

    import torch

    from interp.lm.checkpoint import check_run_folder
    from interp.lm.corpus import check_corpus
    from interp.lm.train import train as train_run
    from interp.models.loading import resolve_device

    dev = resolve_device(device)
    check_corpus(cfg.corpus, data_dir)
    check_run_folder(out, cfg)
    if dev.type == "cpu":
        torch.set_num_threads(threads or 1)
    elif threads:
        raise UsageError(f"--threads applies to CPU training; {dev} was chosen (--device)")
    result = train_run(cfg, out, device=dev, data_dir=data_dir, progress=progress)
    last = result.history[-1] if result.history else {"step": 0, "loss": None}
    typer.echo(json.dumps({
        "out": str(out), "step": last["step"], "loss": last["loss"], "n_params": result.n_params,
        "tokens_per_s": None if result.tokens_per_s is None else round(result.tokens_per_s, 1),
        "resumed_from": result.resumed_from,
    }))
