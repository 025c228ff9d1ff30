"""Evaluate a prompt set on a model: one row of next-token metrics per prompt."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd
import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.errors import UsageError
from interp.scoring.forward import Batch, last_logits, make_batches
from interp.scoring.metrics import FUNCTION_COLUMNS, IOI_COLUMNS, METRIC_COLUMNS, THE, next_token_metrics
from interp.models.loading import HookedModel
from interp.paths import prompts_dir
from interp.tasks.base import PromptSet

log = logging.getLogger(__name__)

LogitsFn = Callable[[HookedModel, Batch], Float[Tensor, "batch vocab"]]


def the_token_id(model: HookedModel) -> int:
    the_id = model.tokenizer.single_token_id(THE)
    if the_id is None:
        raise UsageError(f"{model.spec.display}'s tokenizer splits {THE!r} into several tokens; P(the) is undefined")
    return the_id


def function_words() -> tuple[str, ...]:
    """The function-word set behind ``p_function`` (``prompts/function_words.json``: a JSON list of strings)."""
    path = prompts_dir() / "function_words.json"
    try:
        words = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"cannot read the function-word list {path} ({err}); it must be a JSON list like [\" the\", \" a\"]") from None
    if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
        raise UsageError(f"{path} must be a JSON list of non-empty strings like [\" the\", \" a\"]")
    return tuple(words)


def function_word_ids(model: HookedModel) -> tuple[int, ...]:
    """Distinct token ids of the function words that are one token for this tokenizer (others are left out)."""
    ids: dict[int, None] = {}
    dropped = []
    for word in function_words():
        token_id = model.tokenizer.single_token_id(word)
        if token_id is None:
            dropped.append(word)
        else:
            ids[token_id] = None
    if dropped:
        log.debug("p_function leaves out %s: not single tokens for this tokenizer", dropped)
    return tuple(ids)


def batch_metrics(
    prompt_set: PromptSet,
    batch: Batch,
    logits: Float[Tensor, "batch vocab"],
    the_id: int,
    function_ids: tuple[int, ...] | None = None,
) -> dict[str, Tensor]:
    """Metrics for the prompts of one batch (rows in the batch's order); ``p_function`` when ``function_ids`` given."""
    idx = list(batch.indices)
    answer_ids = torch.tensor([prompt_set.answer_ids[i] for i in idx], device=logits.device)
    s_ids = None
    if "s_id" in prompt_set.columns:
        s_ids = torch.tensor([prompt_set.columns["s_id"][i] for i in idx], device=logits.device)
    fn_ids = None if function_ids is None else torch.tensor(function_ids, dtype=torch.long, device=logits.device)
    return next_token_metrics(logits, answer_ids, the_id, s_ids, function_ids=fn_ids)


def metric_columns(prompt_set: PromptSet) -> tuple[str, ...]:
    return METRIC_COLUMNS + FUNCTION_COLUMNS + (IOI_COLUMNS if "s_id" in prompt_set.columns else ())


def collect_metrics(
    model: HookedModel,
    prompt_set: PromptSet,
    batches: list[Batch],
    logits_fn: LogitsFn = last_logits,
    *,
    progress: bool = False,
    desc: str = "eval",
) -> dict[str, np.ndarray]:
    """Run ``logits_fn`` over ``batches`` and gather each metric in the prompt set's order."""
    the_id = the_token_id(model)
    function_ids = function_word_ids(model)
    n = len(prompt_set)
    columns = metric_columns(prompt_set)
    out: dict[str, np.ndarray] = {}
    for batch in tqdm(batches, desc=desc, disable=not progress, leave=False):
        values = batch_metrics(prompt_set, batch, logits_fn(model, batch), the_id, function_ids)
        for name in columns:
            arr = values[name].detach().cpu().numpy()
            if name not in out:
                out[name] = np.empty(n, dtype=arr.dtype)
            out[name][list(batch.indices)] = arr
    return out


def results_frame(prompt_set: PromptSet, metrics: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per prompt: prompt, answer, the metrics, then the task's own columns."""
    frame = pd.DataFrame({"prompt": list(prompt_set.prompts), "answer": list(prompt_set.answers)})
    for name, values in metrics.items():
        frame[name] = values
    for name, values in prompt_set.columns.items():
        if name not in frame:
            frame[name] = list(values)
    return frame


def evaluate(
    model: HookedModel,
    prompt_set: PromptSet,
    *,
    batch_size: int = 32,
    progress: bool = True,
    logits_fn: LogitsFn = last_logits,
) -> pd.DataFrame:
    """Evaluate every prompt of ``prompt_set`` on ``model`` (batched); one row per prompt."""
    batches = make_batches(model, prompt_set.prompts, batch_size)
    metrics = collect_metrics(model, prompt_set, batches, logits_fn, progress=progress, desc=prompt_set.task)
    return results_frame(prompt_set, metrics)
