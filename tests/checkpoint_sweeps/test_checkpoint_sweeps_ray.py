"""``--executor ray`` on a local Ray instance with 2 workers: the same rows as the local executor.

Skipped when Ray is not installed (``pip install 'interp[ray]'``).
"""

from __future__ import annotations

import pandas as pd
import pytest

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def test_ray_executor_gives_the_rows_of_the_local_one(local_ray, reference_sweep, sweep_args, tiny_steps_dir, tmp_path, assert_same_rows):
    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.models.spec import ModelSpec

    _, expected = reference_sweep
    report = run_sweep(SweepConfig(out=str(tmp_path), model=ModelSpec.parse(str(tiny_steps_dir)), executor="ray", **sweep_args))
    assert sorted(report.evaluated) == sorted(expected["step"].unique())
    assert_same_rows(pd.read_parquet(tmp_path / "results.parquet"), expected)
    assert sorted(p.name for p in (tmp_path / "parts").glob("*.parquet")) == sorted(
        f"step{s}.parquet" for s in expected["step"].unique()
    )


def test_ray_executor_records_a_corrupt_step_like_the_local_one(local_ray, reference_sweep, sweep_args, steps_dir_copy, tmp_path, assert_same_rows):
    import json

    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.models.spec import ModelSpec

    _, expected = reference_sweep
    (steps_dir_copy / "step1" / "model.safetensors").write_bytes(b"")
    out = tmp_path / "sweep"  # not tmp_path itself: the checkpoints copied there are not a sweep's files
    report = run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(steps_dir_copy)), executor="ray", **sweep_args))
    assert list(report.failed) == [1] and sorted(report.evaluated) == [0, 2, 4, 8]
    assert_same_rows(pd.read_parquet(out / "results.parquet"), expected[expected["step"] != 1])
    assert [f["step"] for f in json.loads((out / "warnings.json").read_text())["failed_steps"]] == [1]
