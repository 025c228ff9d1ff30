"""Sweeps of edits: the grid, the suffix-only evaluation of every config, selection and composition.

A *config* is a tuple of edits applied together (``()`` is the unedited baseline). Configs
are evaluated grouped by their lowest edited layer l: the residual stream entering l is
computed once per prompt batch (advanced layer by layer from the previous group, so all
residuals together cost one forward pass), and each config then runs only blocks l..n-1 and
the unembedding of the last position (:mod:`interp.laser.suffix`). Weights are edited in
place and restored after each config (:func:`interp.edits.apply.apply_edits`); SVDs come
from one :class:`~interp.edits.svd_cache.SVDCache`, so each matrix is decomposed once.

Like the LASER paper, the best config is chosen on a selection split of the prompts and
reported on the held-out rest (:func:`split_indices`, :func:`best_config`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from jaxtyping import Float
from torch import Tensor
from tqdm.auto import tqdm

from interp.edits.apply import MeanVectors, apply_edits
from interp.edits.grid import Config
from interp.edits.spec import edits_label
from interp.edits.svd_cache import SVDCache
from interp.errors import UsageError
from interp.laser.criteria import SELECT_BY
from interp.laser.suffix import ResidualCache, suffix_all_logits, suffix_read_logits
from interp.models.loading import HookedModel
from interp.scoring.evaluate import collect_metrics
from interp.scoring.forward import Batch, with_answers
from interp.scoring.lm_loss import token_losses
from interp.scoring.prefix import SharedPrefixLogits, prefix_worth_sharing
from interp.scoring.summary import delta, summarize
from interp.tasks.base import PromptSet

log = logging.getLogger(__name__)

BASELINE: Config = ()


def start_layer(config: Config, default: int) -> int:
    return min((e.layer for e in config), default=default)


# --------------------------------------------------------------------------------------
# evaluating configs from cached residuals
# --------------------------------------------------------------------------------------
class SuffixMeasure(Protocol):
    """Something measured per config from residuals cached at the config's first edited layer."""

    def advance(self, model: HookedModel, layer: int) -> None:
        """Move the cached residuals to the input of ``layer`` (running only the blocks in between)."""

    def measure(self, model: HookedModel, layer: int) -> dict[str, np.ndarray]:
        """The measurement with the model as it is now, running blocks ``layer``.. only."""


class PromptMetrics:
    """Next-token metrics of a prompt set (one value per prompt) from cached residuals.

    Prompts sharing a long prefix (few-shot exemplars) are measured by full passes that run the
    prefix once per config instead (:mod:`interp.scoring.prefix`): the prefix's keys and values
    change with every edit, and the rest of each prompt is short, so that is the cheaper pass.
    """

    def __init__(self, prompt_set: PromptSet, batches: Sequence[Batch]) -> None:
        self.prompt_set = prompt_set
        self.batches = list(batches)
        self.residuals: ResidualCache | None = None
        self.shared_prefix = 0

    def _ready(self, model: HookedModel) -> ResidualCache:
        """Batches holding multi-token answers carry them (teacher forcing) before any residual is cached."""
        if self.residuals is None:
            self.batches = with_answers(model, self.batches, self.prompt_set.answer_sequences)
            self.residuals = ResidualCache(self.batches)
            self.shared_prefix = prefix_worth_sharing(model, self.batches)
        return self.residuals

    def advance(self, model: HookedModel, layer: int) -> None:
        residuals = self._ready(model)
        if not self.shared_prefix:
            residuals.advance(model, layer)

    def measure(self, model: HookedModel, layer: int) -> dict[str, np.ndarray]:
        residuals = self._ready(model)
        if self.shared_prefix:
            return collect_metrics(model, self.prompt_set, self.batches, SharedPrefixLogits(self.shared_prefix))

        def logits_fn(m: HookedModel, batch: Batch) -> Float[Tensor, "batch n_read vocab"]:
            return suffix_read_logits(m, batch, residuals.at(batch, layer), layer)

        return collect_metrics(model, self.prompt_set, self.batches, logits_fn)


