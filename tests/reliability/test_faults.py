"""Fault injection: failures a hostile user met, replayed through the CLI.

Each case must end as one ``error:`` line, exit 2, no traceback, before any model is loaded
(where the case is about the output folder), or, for the fused-tensor edits, succeed. Cases
already replayed in ``test_outputs.py`` (``--out`` a file for ``eval`` / ``laser-sweep``, the
lock, stale temp files, corrupt weights of a local folder and of a toy step) are not repeated
here; damaged sweep folders and task ``--n`` caps live in ``tests/checkpoint_sweeps`` and ``tests/tasks``.
"""

from __future__ import annotations

import errno
import json
import os
import pathlib
import shutil

import pytest
from cli_helpers import assert_one_line_error, run

GSM_ROW = {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "3 + 4 = 7\n#### 7"}


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs) -> str:
    return str(tiny_model_dirs["gpt2"])


@pytest.fixture(scope="module")
def steps_dir(tmp_path_factory, tiny_model_dirs) -> str:
    """A checkpoint folder of two ``step*/`` copies of the tiny GPT-2."""
    root = tmp_path_factory.mktemp("faults") / "steps"
    for step in (0, 1):
        shutil.copytree(tiny_model_dirs["gpt2"], root / f"step{step}")
    return str(root)


@pytest.fixture(scope="module")
def gsm_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("faults") / "gsm.jsonl"
    path.write_text(json.dumps(GSM_ROW) + "\n")
    return str(path)


@pytest.fixture
def toy_run(tmp_path):
    """A toy run with untrained checkpoints at steps 0 and 2 (tiny widths)."""
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=2), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    run_dir = tmp_path / "run"
    write_run_config(run_dir, cfg)
    for step in (0, 2):
        save_checkpoint(run_dir, step, ToyTransformer(cfg.model), cfg)
    return run_dir


# -- 1. output folders: checked before any model is loaded ---------------------------------------

#: command -> (arguments before --out, the functions that would load a model or start the work)
COMMANDS = {
    "eval": (["eval", "--task", "factual", "--n", "2", "--model", "{gpt2}", "--device", "cpu"], ["interp.scoring.run.load_model"]),
    "laser-sweep": (
        ["laser-sweep", "--task", "factual", "--n", "4", "--layers", "1", "--rhos", "0.5", "--model", "{gpt2}", "--device", "cpu"],
        ["interp.laser.run.load_model"],
    ),
    "checkpoint-sweep": (
        ["checkpoint-sweep", "--model", "{steps}", "--steps", "all", "--task", "factual", "--n", "2", "--device", "cpu"],
        ["interp.checkpoint_sweeps.run.open_source"],
    ),
    "attribution": (
        ["attribution", "--prompt", "The city is in", "--model", "{gpt2}", "--device", "cpu"], ["interp.attribution.run.load_model"],
    ),
    "gsm8k": (
        ["gsm8k", "--n", "1", "--n-shot", "0", "--data", "{gsm}", "--max-new-tokens", "2", "--model", "{gpt2}", "--device", "cpu"],
        ["interp.gsm8k.run.load_model"],
    ),
    "toy train": (["toy", "train", "--task", "noisy-recall", "--steps", "2", "--device", "cpu"], ["interp.toy.train.train"]),
}


@pytest.fixture
def no_work(monkeypatch):
    """``no_work(targets)``: loading a model (or starting training) fails the test."""

    def guard(targets: list[str]) -> None:
        def forbidden(*args, **kwargs):
            raise AssertionError("the work started before the output folder was checked")

        for target in targets:
            monkeypatch.setattr(target, forbidden)

    return guard


def _argv(name: str, out: str, gpt2: str, steps: str, gsm: str) -> list[str]:
    args, _ = COMMANDS[name]
    return [a.format(gpt2=gpt2, steps=steps, gsm=gsm) for a in args] + ["--out", out]


@pytest.mark.parametrize("name", ["checkpoint-sweep", "attribution", "gsm8k", "toy train"])
def test_out_naming_an_existing_file(name, gpt2_dir, steps_dir, gsm_file, tmp_path, no_work):
    no_work(COMMANDS[name][1])
    target = tmp_path / "a-file"
    target.write_text("x")
    result = run(*_argv(name, str(target), gpt2_dir, steps_dir, gsm_file))
    assert_one_line_error(result, str(target))
    assert target.read_text() == "x"


