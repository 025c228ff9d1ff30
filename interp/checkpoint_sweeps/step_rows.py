"""One checkpoint, every edit: the rows a sweep stores for one step, and the per-step summary.

Rows: ``step``, ``edit`` (``"none"`` or the edit's label), ``prompt_index`` (the prompt's
position in the task's prompt set), then the task's columns (``prompt``, ``answer``,
``p_answer``, ``p_the``, ``log_ratio``, ``rank``, ``top1``; IOI adds ``p_s`` and ``logit_diff``
and its position columns). For toy runs (``--task noisy-recall``) ``p_the`` is P(noise token).
Every edit, of any model, goes through :func:`interp.edits.apply.apply_edits`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from interp.checkpoint_sweeps.sources import LoadedCheckpoint
from interp.edits.apply import apply_edits
from interp.edits.spec import NO_EDIT, Edit
from interp.errors import UsageError, check_positive
from interp.models.loading import HookedModel
from interp.models.spec import ModelSpec
from interp.scoring.evaluate import evaluate
from interp.scoring.summary import summarize_groups
from interp.tasks import build_task, check_task_source
from interp.toy.metrics import noisy_recall_table

TOY_TASK = "noisy-recall"
TOY_DEFAULT_N = 256
KEY_COLUMNS = ("step", "edit", "prompt_index")


@dataclass(frozen=True)
class TaskOptions:
    """The task options shared with ``interp eval``."""

    task: str
    n: int | None = None
    seed: int = 0
    batch_size: int = 32
    relations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_positive(self.n, "--n")
        check_positive(self.batch_size, "--batch-size")


@dataclass
class StepResult:
    """What evaluating one step produced: its rows and facts about the checkpoint."""

    step: int
    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def check_task(task: str, spec: ModelSpec, relations: tuple[str, ...] = ()) -> None:
    """``noisy-recall`` reads token ids and needs a toy run; the text tasks of ``interp eval`` need a tokenizer."""
    if spec.is_toy and task != TOY_TASK:
        raise UsageError(f"a toy run is swept with --task {TOY_TASK}, not {task!r}")
    if not spec.is_toy and task == TOY_TASK:
        raise UsageError(f"--task {TOY_TASK} needs a toy run directory (interp toy train), not {spec.display}")
    if task != TOY_TASK:
        check_task_source(task, relations)


def _with_keys(frame: pd.DataFrame, step: int, edit: str) -> pd.DataFrame:
    keys = pd.DataFrame(
        {"step": np.full(len(frame), step, dtype=np.int64), "edit": [edit] * len(frame),
         "prompt_index": np.arange(len(frame), dtype=np.int64)}
    )
    return pd.concat([keys, frame.reset_index(drop=True)], axis=1)


def task_scorer(model: HookedModel, options: TaskOptions) -> tuple[Callable[[], pd.DataFrame], dict[str, Any]]:
    """(a function scoring the task on ``model`` as it is now, facts about the prompt set)."""
    if options.task == TOY_TASK:
        n = options.n or TOY_DEFAULT_N

        def score_toy() -> pd.DataFrame:
            return noisy_recall_table(model.bridge, model.run_config, n_sequences=n, seed=options.seed, device=model.device)

        return score_toy, {"n_skipped": 0, "skipped": {}}
    prompt_set = build_task(options.task, model.tokenizer, n=options.n, seed=options.seed, relations=options.relations)

    def score_prompts() -> pd.DataFrame:
        return evaluate(model, prompt_set, batch_size=options.batch_size, progress=False)

    return score_prompts, {"n_skipped": int(prompt_set.n_skipped), "skipped": dict(prompt_set.skipped)}


def evaluate_checkpoint(loaded: LoadedCheckpoint, options: TaskOptions, edits: tuple[Edit, ...]) -> StepResult:
    """Evaluate ``loaded`` without edits and with each edit in turn; all rows of the step."""
    start = time.perf_counter()
    score, task_meta = task_scorer(loaded.model, options)
    frames = []
    for edit in (None, *edits):
        with apply_edits(loaded.model, () if edit is None else (edit,)):
            frame = score()
        frames.append(_with_keys(frame, loaded.step, NO_EDIT if edit is None else edit.label))
    frame = pd.concat(frames, ignore_index=True)
    meta = {
        "step": loaded.step,
        "model": loaded.display,
        "fingerprint": loaded.fingerprint,
        "n_rows": int(len(frame)),
        "edits": [NO_EDIT, *(e.label for e in edits)],
        "load_seconds": round(loaded.load_seconds, 4),
        "eval_seconds": round(time.perf_counter() - start, 4),
        **task_meta,
    }
    return StepResult(loaded.step, frame, meta)


def summarize_steps_by_relation(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (step, edit, relation) when the task has relations (factual); empty otherwise."""
    if "relation" not in results:
        return pd.DataFrame()
    return summarize_groups(results, ["step", "edit", "relation"]).sort_values(["step", "edit", "relation"], kind="stable")


def summarize_steps(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (step, edit): :func:`interp.scoring.summary.summarize` of that step's prompts.

    The plotted ratio is ``ratio_of_means`` (mean P(answer) / mean P(" the")); ``geo_mean_ratio``
    is there too. Rows are ordered by step, then with the unedited model first.
    """
    frame = summarize_groups(results, ["step", "edit"])
    if frame.empty:
        return frame
    frame = frame.assign(_edited=frame["edit"] != NO_EDIT)
    frame = frame.sort_values(["step", "_edited", "edit"], kind="stable").drop(columns="_edited")
    return frame.reset_index(drop=True)
