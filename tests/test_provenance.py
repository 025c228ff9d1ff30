"""Every command that writes a run folder records what made it (``provenance`` in its definition,
:func:`interp.io.provenance`), and ``interp show DIR`` reads it back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import assert_one_line_error, assert_provenance, run

from interp.io import called_as, invocation, provenance

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs):
    return str(tiny_model_dirs["gpt2"])


def _definition(folder: Path, name: str = "config.json") -> dict:
    return json.loads((folder / name).read_text())


@pytest.mark.parametrize("command, definition", [
    (["eval", "--task", "factual", "--n", "3"], "config.json"),
    (["laser-sweep", "--task", "factual", "--n", "6", "--layers", "1", "--rhos", "0.5"], "config.json"),
    (["attribution", "--prompt", "The cat sat on the mat.", "--layers", "1", "--ig-steps", "2"], "config.json"),
])
def test_model_commands_record_provenance(command, definition, gpt2_dir, tmp_path):
    out = tmp_path / "run"
    result = run(*command, "--model", gpt2_dir, "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert_provenance(_definition(out, definition), f"interp {command[0]}")


def test_checkpoint_sweep_records_provenance(tiny_steps_dir, tmp_path):
    out = tmp_path / "sweep"
    result = run("checkpoint-sweep", "--model", str(tiny_steps_dir), "--steps", "0,1", "--task", "factual", "--n", "3",
                 "--device", "cpu", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert_provenance(_definition(out, "sweep.json"), "interp checkpoint-sweep")


def test_toy_train_and_eval_record_provenance(tmp_path):
    out = tmp_path / "toy"
    result = run("toy", "train", "--task", "noisy-recall", "--config", "chen", "--steps", "2", "--eval-every", "1",
                 "--set", "model.d_model=16", "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert_provenance(_definition(out), "interp toy train")
    result = run("toy", "eval", str(out), "--n-sequences", "4", "--device", "cpu")
    assert result.exit_code == 0, result.output
    (eval_file,) = out.glob("eval*.json")
    assert_provenance(json.loads(eval_file.read_text()), "interp toy eval")


def test_lm_train_records_provenance(tmp_path):
    from tests.lm.conftest import cli_sets

    out = tmp_path / "lm"
    result = run("lm", "train", "--out", str(out), "--size", "tiny", "--steps", "2", *cli_sets(), "--device", "cpu", "--no-progress")
    assert result.exit_code == 0, result.output
    assert_provenance(_definition(out, "train.json"), "interp lm train")


def test_a_resumed_run_keeps_the_earlier_sessions(gpt2_dir, tmp_path):
    out = tmp_path / "sweep"
    args = ["laser-sweep", "--model", gpt2_dir, "--task", "factual", "--n", "6", "--layers", "1", "--device", "cpu", "--out", str(out)]
    assert run(*args, "--rhos", "0.5").exit_code == 0
    first = _definition(out)["provenance"]
    assert "earlier_sessions" not in first
    assert run(*args, "--rhos", "0.5").exit_code == 0
    second = _definition(out)["provenance"]
    assert [s["started"] for s in second["earlier_sessions"]] == [first["started"]]


def test_the_git_state_of_a_checkout_is_recorded():
    stamp = provenance("2026-01-01T00:00:00+00:00")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("not run from a git checkout")
    assert stamp["git_commit"] == head.stdout.strip()
    assert isinstance(stamp["git_dirty"], bool)
    assert stamp["finished"] is None  # still running


def test_an_api_call_is_recorded_as_the_call():
    with called_as("interp.evaluate(model='m', task='ioi')"):
        assert invocation() == "interp.evaluate(model='m', task='ioi')"
    assert invocation() != "interp.evaluate(model='m', task='ioi')"


def test_the_command_line_of_a_script_is_recorded(tmp_path):
    script = tmp_path / "s.py"
    script.write_text("from interp.io import invocation; print(invocation())")
    out = subprocess.run([sys.executable, str(script), "--n", "3 words"], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith(f"{script} --n '3 words'")


def test_show_prints_command_code_machine_and_summary(gpt2_dir, tmp_path):
    out = tmp_path / "run"
    assert run("eval", "--model", gpt2_dir, "--task", "factual", "--n", "3", "--out", str(out), "--device", "cpu").exit_code == 0
    result = run("show", str(out))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{out}: an interp eval run (config.json)"
    stamp = _definition(out)["provenance"]
    assert f"command: {stamp['command']}" in lines
    assert any(line.startswith("code: interp ") for line in lines)
    assert any(line.startswith("machine: cpu, float32, ") for line in lines)
    summary = json.loads((out / "summary.json").read_text())
    assert f"n_prompts={summary['n_prompts']}" in lines[-1]


def test_show_a_folder_without_a_run_is_one_line(tmp_path):
    assert_one_line_error(run("show", str(tmp_path)), "holds no run definition")
    assert_one_line_error(run("show", str(tmp_path / "missing")), "is not a folder")


def test_dirty_means_uncommitted_code_not_results(tmp_path):
    """A checkout whose results are being regenerated is not dirty; one with an edited module is."""
    if subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("not run from a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    probe = "import json; from interp.io import provenance; print(json.dumps(provenance('t')))"

    def dirty() -> bool:
        out = subprocess.run([sys.executable, "-c", probe], cwd=clone, capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "PYTHONPATH": str(clone)}).stdout
        return json.loads(out)["git_dirty"]

    assert dirty() is False
    (clone / "README.md").write_text("edited")
    assert dirty() is False
    with (clone / "interp" / "errors.py").open("a") as f:
        f.write("\n# edited\n")
    assert dirty() is True


def test_a_python_call_is_recorded_as_the_call(gpt2_dir, tmp_path):
    import interp

    out = tmp_path / "api"
    interp.laser_sweep(gpt2_dir, task="factual", n=6, layers="1", rhos="0.5", out=str(out), device="cpu")
    stamp = assert_provenance(_definition(out), "interp.laser_sweep(")
    assert f"out={str(out)!r}" in stamp["command"] and "rhos='0.5'" in stamp["command"]


def test_show_names_the_analysis_that_wrote_a_folder(tmp_path):
    from interp.io import called_as, now, provenance, write_json

    with called_as("python analyses/remove_top_pretrained.py --models smollm2-135m"):
        write_json(tmp_path / "config.json", {"place": "28:mlp_in", "provenance": provenance(now(), finished=now())})
    result = run("show", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"{tmp_path}: an analysis (analyses/remove_top_pretrained.py) run (config.json)"
