"""The run-folder store (interp.store.RunStore) and the atomic writers of interp.io it is built on."""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys

import pandas as pd
import pytest

from interp.errors import UsageError
from interp.io import copy_file, file_sha256, write_folder, write_text
from interp.store import RunDefinition, RunStore

NAMES = {"model": "--model", "seed": "--seed", "data": "--data"}
DEFINING = {"model": "m", "seed": 0, "rhos": (0.5, 0.1)}


def _store(root, command: str = "demo") -> RunStore:
    return RunStore(root, command=command, field_names=NAMES)


def _frame(k: int) -> pd.DataFrame:
    return pd.DataFrame({"part": [k, k], "value": [0.5 * k, 0.25 * k]})


def _refused(store: RunStore, defining=DEFINING, inputs=None) -> str:
    with pytest.raises(UsageError) as info, store.open(defining, inputs or {}):
        pass
    message = str(info.value)
    assert "\n" not in message
    return message


def test_a_new_folder_is_begun_and_its_definition_written(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("abc")
    store = _store(tmp_path / "new" / "run")
    with store.open(DEFINING, {"data": data}, {"extra": 3}):
        store.write_part("a", _frame(1), {"k": 1})
    definition = json.loads((tmp_path / "new" / "run" / "config.json").read_text())
    stamp = definition.pop("provenance")
    assert stamp["started"] <= stamp["finished"] and stamp["command"]
    assert definition == {
        "format": "interp-run", "version": 1, "command": "demo", "defining": {"model": "m", "seed": 0, "rhos": [0.5, 0.1]},
        "inputs": {"data": hashlib.sha256(b"abc").hexdigest()}, "extra": 3,
    }
    assert store.part_names() == ["a"] and store.read_meta("a") == {"k": 1}


def test_an_empty_folder_is_begun_and_the_same_definition_resumes(tmp_path):
    store = _store(tmp_path)
    with store.open(DEFINING, {}, {"steps": [1]}):
        assert store.previous is None
        store.write_part("a", _frame(1))
    again = _store(tmp_path)
    with again.open(dict(DEFINING, rhos=[0.5, 0.1]), {}, {"steps": [1, 2]}):  # a list reads back like the tuple
        assert again.previous is not None and again.previous.info["steps"] == [1]
        assert again.part_names() == ["a"]
    definition = json.loads((tmp_path / "config.json").read_text())
    assert definition["steps"] == [1, 2]
    first = again.previous.info["provenance"]  # the resumed session keeps the first one's provenance
    assert [s["started"] for s in definition["provenance"]["earlier_sessions"]] == [first["started"]]


def test_other_defining_fields_are_refused_naming_the_first(tmp_path):
    with _store(tmp_path).open(DEFINING):
        pass
    message = _refused(_store(tmp_path), {**DEFINING, "seed": 1, "model": "other"})
    assert message.startswith(f"{tmp_path} holds a run with different options (--model was 'm', now 'other'; --seed was 0, now 1)")
    assert message.endswith("use another --out, or the same options to resume it")
    assert "rhos was [0.5, 0.1], now [0.5]" in _refused(_store(tmp_path), {**DEFINING, "rhos": (0.5,)})  # no user name: the field's
    assert "--model was 'm', now None" in _refused(_store(tmp_path), {"seed": 0, "rhos": (0.5, 0.1)})


def test_an_input_is_compared_by_content(tmp_path):
    data = tmp_path / "data.txt"
    data.write_text("first")
    run = tmp_path / "run"
    with _store(run).open(DEFINING, {"data": data}):
        pass
    moved = tmp_path / "elsewhere.txt"
    data.rename(moved)
    with _store(run).open(DEFINING, {"data": moved}):  # the same content under another name resumes
        pass
    moved.write_text("second")
    message = _refused(_store(run), inputs={"data": moved})
    old, new = hashlib.sha256(b"first").hexdigest(), hashlib.sha256(b"second").hexdigest()
    assert f"the content of --data differs (sha256 {old[:12]} before, {new[:12]} now)" in message
    assert "--data was given, now not" in _refused(_store(run))
    other = tmp_path / "other"
    with _store(other).open(DEFINING):
        pass
    assert "--data was not given, now given" in _refused(_store(other), inputs={"data": moved})


def test_another_commands_run_and_unknown_files_are_refused(tmp_path):
    with _store(tmp_path / "a", command="gsm8k").open(DEFINING):
        pass
    assert _refused(_store(tmp_path / "a")) == f"{tmp_path / 'a'} holds an interp gsm8k run, not demo; use another --out"
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "notes.txt").write_text("mine")
    (tmp_path / "b" / "results.parquet").write_text("x")
    assert "holds other results (notes.txt, results.parquet) and no config.json" in _refused(_store(tmp_path / "b"))
    assert (tmp_path / "b" / "notes.txt").read_text() == "mine"
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / ".hidden").write_text("")  # hidden files (locks, temp files) do not count
    with _store(tmp_path / "c").open(DEFINING):
        pass


