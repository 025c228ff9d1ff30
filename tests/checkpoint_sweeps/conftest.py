"""Fixtures for the sweep tests (the folder of tiny GPT-NeoX checkpoints is ``tiny_steps_dir`` in
``tests/conftest.py``): a tiny toy run, and one
uninterrupted reference sweep the kill-and-resume and shard tests compare against.

(Tests here do not ``from conftest import ...``: with this file present that name is this module.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

#: The sweep every reference comparison uses: all steps of the tiny folder, 6 factual prompts.
SWEEP_ARGS = {"steps": "all", "task": "factual", "n": 6, "device": "cpu"}


@pytest.fixture(scope="session")
def sweep_args() -> dict:
    """The arguments (besides model and out) of the reference sweep."""
    return dict(SWEEP_ARGS)


@pytest.fixture(scope="session")
def reference_sweep(tmp_path_factory, tiny_steps_dir) -> tuple[Path, pd.DataFrame]:
    """An uninterrupted, unsharded sweep of ``tiny_steps_dir``: (folder, results table)."""
    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.models.spec import ModelSpec

    out = tmp_path_factory.mktemp("sweeps") / "reference"
    run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(tiny_steps_dir)), **SWEEP_ARGS))
    return out, pd.read_parquet(out / "results.parquet")


@pytest.fixture
def steps_dir_copy(tmp_path, tiny_steps_dir) -> Path:
    """A private copy of the tiny checkpoints that a test may change."""
    copy = tmp_path / "steps"
    shutil.copytree(tiny_steps_dir, copy)
    return copy


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory) -> Path:
    """A toy run directory (format interp-toy) with untrained checkpoints at steps 0, 1, 2."""
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    config = with_overrides(
        preset("chen", steps=2), {"model.d_model": 32, "model.d_mlp": 64, "data.seq_len": 48, "model.n_ctx": 48}
    )
    run = tmp_path_factory.mktemp("sweeps") / "toy-run"
    write_run_config(run, config)
    for step in (0, 1, 2):
        save_checkpoint(run, step, ToyTransformer(config.model, seed=step), config)
    return run


def _assert_same_rows(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    keys = ["step", "edit", "prompt_index"]
    assert not actual.duplicated(keys).any(), "a row appears twice"
    actual = actual.sort_values(keys).reset_index(drop=True)
    expected = expected.sort_values(keys).reset_index(drop=True)
    assert actual[keys].equals(expected[keys])
    pd.testing.assert_frame_equal(actual, expected, check_exact=False, rtol=1e-5, atol=1e-7)


@pytest.fixture
def assert_same_rows():
    """``assert_same_rows(actual, expected)``: the same (step, edit, prompt) keys, each once, and
    the same values up to float32 noise (a subprocess may use another thread count)."""
    return _assert_same_rows
