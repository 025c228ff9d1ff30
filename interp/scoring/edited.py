"""Evaluate a task with edits applied, next to the unedited model, and what the edits cost on ordinary text.

Used by ``interp eval --laser/--edit`` and the Python front door (:func:`interp.evaluate` with edits).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from interp.edits.apply import apply_edits, check_edits
from interp.edits.means import ablation_means, needs_means
from interp.edits.spec import Edit
from interp.models.loading import HookedModel
from interp.scoring.evaluate import evaluate, metric_columns
from interp.scoring.lm_loss import lm_batches, lm_loss, reference_contexts
from interp.scoring.options import DEFAULT_LM_TOKENS
from interp.scoring.summary import delta, summarize
from interp.tasks.base import PromptSet

log = logging.getLogger(__name__)

def with_baseline(edited: pd.DataFrame, baseline: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """``edited`` plus each metric column of ``baseline`` as ``baseline_<name>`` (rows are the same prompts)."""
    return edited.assign(**{f"baseline_{name}": baseline[name].to_numpy() for name in metrics if name in baseline})


def evaluate_edited(
    model: HookedModel,
    prompt_set: PromptSet,
    edits: Sequence[Edit | str],
    *,
    batch_size: int = 32,
    progress: bool = True,
    lm_text: str | None = None,
    lm_tokens: int = DEFAULT_LM_TOKENS,
    lm_cost: bool = True,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(per-prompt frame with ``edits`` applied and the unedited values as ``baseline_*`` columns, summary extras).

    The extras: the unedited summary (``baseline``) and the change of each value
    (``delta_p_answer``, ``delta_p_the``, ``delta_p_function``, ``delta_log_ratio``,
    ``delta_top1_acc``...; :mod:`interp.scoring.summary`), the edits and how many matrices they
    changed, and with ``lm_cost`` the mean next-token loss on the reference text before and
    after (``lm_loss``, ``delta_lm_loss``). ``mean`` edits need the reference text either way.
    """
    edits = check_edits(model, edits)  # fail before any forward pass
    batches = means = None
    source = None
    if lm_cost or needs_means(edits):
        reference = reference_contexts(model, lm_text, n_tokens=lm_tokens)
        source = reference.source
        batches = lm_batches(model, reference)
        means = ablation_means(model, edits, batches)
    base_frame = evaluate(model, prompt_set, batch_size=batch_size, progress=progress)
    base_loss = lm_loss(model, batches) if lm_cost else None
    with apply_edits(model, edits, means=means, seed=seed) as report:
        frame = evaluate(model, prompt_set, batch_size=batch_size, progress=progress)
        edited_loss = lm_loss(model, batches) if lm_cost else None
    base, edited = summarize(base_frame), summarize(frame)
    extras: dict[str, Any] = {
        **delta(edited, base),
        "baseline": {k: v for k, v in base.items() if k != "n_prompts"},
        "edits": [e.label for e in edits],
        "n_matrices_edited": report.n_matrices_edited,
        "n_hooks": report.n_hooks,
    }
    if lm_cost:
        extras.update(lm_text=source, baseline_lm_loss=base_loss, lm_loss=edited_loss, delta_lm_loss=edited_loss - base_loss)
        log.info("edits %s: %d matrices edited, LM loss %.4f -> %.4f", extras["edits"], report.n_matrices_edited, base_loss, edited_loss)
    return with_baseline(frame, base_frame, metric_columns(prompt_set)), extras
