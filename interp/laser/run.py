"""``interp laser-sweep``: sweep single-matrix edits over layers x matrices x rhos and write the run folder.

    DIR/config.json                the :class:`LaserSweep` config (+ model, prompt counts, split)
    DIR/results.parquet            one row per (config, prompt); the baseline as layer = -1
    DIR/summary.parquet            one row per config: means and changes against the baseline
    DIR/summary_by_relation.parquet  (factual) the same per (config, relation)
    DIR/heatmap.png                change in mean log P(answer)/P(" the"), layers x rho, one panel per matrix
    DIR/heatmap_top1.png           change in top-1 accuracy, same layout
    DIR/heatmap_logp_answer_full.png  change in mean teacher-forced log P(whole answer), same layout
    DIR/best.json                  the best lowrank config on the selection split, reported on the held-out rest
    DIR/p_the_vs_p_answer_best.png held-out prompts before and after the best edit
    DIR/compose.parquet            (--compose K >= 2) the candidates tried at each greedy step
    DIR/parts/                     each evaluated config's values, written as soon as it is done
                                   (:mod:`interp.laser.parts`)
With ``--controls`` also ``zero`` and ``random`` edits at every place, ``gain_over_zero`` and the
language-modelling cost (``lm_loss``, ``delta_lm_loss``), with their heatmaps. ``--kinds`` sweeps
further kinds at every place (``mean``: the sublayer's output replaced by its mean over the
reference text).

The folder is a :class:`~interp.store.RunStore` (command ``laser-sweep``): a sweep killed at any
moment and started again with the same options evaluates only the configs it has no part for
and ends with the tables of an uninterrupted sweep. Every option defines the sweep except
``--out``, ``--device``, ``--batch-size`` and ``--svd-cache-mb``; a ``--task`` file and
``--lm-text`` are compared by content. Other options are refused naming the first that differs.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interp.edits.grid import DEFAULT_MATRICES, DEFAULT_RHOS, Grid, LayerSpec, check_grid
from interp.edits.means import ablation_means
from interp.edits.spec import Edit
from interp.edits.svd_cache import SVDCache
from interp.errors import UsageError, check_positive, check_seed
from interp.io import config_from_dict, to_jsonable, write_json, write_parquet
from interp.laser.criteria import SELECT_BY
from interp.laser.parts import check_part, evaluate, evaluate_step
from interp.laser.sweep import (
    BASELINE,
    ConfigResult,
    LMCost,
    PromptMetrics,
    Split,
    Timing,
    best_config,
    per_prompt_frame,
    result_report,
    score,
    split_indices,
    summary_frame,
)
from interp.models.loading import HookedModel, load_model
from interp.models.spec import DEFAULT_SPEC, ModelSpec
from interp.scoring.evaluate import metric_columns
from interp.scoring.forward import make_batches
from interp.scoring.lm_loss import lm_batches, reference_contexts
from interp.scoring.options import DEFAULT_LM_TOKENS, LM_CONTEXT
from interp.scoring.summary import delta, summarize
from interp.store import RunStore, flat_config_reader
from interp.tasks import build_task, check_task_source, task_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LaserSweep:
    """Everything that defines one LASER sweep (written to ``config.json``)."""

    out: str
    model: ModelSpec = DEFAULT_SPEC
    task: str = "factual"
    layers: LayerSpec = LayerSpec("all")
    matrices: tuple[str, ...] = DEFAULT_MATRICES
    rhos: tuple[float, ...] = DEFAULT_RHOS
    select_frac: float = 0.2
    n: int | None = None
    seed: int = 0
    batch_size: int = 64
    compose: int = 1  # greedy composition of up to this many edits (1: single edits only)
    kinds: tuple[str, ...] = ("lowrank",)  # edit kinds swept at every place (see interp.edits.spec)
    controls: bool = False  # add zero and random edits at every place, and the LM cost
    lm_cost: bool = False  # language-modelling loss per config (on with controls)
    lm_text: str | None = None
    lm_tokens: int = DEFAULT_LM_TOKENS
    max_lm_loss_increase: float | None = None
    select_by: str = "log_ratio"  # the per-prompt metric the best config is chosen on (see SELECT_BY)
    relations: tuple[str, ...] = ()  # factual: keep only these relations (all when empty)
    device: str = "auto"
    svd_cache_mb: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelSpec):
            raise UsageError(f"LaserSweep.model must be a ModelSpec (ModelSpec.parse('...')), got {type(self.model).__name__}")
        if not self.matrices:
            raise UsageError("--matrices is empty: the grid has no config")
        if not self.rhos:
            raise UsageError("--rhos is empty: the grid has no config")
        check_grid(self.layers, self.matrices, self.rhos, self.kinds)
        if "lowrank" not in self.kinds:
            raise UsageError("--kinds must include lowrank: the best config is chosen among the LASER edits")
        if not 0.0 < self.select_frac < 1.0:
            raise UsageError(f"--select-frac must be strictly between 0 and 1, got {self.select_frac}")
        if self.n is not None and self.n < 2:
            raise UsageError(f"--n must be >= 2 (a selection and a held-out prompt), got {self.n}")
        check_positive(self.batch_size, "--batch-size")
        check_positive(self.compose, "--compose")
        check_seed(self.seed)
        if self.lm_tokens < LM_CONTEXT:
            raise UsageError(f"--lm-tokens must be at least one context ({LM_CONTEXT} tokens), got {self.lm_tokens}")
        if self.select_by not in SELECT_BY:
            raise UsageError(f"--select-by must be one of {', '.join(SELECT_BY)}, got {self.select_by!r}")
        if self.max_lm_loss_increase is not None and not self.max_lm_loss_increase >= 0:
            raise UsageError(f"--max-lm-loss-increase must be >= 0 (nats), got {self.max_lm_loss_increase}")
        if self.svd_cache_mb < 0:
            raise UsageError(f"--svd-cache-mb must be >= 0, got {self.svd_cache_mb}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaserSweep:
        """The config from ``config.json`` (extra keys such as ``model_display`` are ignored)."""
        return config_from_dict(cls, data)

    @property
    def measures_lm(self) -> bool:
        return self.controls or self.lm_cost or self.max_lm_loss_increase is not None

    @property
    def swept_kinds(self) -> tuple[str, ...]:
        """``kinds``, plus zero and random with ``controls``."""
        extra = ("zero", "random") if self.controls else ()
        return tuple(dict.fromkeys((*self.kinds, *extra)))


COMMAND = "laser-sweep"
#: options that say only how to run a sweep: a resumed sweep may change them
HOW_TO_RUN = ("out", "device", "batch_size", "svd_cache_mb")
#: the input files, compared by content (their paths are not part of the definition)
_INPUTS = ("task_file", "lm_text")
FIELD_NAMES = {**{f.name: "--" + f.name.replace("_", "-") for f in dataclasses.fields(LaserSweep)}, "task_file": "the --task file"}


def defining_fields(config: LaserSweep) -> dict[str, Any]:
    """What a resumed sweep must repeat: every option but :data:`HOW_TO_RUN` and the input files
    (a task file is named by its file name, its content compared as an input)."""
    values = to_jsonable(config)
    defining = {k: v for k, v in values.items() if k not in HOW_TO_RUN and k not in _INPUTS}
    if (file := task_file(config.task)) is not None:
        defining["task"] = config.task.split(":", 1)[0] + ":" + file.name
    return defining


def _input_files(config: LaserSweep) -> dict[str, Path]:
    files = {"task_file": task_file(config.task), "lm_text": None if config.lm_text is None else Path(config.lm_text)}
    return {k: v for k, v in files.items() if v is not None}


#: A ``config.json`` written before the run-folder store (the flat config; no parts, so nothing is reused).
_legacy = flat_config_reader(COMMAND, LaserSweep.from_dict, ("select_frac", "matrices", "rhos", "task"),
                             defining_fields, _input_files)


def run_store(out: str | Path) -> RunStore:
    """The run folder of ``interp laser-sweep`` at ``out``."""
    return RunStore(out, command=COMMAND, field_names=FIELD_NAMES, legacy=_legacy)


def _gain_over_zero(summary: pd.DataFrame) -> pd.DataFrame:
    """Add ``gain_over_zero`` (and per split) to lowrank/random rows: their change minus the zero edit's at the same place."""
    zero = summary[summary["kind"] == "zero"].set_index(["layer", "matrix"])
    if zero.empty:
        return summary
    out = summary.copy()
    for col, new in (
        ("delta_log_ratio", "gain_over_zero"),
        ("select_delta_log_ratio", "select_gain_over_zero"),
        ("heldout_delta_log_ratio", "heldout_gain_over_zero"),
    ):
        ref = [zero[col].get((layer, m), math.nan) if k in ("lowrank", "random") else math.nan
               for layer, m, k in zip(out["layer"], out["matrix"], out["kind"])]
        out[new] = out[col] - np.asarray(ref, dtype=float)
    return out


