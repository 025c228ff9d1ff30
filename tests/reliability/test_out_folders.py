"""The one output-folder rule, replayed through every command that writes a folder (issue 22).

A command writes into a new or empty folder, or a run of its own with the same defining options;
anything else (a model folder, another command's run, an eval of another task, other files,
``--out ""``) is one line, exit 2, before any model loads, and leaves the folder byte-identical
(not even a lock file). ``tiny`` and ``toy train`` hold the lock too; ``toy eval`` writes one file
per evaluation and refuses to replace a file holding another one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run

GSM_ROW = {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "3 + 4 = 7\n#### 7"}

#: command -> (its arguments before --out, the functions that would load a model or start the work)
COMMANDS = {
    "eval": (["eval", "--task", "factual", "--n", "2", "--model", "{gpt2}", "--device", "cpu"], ["interp.scoring.run.load_model"]),
    "laser-sweep": (
        ["laser-sweep", "--task", "factual", "--n", "4", "--layers", "1", "--rhos", "0.5", "--model", "{gpt2}", "--device", "cpu"],
        ["interp.laser.run.load_model"],
    ),
    "attribution": (["attribution", "--prompt", "The city is in", "--model", "{gpt2}", "--device", "cpu"],
                    ["interp.attribution.run.load_model"]),
    "checkpoint-sweep": (["checkpoint-sweep", "--model", "{steps}", "--steps", "all", "--task", "factual", "--n", "2", "--device", "cpu"],
                         ["interp.checkpoint_sweeps.run.open_source"]),
    "gsm8k": (["gsm8k", "--n", "1", "--n-shot", "0", "--data", "{gsm}", "--max-new-tokens", "2", "--model", "{gpt2}", "--device", "cpu"],
              ["interp.gsm8k.run.load_model"]),
    "toy train": (["toy", "train", "--task", "noisy-recall", "--steps", "2", "--device", "cpu"], ["interp.toy.train.train"]),
    "lm train": (["lm", "train", "--size", "tiny", "--steps", "2", "--set", 'corpus.sources=["facts"]', "--device", "cpu", "--no-progress"],
                 ["interp.lm.train.train"]),
    "tiny": (["tiny"], ["interp.models.tiny.make_tiny_model", "interp.models.tiny.make_tiny_checkpoints"]),
}


def _argv(name: str, out: str, inputs: dict[str, str]) -> list[str]:
    args = [a.format(**inputs) for a in COMMANDS[name][0]]
    return [*args, out] if name == "tiny" else [*args, "--out", out]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones included) by relative path -> sha256 of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def inputs(tiny_model_dirs, tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("out-folders")
    steps = root / "steps"
    for step in (0, 1):
        shutil.copytree(tiny_model_dirs["gpt2"], steps / f"step{step}")
    gsm = root / "gsm.jsonl"
    gsm.write_text(json.dumps(GSM_ROW) + "\n")
    return {"gpt2": str(tiny_model_dirs["gpt2"]), "steps": str(steps), "gsm": str(gsm)}


@pytest.fixture
def no_work(monkeypatch):
    """``no_work(name)``: loading a model (or starting the training) fails the test."""

    def guard(name: str) -> None:
        def forbidden(*args, **kwargs):
            raise AssertionError("the work started before the output folder was checked")

        for target in COMMANDS[name][1]:
            monkeypatch.setattr(target, forbidden)

    return guard


def _toy_run(folder: Path) -> Path:
    """A toy run with untrained checkpoints at steps 0 and 2 (tiny widths)."""
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=2), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    write_run_config(folder, cfg)
    for step in (0, 2):
        save_checkpoint(folder, step, ToyTransformer(cfg.model), cfg)
    return folder


@pytest.fixture(scope="module")
def model_folders(tiny_model_dirs, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("models")
    hf = shutil.copytree(tiny_model_dirs["llama"], root / "hf")
    return {"hf": hf, "toy run": _toy_run(root / "toy"), "toy step": _toy_run(root / "toy2") / "step2"}


# -- a model folder as --out: refused by every command, left byte-identical ------------------------

@pytest.mark.parametrize("kind", ["hf", "toy run", "toy step"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_out_a_model_folder_is_refused_and_left_byte_identical(name, kind, inputs, model_folders, no_work):
    no_work(name)
    folder = model_folders[kind]
    before = snapshot(folder)
    result = run(*_argv(name, str(folder), inputs))
    what = {"hf": "is a model folder (config.json, model.safetensors)", "toy run": "is a toy training run",
            "toy step": "is a toy model checkpoint"}[kind]
    if (name, kind) == ("toy train", "toy run"):  # its own kind of run: resumed when the options agree, else refused naming them
        what = "holds a toy training run with different options (data.seq_len was 16, now 256"
    assert_one_line_error(result, f"{folder} {what}", "use another")
    assert snapshot(folder) == before


# -- another command's run, another eval, other files -----------------------------------------------

@pytest.fixture(scope="module")
def runs(inputs, tmp_path_factory) -> dict[str, Path]:
    """A real eval run (factual, n 2) and a real checkpoint-sweep folder of the two tiny steps."""
    root = tmp_path_factory.mktemp("runs")
    made = {"eval": root / "eval", "checkpoint-sweep": root / "sweep"}
    for name, folder in made.items():
        result = run(*_argv(name, str(folder), inputs))
        assert result.exit_code == 0, result.output
    return made


@pytest.mark.parametrize("owner", ["eval", "checkpoint-sweep"])
@pytest.mark.parametrize("name", list(COMMANDS))
def test_out_another_commands_run_is_refused_naming_it(name, owner, inputs, runs, no_work):
    if name == owner:
        pytest.skip("a run of the command itself: see the same-command tests")
    no_work(name)
    folder = runs[owner]
    before = snapshot(folder)
    result = run(*_argv(name, str(folder), inputs))
    if name in ("tiny", "toy train"):  # they only start runs
        assert_one_line_error(result, str(folder), f"holds an interp {owner} run")
    else:
        assert_one_line_error(result, f"{folder} holds an interp {owner} run", f"not {name}; use another --out")
    assert snapshot(folder) == before


def test_eval_into_an_eval_of_another_task_or_model_is_refused(inputs, runs, tiny_model_dirs, no_work):
    no_work("eval")
    folder = runs["eval"]
    before = snapshot(folder)
    other_task = [a.replace("factual", "ioi") for a in _argv("eval", str(folder), inputs)]
    assert_one_line_error(run(*other_task), f"{folder} holds a run with different options", "--task was 'factual', now 'ioi'")
    other_model = [a.replace(inputs["gpt2"], str(tiny_model_dirs["gpt-neox"])) for a in _argv("eval", str(folder), inputs)]
    assert_one_line_error(run(*other_model), "--model was")
    assert snapshot(folder) == before


def test_the_same_eval_again_replaces_its_own_files(inputs, tmp_path):
    out = tmp_path / "eval"
    first = run(*_argv("eval", str(out), inputs))
    assert first.exit_code == 0, first.output
    results = pd.read_parquet(out / "results.parquet")
    again = run(*_argv("eval", str(out), inputs), "--batch-size", "1")  # how to run is not defining
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), results)
    assert json.loads((out / "config.json").read_text())["command"] == "eval"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_folder_of_other_files_is_refused_naming_them(name, inputs, tmp_path, no_work):
    no_work(name)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "results.parquet").write_text("not a table")
    result = run(*_argv(name, str(folder), inputs))
    assert_one_line_error(result, str(folder), "notes.txt, results.parquet")
    assert snapshot(folder) == {"notes.txt": hashlib.sha256(b"mine").hexdigest(),
                                "results.parquet": hashlib.sha256(b"not a table").hexdigest()}


@pytest.mark.parametrize("name", [*COMMANDS, "toy eval"])
def test_an_empty_out_is_refused_and_nothing_is_written_to_the_working_directory(name, inputs, tmp_path, monkeypatch, no_work):
    monkeypatch.chdir(tmp_path)
    if name == "toy eval":
        result = run("toy", "eval", "", "--n-sequences", "4", "--device", "cpu")
        assert_one_line_error(result)
    else:
        no_work(name)
        assert_one_line_error(run(*_argv(name, "", inputs)), "is empty (\"\")")
    assert list(tmp_path.iterdir()) == []


# -- one writer: tiny and toy train hold the lock as well ----------------------------------------------

@pytest.mark.parametrize("name", ["tiny", "toy train", "eval", "lm train"])
def test_a_second_writer_is_refused_naming_the_holder(name, lock_holder, inputs, no_work):
    no_work(name)
    folder, pid = lock_holder
    assert_one_line_error(run(*_argv(name, str(folder), inputs)), "being written by another interp process", f"PID {pid}")


def test_two_tiny_at_once_one_wins_the_other_is_refused(tmp_path):
    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "interp.cli", "tiny", str(out), "--n-ctx", "64"]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    codes = sorted(p.returncode for p in procs)
    assert codes == [0, 2], outputs
    refused = next(err for p, (_, err) in zip(procs, outputs) if p.returncode == 2).strip().splitlines()[-1]
    # the PID is named when the holder has written it (a few ms after taking the lock)
    assert "being written by another interp process" in refused or "is a model folder" in refused, refused
    from interp.models.loading import load_model

    assert load_model(str(out), device="cpu").n_layers == 2  # the winner's model, whole


# -- toy eval: one file per evaluation, another evaluation never replaces a file ----------------------

def test_toy_eval_with_another_seed_writes_its_own_file(tmp_path):
    toy = _toy_run(tmp_path / "run")
    first = run("toy", "eval", str(toy), "--n-sequences", "4", "--device", "cpu")
    assert first.exit_code == 0, first.output
    plain = (toy / "eval.json").read_bytes()
    seeded = run("toy", "eval", str(toy), "--n-sequences", "4", "--seed", "7", "--device", "cpu")
    assert seeded.exit_code == 0, seeded.output
    assert (toy / "eval.json").read_bytes() == plain
    assert json.loads((toy / "eval_seed7.json").read_text())["seed"] == 7
    assert json.loads(plain)["seed"] == 12345


def test_toy_eval_refuses_to_replace_a_record_of_another_evaluation(tmp_path, no_work, monkeypatch):
    toy = _toy_run(tmp_path / "run")
    assert run("toy", "eval", str(toy), "--n-sequences", "4", "--device", "cpu").exit_code == 0
    assert run("toy", "eval", str(toy), "--n-sequences", "4", "--device", "cpu").exit_code == 0  # the same evaluation: replaced
    before = snapshot(toy)  # (after the replacement: its provenance records the second run's times)
    monkeypatch.setattr("interp.models.loading.load_model", lambda *a, **k: pytest.fail("loaded before the record was checked"))
    result = run("toy", "eval", str(toy), "--n-sequences", "8", "--device", "cpu")
    assert_one_line_error(result, f"{toy / 'eval.json'} holds another evaluation", "--n-sequences was 4, now 8")
    (toy / "eval_noise0.5.json").write_text("my notes")
    result = run("toy", "eval", str(toy), "--n-sequences", "4", "--noise", "0.5", "--device", "cpu")
    assert_one_line_error(result, "eval_noise0.5.json exists and is not a toy eval record")
    assert (toy / "eval_noise0.5.json").read_text() == "my notes"
    after = snapshot(toy)
    assert {k: v for k, v in after.items() if k != "eval_noise0.5.json"} == before


# -- temporary files go on every failure -------------------------------------------------------------

def test_a_full_disk_while_writing_leaves_no_temp_file(inputs, tmp_path, monkeypatch):
    real = pd.DataFrame.to_parquet

    def half_then_full(self, path, *args, **kwargs):
        Path(path).write_bytes(b"PAR1 half a table")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_full)
    out = tmp_path / "eval"
    result = run(*_argv("eval", str(out), inputs))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "No space left on device" in result.stderr.strip().splitlines()[-1].split("\r")[-1]
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]
    assert not (out / "results.parquet").exists()
    monkeypatch.setattr(pd.DataFrame, "to_parquet", real)
    again = run(*_argv("eval", str(out), inputs))  # the same eval, with room again: it finishes
    assert again.exit_code == 0, again.output


def test_the_stores_toy_format_is_the_registrys():
    from interp.models.registry import TOY_FAMILY
    from interp.store import TOY_FORMAT

    assert TOY_FORMAT == TOY_FAMILY
