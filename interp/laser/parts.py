"""A sweep's evaluated configs as parts of its run folder, so a killed sweep resumes where it stopped.

Each config's result (:class:`~interp.laser.sweep.ConfigResult`) is written as soon as it is
evaluated: ``parts/<config>.parquet`` holds its per-prompt values (one row per prompt, a
``config`` column naming it), ``parts/<config>.json`` its start layer, ranks and scalar measures
(``lm_loss``) and the order of its values. A greedy-composition step writes its candidates
together as ``parts/compose/step<K>``. :func:`evaluate` reads back the configs the folder holds
and evaluates the rest one at a time in :func:`~interp.laser.sweep.run_configs`'s order (by
start layer), so the residuals are advanced through the same layers as in one uninterrupted call
and a resumed sweep ends with the values of an uninterrupted one.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from interp.edits.apply import MeanVectors
from interp.edits.grid import Config
from interp.edits.spec import edits_label
from interp.edits.svd_cache import SVDCache
from interp.laser.sweep import ConfigResult, SuffixMeasure, Timing, run_configs, start_layer
from interp.models.loading import HookedModel
from interp.store import RunStore

log = logging.getLogger(__name__)

_CONFIG = "config"


def part_name(label: str) -> str:
    """The part of config ``label`` (``1:mlp_in:lowrank:0.5`` -> ``1_mlp_in_lowrank_0.5``)."""
    return re.sub(r"[^\w.+-]", "_", label)


def compose_part(step: int) -> str:
    return f"compose/step{step}"


def write_results(store: RunStore, name: str, results: Sequence[ConfigResult]) -> None:
    """Part ``name``: the per-prompt values of ``results`` (rows in prompt order, config after config) and their facts."""
    frames, facts = [], []
    for r in results:
        per_prompt = {k: v for k, v in r.values.items() if np.ndim(v) == 1}
        frame = pd.DataFrame(per_prompt)
        frame.insert(0, _CONFIG, r.label)
        frames.append(frame)
        scalars = {k: v for k, v in r.values.items() if np.ndim(v) == 0}
        facts.append({
            _CONFIG: r.label, "start": r.start, "ranks": r.ranks, "values": list(r.values),
            "scalars": {k: float(v) for k, v in scalars.items()}, "scalar_dtypes": {k: np.asarray(v).dtype.str for k, v in scalars.items()},
        })
    store.write_part(name, pd.concat(frames, ignore_index=True), {"configs": facts})


def check_part(name: str, meta: dict[str, Any]) -> str | None:
    """What is wrong with a part's facts (None: nothing), for :meth:`RunStore.drop_damaged_parts`."""
    facts = meta.get("configs")
    keys = {_CONFIG, "start", "ranks", "values", "scalars", "scalar_dtypes"}
    if not isinstance(facts, list) or not facts or not all(isinstance(f, dict) and keys <= set(f) for f in facts):
        return f"{name}.json does not describe the configs of its part"
    return None


def read_results(store: RunStore, name: str, expected: Mapping[str, Config]) -> list[ConfigResult] | None:
    """The results part ``name`` holds, in its order, when it holds exactly configs of ``expected``
    ({label: config}); None when the folder has no such part."""
    if not store.has_part(name):
        return None
    facts = store.read_meta(name)["configs"]
    if not all(f[_CONFIG] in expected for f in facts):
        log.warning("part %s holds configs this sweep does not evaluate; it is evaluated again", name)
        return None
    frame = store.read_part(name)
    results = []
    for f in facts:
        rows = frame[frame[_CONFIG] == f[_CONFIG]]
        values: dict[str, np.ndarray] = {}
        for key in f["values"]:
            if key in f["scalars"]:
                values[key] = np.array(f["scalars"][key], dtype=np.dtype(f["scalar_dtypes"][key]))
            else:
                values[key] = rows[key].to_numpy(copy=True)
        results.append(ConfigResult(edits=expected[f[_CONFIG]], start=int(f["start"]), values=values, ranks=dict(f["ranks"])))
    return results


def evaluate(
    store: RunStore,
    model: HookedModel,
    configs: Sequence[Config],
    measures: Sequence[SuffixMeasure],
    *,
    svd_cache: SVDCache,
    means: MeanVectors | None = None,
    seed: int = 0,
    progress: bool = False,
    timing: Timing | None = None,
) -> list[ConfigResult]:
    """Every config's result, in ``configs``' order: read from its part, or evaluated and written as one."""
    expected = {edits_label(c): tuple(c) for c in configs}
    done: dict[str, ConfigResult] = {}
    for label in expected:
        held = read_results(store, part_name(label), expected)
        if held is not None and [r.label for r in held] == [label]:
            done[label] = held[0]
    lowest = min(min((start_layer(c, model.n_layers) for c in configs if c), default=0), model.n_layers - 1)
    order = sorted(expected, key=lambda label: start_layer(expected[label], lowest))
    todo = [label for label in order if label not in done]
    if done:
        log.info("%d of %d configs already evaluated in %s; evaluating the other %d", len(done), len(expected), store.root, len(todo))
    with tqdm(total=len(expected), initial=len(done), desc="laser", disable=not progress, leave=False) as bar:
        for label in todo:
            (result,) = run_configs(model, [expected[label]], measures, svd_cache=svd_cache, means=means, seed=seed, timing=timing)
            write_results(store, part_name(label), [result])
            done[label] = result
            bar.update(1)
    return [done[edits_label(c)] for c in configs]


def evaluate_step(
    store: RunStore | None,
    step: int,
    model: HookedModel,
    pool: Sequence[Config],
    measures: Sequence[SuffixMeasure],
    *,
    fixed: Config,
    svd_cache: SVDCache,
    seed: int = 0,
    progress: bool = False,
) -> list[ConfigResult]:
    """The candidates ``pool`` (each with ``fixed`` added) of greedy-composition step ``step``: read
    from the step's part when it holds exactly them, else evaluated together and written as one part
    (without a ``store``: evaluated, not written)."""
    full = {edits_label(tuple(fixed) + tuple(c)): tuple(fixed) + tuple(c) for c in pool}
    held = None if store is None else read_results(store, compose_part(step), full)
    if held is not None and [r.label for r in held] == list(full):
        return held
    results = run_configs(model, pool, measures, svd_cache=svd_cache, fixed=fixed, seed=seed, progress=progress,
                          desc=f"compose step {step}")
    if store is not None:
        write_results(store, compose_part(step), results)
    return results