def _describe(edited: dict[str, float], base: dict[str, float]) -> str:
    return (
        f"P(answer)/P(the) ratio of means {base['ratio_of_means']:.3g}x -> {edited['ratio_of_means']:.3g}x, "
        f"geometric mean of ratios {base['geo_mean_ratio']:.3g}x -> {edited['geo_mean_ratio']:.3g}x, "
        f"top-1 {base['top1_acc']:.3f} -> {edited['top1_acc']:.3f}, "
        f"P(answer) {base['mean_p_answer']:.4g} -> {edited['mean_p_answer']:.4g}, "
        f"P(the) {base['mean_p_the']:.4g} -> {edited['mean_p_the']:.4g}"
    )


def best_record(
    best: ConfigResult,
    baseline: ConfigResult,
    split: Split,
    summary: pd.DataFrame,
    criterion: str,
    metric: str = "log_ratio",
) -> dict[str, Any]:
    """best.json: the config, its gain on the selection split and on the held-out rest, and the controls."""
    edit = best.edits[0]
    report = result_report(best, baseline, split)
    row = summary[summary["config"] == best.label].iloc[0]
    record: dict[str, Any] = {
        "layer": edit.layer,
        "matrix": edit.matrix,
        "rho": edit.rho,
        "kind": edit.kind,
        "k": best.ranks.get(edit.label),
        "edit": edit.label,
        "criterion": criterion,
        "gain_select": score(best, baseline, split.select, metric),
        "gain_heldout": score(best, baseline, split.heldout, metric),
        "n_select": int(len(split.select)),
        "n_heldout": int(len(split.heldout)),
        "heldout": report["heldout"],
        "select": report["select"],
        "all": report["all"],
        "headline": "held-out: " + _describe(report["heldout"]["edited"], report["heldout"]["baseline"]),
    }
    for col in ("gain_over_zero", "select_gain_over_zero", "heldout_gain_over_zero", "lm_loss", "delta_lm_loss"):
        if col in row and not pd.isna(row[col]):
            record[col] = float(row[col])
    if "lm_loss" in baseline.values:
        record["baseline_lm_loss"] = float(baseline.values["lm_loss"])
    return record