@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe garbage", b"[1, 2]", b'{"format": "interp-run", "command": "demo"}'])
def test_a_garbled_definition_is_one_line_saying_how_to_start_over(tmp_path, content):
    (tmp_path / "config.json").write_bytes(content)
    message = _refused(_store(tmp_path))
    assert message.startswith(f"{tmp_path / 'config.json'} is ")
    assert f"to start the run over, remove the folder {tmp_path} or give another --out" in message


def test_a_legacy_definition_is_read_through_the_commands_reader(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": "m", "seed": 0}))

    def legacy(data):
        if "model" not in data:
            return None
        return RunDefinition("demo", {"model": data["model"], "seed": data["seed"]}, {"data": None})

    data = tmp_path / "data.txt"
    data.write_text("any")
    store = RunStore(tmp_path, command="demo", field_names=NAMES, legacy=legacy)
    with store.open({"model": "m", "seed": 0}, {"data": data}):  # an unrecorded hash is not compared
        pass
    assert json.loads((tmp_path / "config.json").read_text())["format"] == "interp-run"
    (tmp_path / "config.json").write_text(json.dumps({"model": "m", "seed": 0}))
    with pytest.raises(UsageError, match="--seed was 0, now 2"), store.open({"model": "m", "seed": 2}, {"data": data}):
        pass
    (tmp_path / "config.json").write_text(json.dumps({"other": 1}))
    with pytest.raises(UsageError, match="is not a demo definition"), store.open({"model": "m", "seed": 0}):
        pass


def test_damaged_parts_are_deleted_with_a_warning_and_made_again(tmp_path, caplog):
    store = _store(tmp_path)
    with store.open(DEFINING):
        for k in range(6):
            store.write_part(f"batch/p{k}", _frame(k), {"n": 2})
    (store.parts / "batch" / "p1.parquet").write_bytes(b"")
    (store.parts / "batch" / "p2.parquet").write_bytes((store.parts / "batch" / "p2.parquet").read_bytes()[:60])
    (store.parts / "batch" / "p3.json").unlink()
    (store.parts / "batch" / "p4.json").write_text('{"n": ')
    (store.parts / "batch" / "p5.json").write_text('{"n": 3}')
    (store.parts / "batch" / "p6.json").write_text('{"n": 2}')  # a json alone: not a part

    def rows_as_recorded(name, meta):
        return None if meta.get("n") == 2 else f"{name} records {meta.get('n')} rows"

    with caplog.at_level(logging.WARNING, logger="interp"):
        dropped = store.drop_damaged_parts(rows_as_recorded)
    assert set(dropped) == {"batch/p1", "batch/p2", "batch/p3", "batch/p4", "batch/p5"}
    assert "p3.json is missing" in dropped["batch/p3"] and "p4.json is unreadable" in dropped["batch/p4"]
    assert dropped["batch/p5"] == "batch/p5 records 3 rows" and "p1.parquet is unreadable" in dropped["batch/p1"]
    assert store.part_names() == ["batch/p0"] == store.part_names("batch")
    assert not (store.parts / "batch" / "p1.json").exists()
    assert sum("deleted it, it is made again" in m for m in caplog.messages) == 5
    store.write_part("batch/p1", _frame(1))  # made again
    pd.testing.assert_frame_equal(store.read_parts(), pd.concat([_frame(0), _frame(1)], ignore_index=True))


def test_stale_temp_files_of_killed_writers_go_on_opening(tmp_path):
    store = _store(tmp_path)
    with store.open(DEFINING):
        store.write_part("sub/a", _frame(0))
    dead = [tmp_path / ".results.parquet.999999999.tmp.parquet", store.parts / "sub" / ".b.parquet.999999999.tmp.parquet"]
    for path in dead:
        path.write_text("half")
    (tmp_path / ".step9.999999999.tmp").mkdir()  # a folder part being filled when its writer died
    with store.open(DEFINING):
        pass
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    assert store.part_names() == ["sub/a"]


def test_folder_parts_are_renamed_into_place_whole(tmp_path):
    store = _store(tmp_path)
    with store.open(DEFINING):
        def fill(folder):
            (folder / "config.json").write_text("{}")
            (folder / "weights.bin").write_bytes(b"w" * 10)

        assert store.write_folder("step2", fill) == tmp_path / "step2"

        def fails(folder):
            (folder / "config.json").write_text("{}")
            raise RuntimeError("disk full")

        with pytest.raises(RuntimeError):
            store.write_folder("step4", fails)
        assert not (tmp_path / "step4").exists() and not list(tmp_path.glob(".step4*"))
        store.write_folder("step2", lambda folder: (folder / "config.json").write_text('{"again": 1}'))
        assert sorted(p.name for p in (tmp_path / "step2").iterdir()) == ["config.json"]
    assert store.folders("step*") == [tmp_path / "step2"]
    with pytest.raises(ValueError):
        store.write_folder("parts", fill)

    killed = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from interp.io import write_folder\n"
         "def fill(tmp):\n    (tmp / 'half').write_text('x'); print('filling', flush=True); time.sleep(120)\n"
         "write_folder(sys.argv[1], fill)", str(tmp_path / "step8")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert killed.stdout.readline().strip() == "filling"
    finally:
        killed.kill()
        killed.wait()
    assert not (tmp_path / "step8").exists() and list(tmp_path.glob(".step8.*.tmp"))
    assert store.folders("step*") == [tmp_path / "step2"]
    with store.open(DEFINING):  # the killed writer's half folder is removed
        pass
    assert not list(tmp_path.glob(".step8*"))


def test_one_writer_at_a_time(tmp_path):
    with _store(tmp_path).open(DEFINING):
        message = _refused(_store(tmp_path))
        assert "is being written by another interp process" in message
    with _store(tmp_path).open(DEFINING):  # released when the first run ended
        pass


def test_atomic_writers_leave_no_temp_files(tmp_path):
    write_text(tmp_path / "a.txt", "héllo\n")
    copy_file(tmp_path / "a.txt", tmp_path / "sub" / "b.txt")
    write_folder(tmp_path / "f", lambda folder: (folder / "x").write_text("1"))
    assert (tmp_path / "sub" / "b.txt").read_text(encoding="utf-8") == "héllo\n"
    assert file_sha256(tmp_path / "sub" / "b.txt") == hashlib.sha256("héllo\n".encode()).hexdigest()
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]
    with pytest.raises(ValueError):
        _store(tmp_path).write_part("../escape", _frame(0))