def test_tiny_out_naming_an_existing_file(tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    assert_one_line_error(run("tiny", str(target)), "is an existing file")


@pytest.mark.parametrize("command", [["tiny"], ["toy", "train", "--task", "noisy-recall", "--steps", "2", "--device", "cpu", "--out"]])
def test_fresh_folder_commands_never_write_over_a_folder(command, tmp_path):
    folder = tmp_path / "taken"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    assert_one_line_error(run(*command, str(folder)), str(folder), "not an empty folder")
    assert [p.name for p in folder.iterdir()] == ["config.json"] and (folder / "config.json").read_text() == "{}"
    assert run("tiny", str(tmp_path / "empty")).exit_code == 0  # a new (or empty) folder is fine


@pytest.mark.parametrize("name", list(COMMANDS))
def test_out_below_a_file_cannot_be_written(name, gpt2_dir, steps_dir, gsm_file, tmp_path, no_work):
    no_work(COMMANDS[name][1])
    parent = tmp_path / "file"
    parent.write_text("x")
    result = run(*_argv(name, str(parent / "sub"), gpt2_dir, steps_dir, gsm_file))
    assert_one_line_error(result, f"cannot write to {parent / 'sub'}")


@pytest.fixture
def refuse_writes(monkeypatch):
    """``refuse_writes(code)``: the file system refuses the first write into an output folder (the
    write check's probe) with ``OSError(code)``, as a full disk or a read-only mount would; running
    as root, permissions alone cannot make a folder unwritable, so the refusal is injected."""
    real = pathlib.Path.write_bytes

    def install(code: int) -> None:
        def write_bytes(self, data):
            if self.name.startswith(".interp-write-check"):
                raise OSError(code, os.strerror(code), str(self))
            return real(self, data)

        monkeypatch.setattr(pathlib.Path, "write_bytes", write_bytes)

    return install


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES], ids=["full-disk", "read-only", "no-permission"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_refused_first_write_is_one_line_before_the_work(name, code, gpt2_dir, steps_dir, gsm_file, tmp_path, no_work, refuse_writes):
    no_work(COMMANDS[name][1])
    refuse_writes(code)
    out = tmp_path / "out"
    result = run(*_argv(name, str(out), gpt2_dir, steps_dir, gsm_file))
    assert_one_line_error(result, f"cannot write to {out}", os.strerror(code))


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS], ids=["full-disk", "read-only"])
def test_toy_eval_into_an_unwritable_run_is_one_line_before_loading(toy_run, code, no_work, refuse_writes):
    no_work(["interp.models.loading.load_model"])
    refuse_writes(code)
    result = run("toy", "eval", str(toy_run), "--n-sequences", "4", "--device", "cpu")
    assert_one_line_error(result, f"cannot write to {toy_run}")
    assert not list(toy_run.rglob("eval*.json"))


def test_tiny_into_a_read_only_folder(tmp_path, refuse_writes):
    refuse_writes(errno.EROFS)
    assert_one_line_error(run("tiny", str(tmp_path / "m")), "cannot write to", "Read-only file system")


# -- 2. corrupt weights and configs: one line naming the file; toy eval never falls back -------------

