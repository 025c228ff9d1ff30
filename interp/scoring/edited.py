"""Evaluate a task with edits applied, and report what they cost on ordinary text (used by ``interp eval --laser/--edit``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from interp.scoring.evaluate import evaluate
from interp.scoring.summary import delta, summarize
from interp.edits.apply import apply_edits, check_edits
from interp.edits.spec import Edit
from interp.laser.lm_cost import DEFAULT_LM_TOKENS, lm_batches, lm_contexts, lm_loss, mean_keys, mean_outputs, reference_text
from interp.models.loading import HookedModel
from interp.tasks.base import PromptSet

log = logging.getLogger(__name__)


def evaluate_edited(
    model: HookedModel,
    prompt_set: PromptSet,
    edits: Sequence[Edit],
    *,
    batch_size: int = 32,
    progress: bool = True,
    lm_text: str | None = None,
    lm_tokens: int = DEFAULT_LM_TOKENS,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(per-prompt frame with ``edits`` applied, summary extras).

    The extras: the unedited summary (``baseline``) and the change of each value
    (``delta_p_answer``, ``delta_p_the``, ``delta_p_function``, ``delta_log_ratio``,
    ``delta_top1_acc``...; :mod:`interp.scoring.summary`), the edits and how many matrices they changed, and the mean
    next-token loss on the reference text before and after (``lm_loss``, ``delta_lm_loss``).
    """
    check_edits(model, edits)  # fail before any forward pass
    text, source = reference_text(lm_text, lm_tokens)
    batches = lm_batches(model, lm_contexts(model, text, source, n_tokens=lm_tokens))
    means = mean_outputs(model, batches, mean_keys(edits))
    base_loss = lm_loss(model, batches)
    base = summarize(evaluate(model, prompt_set, batch_size=batch_size, progress=progress))
    with apply_edits(model, edits, means=means, seed=seed) as report:
        frame = evaluate(model, prompt_set, batch_size=batch_size, progress=progress)
        edited_loss = lm_loss(model, batches)
    edited = summarize(frame)
    extras = {
        **delta(edited, base),
        "baseline": {k: v for k, v in base.items() if k != "n_prompts"},
        "edits": [e.label for e in edits],
        "n_matrices_edited": report.n_matrices_edited,
        "n_hooks": report.n_hooks,
        "lm_text": source,
        "baseline_lm_loss": base_loss,
        "lm_loss": edited_loss,
        "delta_lm_loss": edited_loss - base_loss,
    }
    log.info("edits %s: %d matrices edited, LM loss %.4f -> %.4f", extras["edits"], report.n_matrices_edited, base_loss, edited_loss)
    return frame, extras