def greedy_compose(
    model: HookedModel,
    first: ConfigResult,
    candidates: list[tuple[Edit, ...]],
    measures: list,
    baseline: ConfigResult,
    split: Split,
    k_max: int,
    svd_cache: SVDCache,
    allowed,
    seed: int,
    progress: bool,
    metric: str = "log_ratio",
    store: RunStore | None = None,
) -> tuple[list[dict[str, Any]], pd.DataFrame, ConfigResult]:
    """Add, one at a time, the single edit at a new layer that most raises the selection score; stop at ``k_max`` or no gain.

    Each step's candidates are a part of ``store`` (read back when a resumed sweep has them).
    """
    current = first
    steps = [{"step": 1, "edits": [e.label for e in current.edits], "gain_select": score(current, baseline, split.select, metric),
              "gain_heldout": score(current, baseline, split.heldout, metric)}]
    tried = []
    for step in range(2, k_max + 1):
        used = {e.layer for e in current.edits}
        pool = [c for c in candidates if c[0].layer not in used]
        if not pool:
            break
        results = evaluate_step(store, step, model, pool, measures, fixed=current.edits, svd_cache=svd_cache, seed=seed,
                                progress=progress)
        frame = summary_frame(results, baseline, split)
        frame.insert(0, "step", step)
        tried.append(frame)
        best = best_config(results, baseline, split.select, allowed=allowed, metric=metric)
        if best is None or score(best, baseline, split.select, metric) <= score(current, baseline, split.select, metric):
            log.info("compose: no edit at a new layer raises the selection score further; stopping at %d", len(current.edits))
            break
        current = best
        steps.append({"step": step, "edits": [e.label for e in current.edits],
                      "gain_select": score(current, baseline, split.select, metric),
                      "gain_heldout": score(current, baseline, split.heldout, metric)})
    tried_frame = pd.concat(tried, ignore_index=True) if tried else pd.DataFrame()
    return steps, tried_frame, current


