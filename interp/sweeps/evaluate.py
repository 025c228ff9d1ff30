"""One checkpoint, every edit: the rows a sweep stores for one step, and the per-step summary.

Rows: ``step``, ``edit`` (``"none"`` or the ``--laser`` string), ``prompt_index`` (the prompt's
position in the task's prompt set), then the task's columns (``prompt``, ``answer``,
``p_answer``, ``p_the``, ``log_ratio``, ``rank``, ``top1``; IOI adds ``p_s`` and ``logit_diff``
and its position columns). For toy runs (``--task noisy-recall``) ``p_the`` is P(noise token).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from interp.errors import UsageError
from interp.scoring.summary import summarize_groups
from interp.sweeps.edits import NO_EDIT, edit_context
from interp.sweeps.sources import LoadedCheckpoint

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

    def __post_init__(self) -> None:
        if self.n is not None and self.n < 1:
            raise UsageError(f"--n must be >= 1, got {self.n}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")


@dataclass
class StepResult:
    """What evaluating one step produced: its rows and facts about the checkpoint."""

    step: int
    frame: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)


def check_task(task: str, kind: str) -> None:
    """Toy runs take ``noisy-recall``; Hugging Face checkpoints take the tasks of ``interp eval``."""
    if kind == "toy" and task != TOY_TASK:
        raise UsageError(f"a toy run is swept with --task {TOY_TASK}, not {task!r}")
    if kind == "hf" and task == TOY_TASK:
        raise UsageError(f"--task {TOY_TASK} needs a toy run directory (interp toy train), not a Hugging Face model")


def _with_keys(frame: pd.DataFrame, step: int, edit: str) -> pd.DataFrame:
    keys = pd.DataFrame(
        {"step": np.full(len(frame), step, dtype=np.int64), "edit": [edit] * len(frame),
         "prompt_index": np.arange(len(frame), dtype=np.int64)}
    )
    return pd.concat([keys, frame.reset_index(drop=True)], axis=1)


def _evaluate_hf(loaded: LoadedCheckpoint, options: TaskOptions, edits: tuple[str, ...]) -> tuple[list[pd.DataFrame], dict]:
    from interp.scoring.evaluate import evaluate
    from interp.tasks import build_task

    model = loaded.model
    prompt_set = build_task(options.task, model.tokenizer, n=options.n, seed=options.seed)
    frames = []
    for edit in (NO_EDIT, *edits):
        with edit_context(loaded, edit):
            frame = evaluate(model, prompt_set, batch_size=options.batch_size, progress=False)
        frames.append(_with_keys(frame, loaded.step, edit))
    return frames, {"n_skipped": int(prompt_set.n_skipped), "skipped": dict(prompt_set.skipped)}


def _evaluate_toy(loaded: LoadedCheckpoint, options: TaskOptions, edits: tuple[str, ...]) -> tuple[list[pd.DataFrame], dict]:
    from interp.toy.evaluate import noisy_recall_table

    model = loaded.model
    device = next(model.parameters()).device
    n = options.n or TOY_DEFAULT_N
    frames = []
    for edit in (NO_EDIT, *edits):
        with edit_context(loaded, edit):
            frame = noisy_recall_table(model, loaded.toy_config, n_sequences=n, seed=options.seed, device=device)
        frames.append(_with_keys(frame, loaded.step, edit))
    return frames, {"n_skipped": 0, "skipped": {}}


def evaluate_checkpoint(loaded: LoadedCheckpoint, options: TaskOptions, edits: tuple[str, ...]) -> StepResult:
    """Evaluate ``loaded`` without edits and with each edit in turn; all rows of the step."""
    start = time.perf_counter()
    runner = _evaluate_toy if loaded.kind == "toy" else _evaluate_hf
    frames, task_meta = runner(loaded, options, edits)
    frame = pd.concat(frames, ignore_index=True)
    meta = {
        "step": loaded.step,
        "model": loaded.display,
        "fingerprint": loaded.fingerprint,
        "n_rows": int(len(frame)),
        "edits": [NO_EDIT, *edits],
        "load_seconds": round(loaded.load_seconds, 4),
        "eval_seconds": round(time.perf_counter() - start, 4),
        **task_meta,
    }
    return StepResult(loaded.step, frame, meta)


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