class LMCost:
    """``lm_loss`` on reference-text batches (:mod:`interp.scoring.lm_loss`), from cached residuals."""

    def __init__(self, batches: Sequence[Batch]) -> None:
        self.batches = list(batches)
        self.residuals = ResidualCache(self.batches)

    def advance(self, model: HookedModel, layer: int) -> None:
        self.residuals.advance(model, layer)

    @torch.inference_mode()
    def measure(self, model: HookedModel, layer: int) -> dict[str, np.ndarray]:
        total, count = 0.0, 0
        for batch in self.batches:
            logits = suffix_all_logits(model, self.residuals.at(batch, layer), layer, batch.attention_mask)
            losses = token_losses(logits, batch.input_ids)
            total += float(losses.double().sum())
            count += losses.numel()
        return {"lm_loss": np.array(total / count)}


@dataclass
class Timing:
    """Where a sweep's time went (seconds)."""

    advance: float = 0.0  # computing residuals at the edited layers
    edit: float = 0.0  # SVDs, reconstructions, writes and restores
    suffix: float = 0.0  # suffix forward passes and metrics
    n_configs: int = 0

    @property
    def total(self) -> float:
        return self.advance + self.edit + self.suffix


@dataclass
class ConfigResult:
    edits: Config
    start: int  # the layer the suffix passes started from
    values: dict[str, np.ndarray]  # per-prompt metrics (and scalar measures as 0-d arrays)
    ranks: dict[str, int | None] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return edits_label(self.edits)


def run_configs(
    model: HookedModel,
    configs: Sequence[Config],
    measures: Sequence[SuffixMeasure],
    *,
    svd_cache: SVDCache | None = None,
    means: MeanVectors | None = None,
    fixed: Config = (),
    seed: int = 0,
    progress: bool = False,
    timing: Timing | None = None,
    desc: str = "laser",
) -> list[ConfigResult]:
    """Evaluate each config (with ``fixed`` edits added) through every measure; results in ``configs``' order.

    The baseline config ``()`` runs from the lowest start layer of the other configs.
    """
    svd_cache = svd_cache if svd_cache is not None else SVDCache()
    timing = timing if timing is not None else Timing()
    full = [tuple(fixed) + tuple(c) for c in configs]
    lowest = min((start_layer(c, model.n_layers) for c in full if c), default=0)
    lowest = min(lowest, model.n_layers - 1)
    order = sorted(range(len(full)), key=lambda i: start_layer(full[i], lowest))
    results: dict[int, ConfigResult] = {}
    bar = tqdm(total=len(order), desc=desc, disable=not progress, leave=False)
    for start, group in groupby(order, key=lambda i: start_layer(full[i], lowest)):
        t0 = time.perf_counter()
        for m in measures:
            m.advance(model, start)
        timing.advance += time.perf_counter() - t0
        for i in group:
            t0 = time.perf_counter()
            with apply_edits(model, full[i], svd_cache=svd_cache, means=means, seed=seed) as report:
                t1 = time.perf_counter()
                values: dict[str, np.ndarray] = {}
                for m in measures:
                    values.update(m.measure(model, start))
                t2 = time.perf_counter()
            timing.edit += (t1 - t0) + (time.perf_counter() - t2)
            timing.suffix += t2 - t1
            timing.n_configs += 1
            results[i] = ConfigResult(edits=full[i], start=start, values=values, ranks=dict(report.ranks))
            bar.update(1)
    bar.close()
    return [results[i] for i in range(len(full))]