def run_laser_sweep(config: LaserSweep, *, progress: bool = True, model: HookedModel | None = None) -> dict[str, Any]:
    """Run the sweep and write the run folder; returns best.json's content (plus timings).

    The output folder is checked writable, locked (one writer) and checked resumable (see the
    module doc) before the model is loaded.
    """
    check_task_source(config.task, config.relations)
    store = run_store(config.out)
    with store.open(defining_fields(config), _input_files(config), to_jsonable(config)):
        return _run_laser_sweep(config, store, progress=progress, model=model)


def _run_laser_sweep(config: LaserSweep, store: RunStore, *, progress: bool, model: HookedModel | None) -> dict[str, Any]:
    from interp.laser.plots import before_after, laser_heatmaps  # plotting (matplotlib): only when figures are written

    t_start = time.perf_counter()
    out = store.root
    store.drop_damaged_parts(check_part)  # each is evaluated again
    model = model if model is not None else load_model(config.model, device=config.device)
    store.ran_on(model.device, model.dtype)
    for m in config.matrices:
        model.arch.ref(m)  # UsageError listing the matrices this family has
    layers = config.layers.resolve(model.n_layers)
    grid = Grid(layers=layers, matrices=tuple(config.matrices), rhos=tuple(config.rhos), kinds=config.swept_kinds)
    prompt_set = build_task(config.task, model.tokenizer, n=config.n, seed=config.seed, relations=config.relations)
    if prompt_set.n_skipped:
        log.info("%s: skipped %d (%s)", prompt_set.task, prompt_set.n_skipped, prompt_set.skipped)
    select, heldout = split_indices(len(prompt_set), config.select_frac, config.seed)
    split = Split(select, heldout)
    batches = make_batches(model, prompt_set.prompts, config.batch_size, answers=prompt_set.answer_sequences)
    measures: list = [PromptMetrics(prompt_set, batches)]
    lm_source, means = None, None
    if config.measures_lm or "mean" in grid.kinds:
        lm = reference_contexts(model, config.lm_text, n_tokens=config.lm_tokens)
        lm_source = lm.source
        ref_batches = lm_batches(model, lm)
        if config.measures_lm:
            measures.append(LMCost(ref_batches))
            log.info("LM cost on %d contexts (%d scored tokens) of %s", lm.n_contexts, lm.n_scored, lm_source)
        means = ablation_means(model, [e for c in grid.configs() for e in c], ref_batches)
    svd_cache = SVDCache(max_bytes=config.svd_cache_mb << 20)
    timing = Timing()
    configs = [BASELINE] + grid.configs()
    log.info("%s: %d configs x %d prompts (%s)", model.spec.display, len(configs), len(prompt_set), prompt_set.task)
    results = evaluate(
        store, model, configs, measures, svd_cache=svd_cache, means=means, seed=config.seed, progress=progress, timing=timing
    )
    baseline, edited = results[0], results[1:]

    summary = _gain_over_zero(summary_frame(results, baseline, split))
    base_lm = float(baseline.values["lm_loss"]) if "lm_loss" in baseline.values else None

    def allowed(r: ConfigResult) -> bool:
        if any(e.kind != "lowrank" for e in r.edits):
            return False
        if config.max_lm_loss_increase is not None:
            return float(r.values["lm_loss"]) - base_lm <= config.max_lm_loss_increase
        return True

    metric = config.select_by
    criterion = f"largest change in {SELECT_BY[metric]} on the selection split (lowrank edits only)"
    if config.max_lm_loss_increase is not None:
        criterion += f", LM-loss increase <= {config.max_lm_loss_increase} nats"
    best = best_config(edited, baseline, split.select, allowed=allowed, metric=metric)
    if best is None:
        raise UsageError(
            f"no lowrank config satisfies --max-lm-loss-increase {config.max_lm_loss_increase}; raise it or widen the grid"
        )
    record = best_record(best, baseline, split, summary, criterion, metric)
    record["select_by"] = metric

    names = list(metric_columns(prompt_set))
    write_parquet(out / "results.parquet", per_prompt_frame(results, prompt_set, split, names))
    if config.compose > 1:
        candidates = [c for c in grid.configs() if c[0].kind == "lowrank"]
        steps, tried, composed = greedy_compose(
            model, best, candidates, measures, baseline, split, config.compose, svd_cache, allowed, config.seed, progress, metric,
            store=store,
        )
        record["compose"] = {
            "steps": steps,
            "edits": [e.label for e in composed.edits],
            **{k: v for k, v in result_report(composed, baseline, split).items() if k in ("heldout", "select")},
        }
        if not tried.empty:
            write_parquet(out / "compose.parquet", tried)
    record["n_prompts"] = len(prompt_set)
    record["n_configs"] = len(configs)
    record["svd_cache"] = svd_cache.stats()
    record["seconds"] = {"total": time.perf_counter() - t_start, "advance": timing.advance, "edit": timing.edit, "suffix": timing.suffix}
    store.record(
        model_display=model.spec.display, layers_resolved=list(layers), n_prompts=len(prompt_set),
        n_skipped=prompt_set.n_skipped, skipped=prompt_set.skipped, select_indices=split.select.tolist(), lm_text_source=lm_source,
    )
    write_parquet(out / "summary.parquet", summary)
    if "relation" in prompt_set.columns:
        write_parquet(out / "summary_by_relation.parquet", summary_by_relation(results, baseline, prompt_set.columns["relation"]))
    write_json(out / "best.json", record)
    title = f"{model.spec.display} · {prompt_set.task} (n={len(prompt_set)})"
    laser_heatmaps(summary, out, title=title)
    prompts = pd.DataFrame({"prompt": list(prompt_set.prompts), "answer": list(prompt_set.answers)})
    before_after(
        _frame(baseline, prompts, names).iloc[split.heldout],
        _frame(best, prompts, names).iloc[split.heldout],
        out / "p_the_vs_p_answer_best.png",
        title=f"{title} · {len(split.heldout)} held-out prompts",
        after_label=best.label,
    )
    return record


def summary_by_relation(results: list[ConfigResult], baseline: ConfigResult, relation: tuple[str, ...]) -> pd.DataFrame:
    """One row per (config, relation): the summary of that relation's prompts and its change against the baseline."""
    labels = np.asarray(relation)
    rows = []
    for name in sorted(set(relation)):
        idx = np.flatnonzero(labels == name)
        base = summarize(baseline.values, idx)
        for r in results:
            edited = summarize(r.values, idx)
            rows.append({"config": r.label, "relation": name, **edited, **delta(edited, base)})
    return pd.DataFrame(rows)


def _frame(result: ConfigResult, prompts: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    frame = prompts.copy()
    for name in names:
        frame[name] = result.values[name]
    return frame
