"""Output folders: checked before any work, one writer at a time, temp files of live writers kept."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from cli_helpers import assert_one_line_error, run

from interp.errors import UsageError
from interp.io import output_dir, output_lock, remove_stale_temp, temp_path


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs):
    return str(tiny_model_dirs["gpt2"])


@pytest.mark.parametrize("command", [
    ["eval", "--task", "factual", "--n", "2"],
    ["laser-sweep", "--task", "factual", "--n", "4", "--layers", "1", "--rhos", "0.5"],
])
def test_out_naming_a_file_is_one_line_before_loading(command, gpt2_dir, tmp_path, monkeypatch):
    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded before the output folder was checked")

    for module in ("interp.scoring.run", "interp.laser.run"):  # where the commands look the loader up
        monkeypatch.setattr(f"{module}.load_model", no_load)
    target = tmp_path / "a-file"
    target.write_text("x")
    result = run(*command, "--model", gpt2_dir, "--out", str(target), "--device", "cpu")
    assert_one_line_error(result, "is an existing file")


def test_unwritable_out_is_one_line(gpt2_dir, tmp_path):
    parent = tmp_path / "file"
    parent.write_text("x")
    result = run("eval", "--task", "factual", "--n", "2", "--model", gpt2_dir, "--out", str(parent / "sub"), "--device", "cpu")
    assert_one_line_error(result, "cannot write to")
    result = run("tiny", str(parent / "sub"))
    assert_one_line_error(result, "cannot write to")


def test_one_writer_per_folder(lock_holder, gpt2_dir):
    folder, pid = lock_holder
    with pytest.raises(UsageError, match=f"another interp process \\(PID {pid}\\)"), output_lock(folder):
        pass
    result = run("eval", "--task", "factual", "--n", "2", "--model", gpt2_dir, "--out", str(folder), "--device", "cpu")
    assert_one_line_error(result, "being written by another interp process", str(pid))


def test_the_lock_is_released_when_its_holder_dies(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import sys; from interp.io import output_lock; from pathlib import Path\n"
                               "with output_lock(Path(sys.argv[1])):\n    print('locked', flush=True); sys.stdin.read()", str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    with output_lock(tmp_path):  # the OS dropped the dead holder's lock
        pass


def test_stale_temp_files_only(tmp_path):
    mine = temp_path(tmp_path / "results.parquet")
    mine.write_text("live")
    dead = tmp_path / ".summary.json.999999999.tmp.json"
    dead.write_text("stale")
    legacy = tmp_path / ".results.parquet.tmp"
    legacy.write_text("stale")
    removed = remove_stale_temp(tmp_path)
    assert mine.exists() and not dead.exists() and not legacy.exists()
    assert set(removed) == {dead, legacy}
    assert str(os.getpid()) in mine.name


def test_output_dir_creates_and_checks(tmp_path):
    made = output_dir(tmp_path / "a" / "b")
    assert made.is_dir() and not list(made.iterdir())
    time.sleep(0)  # nothing left behind by the write check


@pytest.mark.parametrize("damage", ["truncate", "empty"])
def test_corrupt_weights_of_a_local_folder_are_one_line(tiny_model_dirs, tmp_path, damage):
    import shutil

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dirs["gpt2"], folder)
    weights = next(folder.glob("*.safetensors"))
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 3] if damage == "truncate" else b"")
    result = run("eval", "--task", "factual", "--n", "2", "--model", str(folder), "--out", str(tmp_path / "out"), "--device", "cpu")
    assert_one_line_error(result, f"could not load the model folder {folder}", "corrupt")


def test_corrupt_toy_weights_are_one_line_naming_the_file(tmp_path):
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=2), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    write_run_config(tmp_path / "run", cfg)
    for step in (0, 2):
        save_checkpoint(tmp_path / "run", step, ToyTransformer(cfg.model), cfg)
    (tmp_path / "run" / "step2" / "model.safetensors").write_bytes(b"garbage")
    result = run("toy", "eval", str(tmp_path / "run"), "--n-sequences", "4", "--device", "cpu")
    assert_one_line_error(result, "step2/model.safetensors is unreadable")
    (tmp_path / "run" / "step2" / "config.json").write_text("{not json")
    result = run("toy", "eval", str(tmp_path / "run"), "--n-sequences", "4", "--device", "cpu")
    assert_one_line_error(result, "step2/config.json is not readable JSON")  # never silently an earlier step