# --------------------------------------------------------------------------------------
# selection split, summaries, the best config
# --------------------------------------------------------------------------------------
def split_indices(n: int, select_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded random ``select_frac`` of ``range(n)`` (selection) and the rest (held out), each sorted."""
    if not 0.0 < select_frac < 1.0:
        raise UsageError(f"--select-frac must be strictly between 0 and 1, got {select_frac}")
    if n < 2:
        raise UsageError(f"a selection / held-out split needs at least 2 prompts, got {n}")
    n_select = min(n - 1, max(1, int(round(select_frac * n))))
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_select]), np.sort(perm[n_select:])


def _mean(values: np.ndarray, idx: np.ndarray | None) -> float:
    v = values if idx is None else values[idx]
    return float(np.mean(v.astype(np.float64))) if len(v) else math.nan


@dataclass(frozen=True)
class Split:
    select: np.ndarray
    heldout: np.ndarray


def score(result: ConfigResult, baseline: ConfigResult, idx: np.ndarray, metric: str = "log_ratio") -> float:
    """The selection criterion: change in the mean of ``metric`` (default log P(answer)/P(the)) over the prompts ``idx``."""
    if metric not in SELECT_BY:
        raise UsageError(f"--select-by must be one of {', '.join(SELECT_BY)}, got {metric!r}")
    return _mean(result.values[metric], idx) - _mean(baseline.values[metric], idx)


def best_config(
    results: Sequence[ConfigResult],
    baseline: ConfigResult,
    idx: np.ndarray,
    *,
    allowed: Callable[[ConfigResult], bool] = lambda r: True,
    metric: str = "log_ratio",
) -> ConfigResult | None:
    """The config with the largest :func:`score` on ``idx`` among the ``allowed`` edited ones (first wins ties)."""
    best, best_score = None, -math.inf
    for r in results:
        if not r.edits or not allowed(r):
            continue
        s = score(r, baseline, idx, metric)
        if s > best_score:
            best, best_score = r, s
    return best


def result_report(result: ConfigResult, baseline: ConfigResult, split: Split) -> dict:
    """Baseline and edited stats and their changes on the selection split, the held-out rest and all prompts."""
    report = {}
    for name, idx in (("select", split.select), ("heldout", split.heldout), ("all", None)):
        base, edited = summarize(baseline.values, idx), summarize(result.values, idx)
        report[name] = {
            "n": int(edited["n_prompts"]),
            "baseline": base,
            "edited": edited,
            "change": delta(edited, base),
        }
    return report


# --------------------------------------------------------------------------------------
# frames
# --------------------------------------------------------------------------------------
def _edit_columns(edits: Config) -> dict:
    if not edits:
        return {"layer": -1, "matrix": "none", "kind": "none", "rho": 1.0}
    first = edits[0] if len(edits) == 1 else None
    if first is None:
        return {"layer": -2, "matrix": "compose", "kind": "compose", "rho": math.nan}
    return {
        "layer": first.layer,
        "matrix": first.matrix,
        "kind": first.kind,
        "rho": math.nan if first.rho is None else float(first.rho),  # zero, mean and remove_top:K take no rho
    }


def per_prompt_frame(
    results: Sequence[ConfigResult], prompt_set: PromptSet, split: Split, metric_names: Sequence[str]
) -> pd.DataFrame:
    """One row per (config, prompt): config columns, prompt index and split, the metrics."""
    n = len(prompt_set)
    split_col = np.full(n, "heldout", dtype=object)
    split_col[split.select] = "select"
    frames = []
    for r in results:
        cols = _edit_columns(r.edits)
        frame = pd.DataFrame(
            {
                "config": r.label,
                "layer": np.full(n, cols["layer"], dtype=np.int16),
                "matrix": cols["matrix"],
                "kind": cols["kind"],
                "rho": np.full(n, cols["rho"], dtype=np.float32),
                "prompt_index": np.arange(n, dtype=np.int32),
                "split": split_col,
            }
        )
        for name in metric_names:
            values = r.values[name]
            frame[name] = values.astype(np.float32) if values.dtype.kind == "f" else values
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for name in ("config", "matrix", "kind", "split"):
        out[name] = out[name].astype("category")
    return out


def summary_frame(results: Sequence[ConfigResult], baseline: ConfigResult, split: Split) -> pd.DataFrame:
    """One row per config: means over all prompts, and the changes against the baseline (all / select / held out)."""
    base_all = summarize(baseline.values)
    rows = []
    for r in results:
        row = {"config": r.label, **_edit_columns(r.edits), "k": r.ranks.get(r.edits[0].label) if len(r.edits) == 1 else None}
        edited = summarize(r.values)
        row.update(edited)
        row.update(delta(edited, base_all))
        for name, idx in (("select", split.select), ("heldout", split.heldout)):
            change = delta(summarize(r.values, idx), summarize(baseline.values, idx))
            row[f"{name}_delta_log_ratio"] = change["delta_log_ratio"]
            row[f"{name}_delta_top1_acc"] = change["delta_top1_acc"]
        for name, value in r.values.items():
            if np.ndim(value) == 0:  # scalar measures (lm_loss)
                row[name] = float(value)
        rows.append(row)
    frame = pd.DataFrame(rows)
    if "lm_loss" in frame:
        frame["delta_lm_loss"] = frame["lm_loss"] - float(baseline.values["lm_loss"])
    return frame