def test_a_part_whose_facts_were_not_written_is_not_done(tmp_path, monkeypatch):
    import interp.store

    store = _store(tmp_path)
    with store.open(DEFINING):
        def no_room(path, data):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch:
            patch.setattr(interp.store, "write_json", no_room)
            with pytest.raises(OSError):
                store.write_part("a", _frame(0), {"k": 0})
    assert store.part_names() == []  # the json comes first: a part is never done without its facts


def test_atomic_path_is_whole_or_untouched(tmp_path):
    from interp.io import atomic_path

    target = tmp_path / "maps.npz"
    target.write_bytes(b"before")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed half-way")
    assert target.read_bytes() == b"before" and sorted(p.name for p in tmp_path.iterdir()) == ["maps.npz"]
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"after")
        assert target.read_bytes() == b"before"  # nothing renamed until the block ends
    assert target.read_bytes() == b"after" and sorted(p.name for p in tmp_path.iterdir()) == ["maps.npz"]


def test_attribution_failing_midway_leaves_no_maps(tmp_path, tiny_model_dirs, monkeypatch):
    """A run that fails while streaming its maps leaves no maps.npz (the archive used to be renamed into place anyway)."""
    from cli_helpers import runner

    import interp.attribution.run as attribution_run
    from interp.cli import app

    def broken(*args, **kwargs):
        yield from ()
        raise RuntimeError("failed half-way")

    monkeypatch.setattr(attribution_run, "attribute_batch", broken)
    out = tmp_path / "attr"
    with pytest.raises(RuntimeError, match="half-way"):
        runner.invoke(app, ["attribution", "--model", str(tiny_model_dirs["gpt2"]), "--prompt", "The capital of France is",
                            "--out", str(out), "--device", "cpu"], catch_exceptions=False)
    assert not (out / "maps.npz").exists() and not [p for p in out.iterdir() if ".tmp" in p.name]


