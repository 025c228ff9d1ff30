"""The best LASER config is the argmax of the gain on the *selection* split, checked on a sweep
whose selection and held-out splits name different winners (so choosing on the held-out split,
or on all prompts, cannot pass)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import interp.laser.parts as laser_parts  # where the sweep calls run_configs
from interp.edits.grid import LayerSpec
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.models.spec import ModelSpec

METRIC = "log_ratio"


@pytest.fixture
def scrambled_metric(monkeypatch):
    """The sweep's per-prompt ``log_ratio`` replaced, config by config, with seeded random values.

    The real sweep still runs (edits, suffix passes, tables); only the values the selection reads
    are drawn, so that which config wins on which split is known from the table alone.
    """
    rng = np.random.default_rng(1)
    real = laser_parts.run_configs

    def run_configs(*args, **kwargs):
        results = real(*args, **kwargs)
        for r in results:
            n = len(r.values[METRIC])
            r.values[METRIC] = rng.normal(0.0, 1.0, n).astype(np.float32) if r.edits else np.zeros(n, np.float32)
        return results

    monkeypatch.setattr(laser_parts, "run_configs", run_configs)


def test_best_is_chosen_on_the_selection_split_where_the_splits_disagree(
    tiny_gpt2, tiny_model_dirs, tmp_path, scrambled_metric, weights_guard
):
    weights_guard(tiny_gpt2)
    out = tmp_path / "sweep"
    config = LaserSweep(
        out=str(out), model=ModelSpec.parse(str(tiny_model_dirs["gpt2"])), task="factual", layers=LayerSpec.parse("all"),
        matrices=("mlp_in", "mlp_out"), rhos=(0.5, 0.1, 0.02), n=16, select_frac=0.5, batch_size=8, device="cpu",
    )
    best = run_laser_sweep(config, progress=False, model=tiny_gpt2)
    results = pd.read_parquet(out / "results.parquet")
    results[METRIC] = results[METRIC].astype(np.float64)
    mean = results.groupby(["split", "config"], observed=True)[METRIC].mean()
    gain = {s: (mean[s].drop("baseline") - mean[s]["baseline"]) for s in ("select", "heldout")}
    overall = results.groupby("config", observed=True)[METRIC].mean()
    winner_select, winner_heldout = gain["select"].idxmax(), gain["heldout"].idxmax()
    # the data make the question meaningful: each split (and all prompts) names another config
    assert winner_select != winner_heldout
    assert winner_select != overall.drop("baseline").idxmax()
    assert best["edit"] == winner_select
    assert best["gain_select"] == pytest.approx(gain["select"][winner_select], abs=1e-6)
    assert best["gain_heldout"] == pytest.approx(gain["heldout"][winner_select], abs=1e-6)
    assert best["gain_heldout"] < gain["heldout"].max()  # the held-out number is reported, not chased