def test_garbled_config_of_a_local_model_names_the_file(gpt2_dir, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(gpt2_dir, folder)
    (folder / "config.json").write_text("{not json")
    result = run("eval", "--task", "factual", "--n", "2", "--model", str(folder), "--out", str(tmp_path / "out"), "--device", "cpu")
    assert_one_line_error(result, str(folder / "config.json"), "not readable JSON")


@pytest.mark.parametrize(
    ("damage", "needle"), [("empty", "step2/model.safetensors is unreadable"), ("missing", "step2/model.safetensors is missing")]
)
def test_toy_eval_does_not_fall_back_to_an_earlier_step(toy_run, damage, needle):
    weights = toy_run / "step2" / "model.safetensors"
    if damage == "empty":
        weights.write_bytes(b"")
    else:
        weights.unlink()
    result = run("toy", "eval", str(toy_run), "--n-sequences", "4", "--device", "cpu")
    assert_one_line_error(result, needle)
    assert not list(toy_run.rglob("eval*.json"))  # nothing was evaluated (no silent step0)
    # asking for the earlier step explicitly is allowed
    asked = run("toy", "eval", str(toy_run), "--step", "0", "--n-sequences", "4", "--device", "cpu")
    assert asked.exit_code == 0, asked.output
    assert (toy_run / "eval_step0.json").is_file()


# -- 4. one writer per folder, for the sweeps as well ------------------------------------------------

def test_a_second_writer_stops_at_once_naming_the_holder(lock_holder, gpt2_dir, steps_dir, gsm_file, no_work):
    folder, pid = lock_holder
    for name in ("laser-sweep", "checkpoint-sweep", "attribution", "gsm8k"):
        no_work(COMMANDS[name][1])
        result = run(*_argv(name, str(folder), gpt2_dir, steps_dir, gsm_file))
        assert_one_line_error(result, str(folder), "being written by another interp process", f"PID {pid}")


def test_a_live_writers_temp_file_survives_a_later_run(lock_holder, steps_dir, tmp_path):
    """A sweep starting in a folder keeps another live process's temp file and removes a dead one's."""
    folder, pid = lock_holder
    out = tmp_path / "sweep"
    out.mkdir()
    live = out / f".results.parquet.{pid}.tmp.parquet"
    live.write_text("being written")
    dead = out / ".summary.parquet.999999999.tmp.parquet"
    dead.write_text("left by a killed run")
    result = run(*_argv("checkpoint-sweep", str(out), "", steps_dir, ""))
    assert result.exit_code == 0, result.output
    assert live.exists() and not dead.exists()


# -- 5. several edits of one fused tensor compose ---------------------------------------------------

def test_two_edits_of_gpt2_fused_attention_compose_in_eval(gpt2_dir, tmp_path):
    out = tmp_path / "out"
    result = run("eval", "--task", "factual", "--n", "2", "--model", gpt2_dir, "--device", "cpu", "--out", str(out),
                 "--laser", "0:attn_q:0.5", "--laser", "0:attn_k:0.5")
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert config["edits"] == ["0:attn_q:lowrank:0.5", "0:attn_k:lowrank:0.5"]


# -- 7. --set names field, value and type; a directory where a file is expected says so ---------------

def test_set_error_names_field_value_and_type(tmp_path):
    result = run("toy", "train", "--task", "noisy-recall", "--set", "model.d_model=abc", "--out", str(tmp_path / "t"))
    assert_one_line_error(result, "model.d_model", "'abc'", "integer")
    assert not (tmp_path / "t").exists()


@pytest.mark.parametrize("which", ["prompts", "lm-text", "gsm8k-data"])
def test_a_directory_where_a_file_is_expected(which, gpt2_dir, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    out = str(tmp_path / "out")
    if which == "prompts":
        args = ["eval", "--task", f"prompts:{folder}", "--model", gpt2_dir, "--device", "cpu", "--out", out]
    elif which == "lm-text":
        args = ["laser-sweep", "--task", "factual", "--n", "4", "--layers", "1", "--rhos", "0.5", "--controls",
                "--lm-text", str(folder), "--model", gpt2_dir, "--device", "cpu", "--out", out]
    else:
        args = ["gsm8k", "--n", "1", "--data", str(folder), "--model", gpt2_dir, "--device", "cpu", "--out", out]
    assert_one_line_error(run(*args), str(folder), "is a directory")


@pytest.mark.parametrize("command", ["eval", "laser-sweep", "checkpoint-sweep"])
@pytest.mark.parametrize("task, needle", [
    ("prompts:{folder}", "is a directory"), ("prompts:{missing}", "does not exist"), ("gsm8k:{folder}", "is a directory"),
    ("gsm8k:{missing}", "does not exist"), ("ioii", "unknown task"),
])
def test_task_files_are_checked_before_the_model_loads(command, task, needle, gpt2_dir, steps_dir, gsm_file, tmp_path, no_work):
    no_work(COMMANDS[command][1])
    folder = tmp_path / "a-folder"
    folder.mkdir()
    args = [a.format(gpt2=gpt2_dir, steps=steps_dir, gsm=gsm_file) for a in COMMANDS[command][0]]
    args[args.index("--task") + 1] = task.format(folder=folder, missing=tmp_path / "missing.jsonl")
    assert_one_line_error(run(*args, "--out", str(tmp_path / "out")), needle)
    assert not (tmp_path / "out").exists()  # nor is the output folder made
