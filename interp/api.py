"""The Python front door: the few calls a notebook session needs, each taking plain strings.

    model = interp.load_model("embedded:smollm2-135m")
    facts = interp.build_task("factual", model, n=50)
    table = interp.evaluate(model, facts)                       # one row per prompt
    interp.summarize(table)                                      # means, top-1, both ratios
    with interp.apply_edits(model, ["28:mlp_in:0.01"]):          # edited inside the block only
        edited = interp.evaluate(model, facts)
    best = interp.laser_sweep(model, "factual", out="runs/laser", layers="last-third")
    report = interp.checkpoint_sweep("runs/toy", steps="all", task="noisy-recall", out="runs/toy-sweep")

Everything here is a thin layer over the library (:mod:`interp.models`, :mod:`interp.tasks`,
:mod:`interp.scoring`, :mod:`interp.edits`, :mod:`interp.laser`, :mod:`interp.checkpoint_sweeps`): it
parses the strings once and calls the same code the command line calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.edits.grid import LayerSpec
from interp.edits.spec import Edit, parse_edits
from interp.errors import UsageError
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.models.loading import HookedModel, load_model
from interp.models.spec import ModelSpec
from interp.models.tokens import PromptTokenizer
from interp.scoring.edited import evaluate_edited
from interp.scoring.evaluate import evaluate as _evaluate
from interp.tasks import build_task as _build
from interp.tasks.base import PromptSet


def build_task(name: str, model: HookedModel | PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """The prompt set of task ``name`` (``ioi``, ``factual``, ``prompts:FILE``, ``gsm8k``, ``gsm8k:FILE``) tokenised for ``model``."""
    tokenizer = model.tokenizer if isinstance(model, HookedModel) else model
    if not isinstance(tokenizer, PromptTokenizer):
        raise UsageError(f"build_task needs a loaded text model (interp.load_model(...)), got {type(model).__name__}")
    return _build(name, tokenizer, n=n, seed=seed)


def evaluate(
    model: HookedModel,
    task: PromptSet | str,
    *,
    edits: Sequence[Edit | str] = (),
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per prompt of ``task`` (a prompt set, or a task name built with ``n`` and ``seed``).

    With ``edits`` the rows are the edited model's, with each prompt's unedited values beside them
    (``baseline_p_answer``, ...); the model is restored afterwards.
    """
    if not isinstance(model, HookedModel):
        raise UsageError(f"evaluate needs a loaded model (interp.load_model(...)), got {type(model).__name__}")
    prompt_set = task if isinstance(task, PromptSet) else build_task(task, model, n=n, seed=seed)
    if not edits:
        return _evaluate(model, prompt_set, batch_size=batch_size, progress=progress)
    frame, _ = evaluate_edited(model, prompt_set, parse_edits(edits), batch_size=batch_size, progress=progress, lm_cost=False, seed=seed)
    return frame


def laser_sweep(model: HookedModel | str, task: str, *, out: str, layers: str = "all", **options: Any) -> dict[str, Any]:
    """Run ``interp laser-sweep`` on ``model`` (loaded, or a spec string) and return ``best.json``'s content.

    ``options`` are the :class:`~interp.laser.run.LaserSweep` fields (``matrices``, ``rhos``, ``n``,
    ``controls``, ...); the run folder ``out`` is written as by the command.
    """
    loaded = model if isinstance(model, HookedModel) else load_model(ModelSpec.parse(model), device=options.get("device", "auto"))
    for key in ("matrices", "rhos", "kinds"):
        if key in options:
            options[key] = tuple(options[key])
    config = LaserSweep(out=str(out), model=loaded.spec, task=task, layers=LayerSpec.parse(layers), **options)
    return run_laser_sweep(config, model=loaded)


def checkpoint_sweep(model: str, *, steps: str, task: str, out: str, laser: Sequence[str | Edit] = (), **options: Any):
    """Run ``interp checkpoint-sweep`` (resumable) on the checkpoints of ``model``; returns its report."""
    edits = tuple(e if isinstance(e, Edit) else Edit.parse(e) for e in laser)
    return run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(model), steps=steps, task=task, laser=edits, **options))