def test_a_run_resumed_from_a_session_without_provenance_says_so(tmp_path):
    with _store(tmp_path).open(DEFINING):
        pass
    definition = json.loads((tmp_path / "config.json").read_text())
    del definition["provenance"]  # as written before provenance was kept
    (tmp_path / "config.json").write_text(json.dumps(definition))
    with _store(tmp_path).open(DEFINING):
        pass
    earlier = json.loads((tmp_path / "config.json").read_text())["provenance"]["earlier_sessions"]
    assert len(earlier) == 1 and earlier[0]["started"] is None and earlier[0]["command"] is None


#: the flat config.json of a LASER control run written before the store (the committed Gemma runs
#: until 2026-12-05; select_indices shortened)
FLAT_LASER_CONFIG = {
    "out": "/work/main/results/laser/gemma-3-270m/factual-controls", "model": "embedded:gemma-3-270m", "checkpoint": None,
    "task": "factual", "layers": "last-third", "matrices": ["mlp_in", "mlp_out"], "rhos": [0.9, 0.5, 0.25, 0.1, 0.05, 0.01, 0.005],
    "select_frac": 0.2, "n": None, "seed": 0, "batch_size": 64, "compose": 1, "kinds": ["lowrank"], "controls": True,
    "lm_cost": False, "lm_text": None, "lm_tokens": 512, "max_lm_loss_increase": None, "device": "cpu", "svd_cache_mb": 1024,
    "model_display": "embedded:gemma-3-270m", "layers_resolved": [12, 13, 14, 15, 16, 17], "n_prompts": 343, "n_skipped": 21,
    "skipped": {"multi_token_answer": 21}, "select_indices": [0, 5, 10, 18],
}


def test_a_flat_config_of_a_laser_run_before_the_store_reads_as_its_definition(tmp_path):
    """LASER runs written before the store have a flat config.json: it still reads (store.flat_config_reader)."""
    from interp.laser.run import run_store

    (tmp_path / "config.json").write_text(json.dumps(FLAT_LASER_CONFIG))
    definition = run_store(tmp_path).read_definition()
    assert definition.command == "laser-sweep" and definition.defining["task"] == "factual"
    assert definition.defining["rhos"] == FLAT_LASER_CONFIG["rhos"] and definition.info == FLAT_LASER_CONFIG
