"""The output folder: definition checks, parts, stale files, merging, fingerprints."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from interp.checkpoint_sweeps.fingerprint import duplicate_groups, state_fingerprint
from interp.checkpoint_sweeps.store import SweepStore
from interp.errors import UsageError

ARGS = {"model": "/m", "steps": "all", "task": "factual", "prompts_sha256": None, "n": 4, "seed": 0, "laser": [], "dtype": "float32"}


def _part(step: int) -> pd.DataFrame:
    return pd.DataFrame({"step": [step, step], "edit": ["none", "none"], "prompt_index": [0, 1], "p_answer": [0.1, 0.2]})


def test_reopening_with_other_arguments_names_the_argument(tmp_path):
    store = SweepStore(tmp_path)
    store.open(ARGS, {"steps_resolved": [0, 1]})
    store.open(dict(ARGS), {"steps_resolved": [0, 1, 2]})  # same arguments: fine
    with pytest.raises(UsageError, match=r"different arguments \(--seed was 0, now 3\)"):
        store.open({**ARGS, "seed": 3}, {})
    with pytest.raises(UsageError, match=r"--task was 'factual', now 'ioi'; --laser was \[\], now \['1:mlp_in:0.1'\]"):
        store.open({**ARGS, "task": "ioi", "laser": ["1:mlp_in:0.1"]}, {})


def test_a_folder_with_other_results_is_refused(tmp_path):
    (tmp_path / "results.parquet").write_bytes(b"x")
    with pytest.raises(UsageError, match="holds other results"):
        SweepStore(tmp_path).open(ARGS, {})


def test_only_whole_parts_count_and_stale_tmp_files_go(tmp_path):
    store = SweepStore(tmp_path)
    store.open(ARGS, {})
    store.write_step(0, _part(0), {"fingerprint": "a"})
    store.write_step(1, _part(1), {"fingerprint": "b"})
    # a run killed after step 2's json, during its parquet write
    (store.parts / "step2.json").write_text('{"fingerprint": "c"}')
    (store.parts / ".step2.parquet.tmp").write_bytes(b"half a parquet")
    (tmp_path / ".results.parquet.tmp").write_bytes(b"half")
    assert store.done_steps() == [0, 1]
    store.open(ARGS, {})
    assert not list(tmp_path.rglob("*.tmp"))
    results, summary = store.consolidate(lambda f: f.groupby("step", as_index=False).size())
    assert list(results["step"]) == [0, 0, 1, 1]
    assert pd.read_parquet(store.results_path).equals(results)


def test_merge_copies_each_step_once_and_refuses_different_weights(tmp_path):
    a, b, c = (SweepStore(tmp_path / name) for name in "abc")
    for store in (a, b, c):
        store.open(ARGS, {})
    a.write_step(0, _part(0), {"fingerprint": "x0"})
    b.write_step(1, _part(1), {"fingerprint": "x1"})
    b.write_step(0, _part(0), {"fingerprint": "x0"})  # the same step twice, same weights
    out = SweepStore(tmp_path / "out")
    out.open(ARGS, {})
    assert out.merge_from([a, b]) == [0, 1]
    assert out.done_steps() == [0, 1]
    c.write_step(1, _part(1), {"fingerprint": "other"})
    with pytest.raises(UsageError, match="step 1 was evaluated with different weights"):
        out.merge_from([c])


def test_duplicate_warnings_from_fingerprints(tmp_path):
    store = SweepStore(tmp_path)
    store.open(ARGS, {})
    for step, fp in [(0, "f"), (1, "f"), (2, "g"), (4, "h"), (8, "h")]:
        store.write_step(step, _part(step), {"fingerprint": fp})
    warnings = store.duplicate_warnings()
    assert [w["steps"] for w in warnings] == [[0, 1], [4, 8]]
    assert warnings[0]["message"].startswith("steps 0, 1 have identical weights")


def test_fingerprint_sees_every_bit_and_groups_duplicates():
    state = {"w": torch.randn(5, 7), "b": torch.zeros(3, dtype=torch.bfloat16), "n": torch.tensor(2)}
    same = {k: v.clone() for k, v in state.items()}
    assert state_fingerprint(state) == state_fingerprint(same)
    same["w"][2, 3] = torch.nextafter(same["w"][2, 3], torch.tensor(10.0))
    assert state_fingerprint(state) != state_fingerprint(same)
    renamed = {"v" if k == "w" else k: v for k, v in state.items()}
    assert state_fingerprint(state) != state_fingerprint(renamed)
    assert duplicate_groups({0: "a", 1: "a", 2: "b"}) == [[0, 1]]


REPO = __import__("pathlib").Path(__file__).resolve().parents[2]


def _as_written_before_the_store(folder) -> None:
    """Rewrite ``folder/sweep.json`` in the format sweeps had before the run-folder store."""
    import json

    data = json.loads((folder / "sweep.json").read_text())
    old = {"format": "interp-checkpoint-sweep", "version": 1, "arguments": data["arguments"],
           "source": data["source"], "steps_resolved": data["steps_resolved"]}
    (folder / "sweep.json").write_text(json.dumps(old))


def test_a_sweep_folder_written_before_the_store_resumes_and_refuses_other_arguments(reference_sweep, tiny_steps_dir, sweep_args, tmp_path):
    import json
    import shutil

    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.models.spec import ModelSpec

    ref_dir, _ = reference_sweep
    out = tmp_path / "old"
    shutil.copytree(ref_dir, out)
    _as_written_before_the_store(out)
    report = run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(tiny_steps_dir)), **sweep_args))
    assert report.evaluated == [] and report.already_done == [0, 1, 2, 4, 8]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), pd.read_parquet(ref_dir / "results.parquet"))
    written = json.loads((out / "sweep.json").read_text())
    assert written["format"] == "interp-run" and written["command"] == "checkpoint-sweep"
    assert written["arguments"] == json.loads((ref_dir / "sweep.json").read_text())["arguments"]
    _as_written_before_the_store(out)
    with pytest.raises(UsageError, match=r"different arguments \(--seed was 0, now 1\)"):
        run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(tiny_steps_dir)), **{**sweep_args, "seed": 1}))


@pytest.mark.parametrize("name", ["toy-noisy-recall", "tiny-demo/ioi", "tiny-demo/factual"])
def test_the_committed_sweep_folders_still_read_and_merge(name, tmp_path):
    from interp.checkpoint_sweeps.run import merge_sweeps

    folder = REPO / "results" / "checkpoint_sweep" / name
    definition = SweepStore(folder).read_definition()
    assert definition.command == "checkpoint-sweep" and definition.info["steps_resolved"]
    report = merge_sweeps([folder], tmp_path / "merged")
    assert report.missing == [] and report.already_done == definition.info["steps_resolved"]
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "merged" / "results.parquet"), pd.read_parquet(folder / "results.parquet"))
