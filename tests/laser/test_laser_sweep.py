"""Sweeps: suffix-only results equal naive full forwards; the split; the best config; the run folder."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from interp.edits.apply import apply_edits
from interp.edits.grid import LayerSpec
from interp.edits.spec import Edit
from interp.edits.svd_cache import SVDCache
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.laser.sweep import LMCost, PromptMetrics, best_config, run_configs, split_indices
from interp.models.spec import ModelSpec
from interp.scoring.evaluate import collect_metrics
from interp.scoring.forward import make_batches
from interp.scoring.lm_loss import lm_batches, lm_contexts, lm_loss, reference_text
from interp.tasks import build_task

CONFIGS = [
    (),
    (Edit(1, "mlp_in", "lowrank", 0.1),),
    (Edit(0, "mlp_out", "lowrank", 0.5),),
    (Edit(1, "mlp_out", "zero"),),
    (Edit(0, "attn_v", "random", 0.25),),
    (Edit(1, "mlp_in", "lowrank", 0.1), Edit(0, "mlp_in", "lowrank", 0.05)),  # a composition
    (Edit(1, "mlp_in", "lowrank", 0.5),),
]


def test_suffix_sweep_equals_naive_full_forwards(tiny_model, weights_guard):
    weights_guard(tiny_model)
    prompt_set = build_task("factual", tiny_model.tokenizer, n=12, seed=1)
    batches = make_batches(tiny_model, prompt_set.prompts, 5)
    text, source = reference_text(None, 256)
    lm = lm_batches(tiny_model, lm_contexts(tiny_model, text, source, n_tokens=256), batch_size=2)
    cache = SVDCache()
    results = run_configs(tiny_model, CONFIGS, [PromptMetrics(prompt_set, batches), LMCost(lm)], svd_cache=cache)
    assert [r.edits for r in results] == [tuple(c) for c in CONFIGS]
    assert cache.misses == 3 and cache.hits == 2  # 1:mlp_in decomposed once for its three uses
    for config, result in zip(CONFIGS, results):
        with apply_edits(tiny_model, config):
            naive = collect_metrics(tiny_model, prompt_set, batches)
            naive_lm = lm_loss(tiny_model, lm)
        for name, values in naive.items():
            np.testing.assert_allclose(result.values[name], values, atol=1e-5, rtol=1e-5, err_msg=f"{config} {name}")
        assert float(result.values["lm_loss"]) == pytest.approx(naive_lm, abs=1e-5)


def test_split_and_best_config():
    select, heldout = split_indices(10, 0.3, seed=0)
    assert len(select) == 3 and len(heldout) == 7 and not set(select) & set(heldout)
    assert sorted([*select, *heldout]) == list(range(10))
    again = split_indices(10, 0.3, seed=0)
    assert np.array_equal(again[0], select)
    for frac in (0.0, 1.0, -0.1):
        with pytest.raises(Exception, match="select-frac"):
            split_indices(10, frac, seed=0)

    class R:  # a stand-in ConfigResult
        def __init__(self, edits, log_ratio):
            self.edits, self.values = edits, {"log_ratio": np.asarray(log_ratio, dtype=float)}

    base = R((), [0, 0, 0, 0])
    a, b = R((Edit(0, "mlp_in", rho=0.5),), [1, 1, -5, -5]), R((Edit(1, "mlp_in", rho=0.5),), [0.5, 0.5, 9, 9])
    assert best_config([base, a, b], base, np.array([0, 1])) is a  # chosen on the selection split only
    assert best_config([base, a, b], base, np.array([2, 3])) is b
    assert best_config([base, a, b], base, np.array([0, 1]), allowed=lambda r: r is b) is b


@pytest.mark.parametrize("controls", [False, True])
def test_run_folder(tiny_gpt2, tiny_model_dirs, tmp_path, controls, weights_guard):
    weights_guard(tiny_gpt2)
    out = tmp_path / "sweep"
    config = LaserSweep(
        out=str(out), model=ModelSpec.parse(str(tiny_model_dirs["gpt2"])), task="factual", layers=LayerSpec.parse("all"), matrices=("mlp_in", "mlp_out"), rhos=(0.5, 0.1),
        n=16, select_frac=0.25, batch_size=8, compose=2, controls=controls, lm_tokens=256, device="cpu",
    )
    best = run_laser_sweep(config, progress=False, model=tiny_gpt2)
    results = pd.read_parquet(out / "results.parquet")
    summary = pd.read_parquet(out / "summary.parquet")
    n_configs = 1 + 2 * 2 * (2 + (3 if controls else 0))
    assert len(summary) == n_configs and len(results) == n_configs * 16
    assert {"layer", "matrix", "rho", "kind", "split", "p_answer", "p_the", "p_function", "log_ratio", "top1"} <= set(results)
    base = results[results["layer"] == -1]
    assert len(base) == 16 and (base["split"] == "select").sum() == 4
    row = summary[summary["config"] == best["edit"]].iloc[0]
    by_relation = pd.read_parquet(out / "summary_by_relation.parquet")
    per_config = by_relation.groupby("config", observed=True)["n_prompts"].sum()
    assert (per_config == 16).all() and len(per_config) == n_configs
    assert {"relation", "mean_p_answer", "delta_log_ratio", "ratio_of_means", "geo_mean_ratio"} <= set(by_relation)
    assert row["select_delta_log_ratio"] == pytest.approx(best["gain_select"])
    assert row["heldout_delta_log_ratio"] == pytest.approx(best["gain_heldout"])
    assert best["select"]["change"]["delta_log_ratio"] == pytest.approx(best["gain_select"])
    assert LaserSweep.from_dict(json.loads((out / "config.json").read_text())) == config  # round trip
    on_disk = json.loads((out / "best.json").read_text())
    assert {"layer", "matrix", "rho", "gain_select", "gain_heldout", "compose"} <= set(on_disk)
    assert on_disk["kind"] == "lowrank"
    for name in ("heatmap.png", "heatmap_top1.png", "heatmap_logp_answer_full.png", "p_the_vs_p_answer_best.png", "config.json"):
        assert (out / name).stat().st_size > 500
    if controls:
        assert {"gain_over_zero", "delta_lm_loss", "lm_loss"} <= set(summary)
        assert {"gain_over_zero", "heldout_gain_over_zero", "delta_lm_loss"} <= set(on_disk)
        zero = summary[(summary["kind"] == "zero") & (summary["layer"] == best["layer"]) & (summary["matrix"] == best["matrix"])]
        assert on_disk["gain_over_zero"] == pytest.approx(row["delta_log_ratio"] - zero["delta_log_ratio"].iloc[0])
        for name in ("heatmap_gain_over_zero.png", "heatmap_lm_loss.png"):
            assert (out / name).stat().st_size > 500


@pytest.mark.parametrize("select_by", ["log_ratio", "logp_answer_full", "exact"])
def test_best_is_the_argmax_of_the_selection_gain(tiny_gpt2, tiny_model_dirs, tmp_path, select_by, weights_guard):
    """best.json names the config whose mean change of the chosen metric on the *selection* split is largest."""
    weights_guard(tiny_gpt2)
    out = tmp_path / select_by
    config = LaserSweep(
        out=str(out), model=ModelSpec.parse(str(tiny_model_dirs["gpt2"])), task="factual", layers=LayerSpec.parse("all"),
        matrices=("mlp_in", "mlp_out"), rhos=(0.5, 0.1, 0.02), n=24, select_frac=0.5, batch_size=8, device="cpu",
        select_by=select_by,
    )
    best = run_laser_sweep(config, progress=False, model=tiny_gpt2)
    results = pd.read_parquet(out / "results.parquet")
    results[select_by] = results[select_by].astype(float)
    sel = results[results["split"] == "select"]
    means = sel.groupby("config", observed=True)[select_by].mean()
    gains = (means.drop("baseline") - means["baseline"]).sort_values(ascending=False, kind="stable")
    assert best["select_by"] == select_by
    assert best["gain_select"] == pytest.approx(gains.iloc[0], abs=1e-6)
    assert gains[best["edit"]] == pytest.approx(gains.max(), abs=1e-9)
    held = results[results["split"] == "heldout"].groupby("config", observed=True)[select_by].mean()
    assert best["gain_heldout"] == pytest.approx(held[best["edit"]] - held["baseline"], abs=1e-6)
