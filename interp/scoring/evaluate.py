"""Evaluate a prompt set on a model: one row of next-token metrics per prompt."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.errors import UsageError
from interp.models.loading import HookedModel
from interp.paths import prompts_dir
from interp.scoring.forward import Batch, make_batches, read_logits, with_answers
from interp.scoring.metrics import FUNCTION_COLUMNS, IOI_COLUMNS, METRIC_COLUMNS, THE, answer_metrics, next_token_metrics
from interp.scoring.prefix import SharedPrefixLogits, prefix_worth_sharing
from interp.tasks.base import PromptSet

log = logging.getLogger(__name__)

#: logits at a batch's read positions (:func:`interp.scoring.forward.read_logits` or a LASER suffix pass)
LogitsFn = Callable[[HookedModel, Batch], Float[Tensor, "batch n_read vocab"]]


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
    logits: Float[Tensor, "batch n_read vocab"],
    the_id: int,
    function_ids: tuple[int, ...] | None = None,
) -> dict[str, Tensor]:
    """Metrics for the prompts of one batch (rows in the batch's order); ``p_function`` when ``function_ids`` given.

    ``logits[:, 0]`` is the distribution after the prompt (the next-token metrics); the rest are
    the answer positions of multi-token answers (:func:`~interp.scoring.metrics.answer_metrics`).
    """
    idx = list(batch.indices)
    answer_ids = torch.tensor([prompt_set.answer_ids[i] for i in idx], device=logits.device)
    s_ids = None
    if "s_id" in prompt_set.columns:
        s_ids = torch.tensor([prompt_set.columns["s_id"][i] for i in idx], device=logits.device)
    fn_ids = None if function_ids is None else torch.tensor(function_ids, dtype=torch.long, device=logits.device)
    values = next_token_metrics(logits[:, 0], answer_ids, the_id, s_ids, function_ids=fn_ids)
    targets = answer_ids[:, None] if batch.targets is None else batch.targets
    values.update(answer_metrics(logits[:, : targets.shape[1]], targets))
    return values


def metric_columns(prompt_set: PromptSet) -> tuple[str, ...]:
    return METRIC_COLUMNS + FUNCTION_COLUMNS + (IOI_COLUMNS if "s_id" in prompt_set.columns else ())


def full_logits_fn(model: HookedModel, batches: Sequence[Batch]) -> LogitsFn:
    """The logits of a full forward pass for ``batches``: a shared long prefix (few-shot exemplars)
    run once (:class:`~interp.scoring.prefix.SharedPrefixLogits`), else :func:`read_logits`.

    Call it under the model state to be measured (each edit gets its own).
    """
    length = prefix_worth_sharing(model, batches)
    return SharedPrefixLogits(length) if length else read_logits


def collect_metrics(
    model: HookedModel,
    prompt_set: PromptSet,
    batches: list[Batch],
    logits_fn: LogitsFn | None = None,
    *,
    progress: bool = False,
    desc: str = "eval",
) -> dict[str, np.ndarray]:
    """Run ``logits_fn`` over ``batches`` and gather each metric in the prompt set's order.

    Without ``logits_fn``: full forward passes (:func:`full_logits_fn`).

    Batches holding a multi-token answer but made without answers are rebuilt with them first
    (:func:`~interp.scoring.forward.with_answers`).
    """
    batches = with_answers(model, batches, prompt_set.answer_sequences)
    logits_fn = full_logits_fn(model, batches) if logits_fn is None else logits_fn
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
    logits_fn: LogitsFn | None = None,
) -> pd.DataFrame:
    """Evaluate every prompt of ``prompt_set`` on ``model`` (batched); one row per prompt.

    With distractors (a ``prompts:FILE`` with ``"distractors"``), also ``p_distractors`` (each
    distractor's first-token probability) and ``logp_distractors_full`` (its teacher-forced
    log-probability), one list per prompt.
    """
    batches = make_batches(model, prompt_set.prompts, batch_size, answers=prompt_set.answer_sequences)
    metrics = collect_metrics(model, prompt_set, batches, logits_fn, progress=progress, desc=prompt_set.task)
    frame = results_frame(prompt_set, metrics)
    if any(prompt_set.distractor_sequences):
        frame["p_distractors"], frame["logp_distractors_full"] = distractor_metrics(model, prompt_set, batch_size=batch_size)
    return frame


@torch.inference_mode()
def distractor_metrics(model: HookedModel, prompt_set: PromptSet, *, batch_size: int = 32) -> tuple[list[list[float]], list[list[float]]]:
    """Per prompt, each distractor's first-token probability and full teacher-forced log-probability."""
    pairs = [(i, d) for i, ds in enumerate(prompt_set.distractor_sequences) for d in ds]
    p_first: list[list[float]] = [[] for _ in prompt_set.prompts]
    logp_full: list[list[float]] = [[] for _ in prompt_set.prompts]
    if not pairs:
        return p_first, logp_full
    batches = make_batches(model, [prompt_set.prompts[i] for i, _ in pairs], batch_size, answers=[d for _, d in pairs])
    first = np.empty(len(pairs))
    full = np.empty(len(pairs))
    for batch in batches:
        logits = read_logits(model, batch).float()
        full[list(batch.indices)] = answer_metrics(logits, batch.targets)["logp_answer_full"].cpu().numpy()
        first_lp = logits[:, 0].log_softmax(-1).gather(-1, batch.targets[:, :1]).squeeze(-1)
        first[list(batch.indices)] = first_lp.exp().cpu().numpy()
    for k, (i, _) in enumerate(pairs):  # pairs are in prompt order, so each list keeps the file's order
        p_first[i].append(float(first[k]))
        logp_full[i].append(float(full[k]))
    return p_first, logp_full
