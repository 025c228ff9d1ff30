"""`interp toy train` / `interp toy eval` end to end on a tiny run; bad input exits 2 with one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from interp.cli import app

TINY_SETS = [
    "--set", "model.d_model=32", "--set", "model.d_mlp=64", "--set", "model.n_ctx=32", "--set", "data.seq_len=32",
    "--set", "optim.batch_size=8", "--set", "eval_sequences=8",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("toy") / "run"
    result = CliRunner().invoke(
        app, ["toy", "train", "--task", "noisy-recall", "--config", "chen", "--steps", "4", "--eval-every", "2",
              "--seed", "3", "--out", str(out), *TINY_SETS],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["step"] == 4
    return out


def test_train_writes_a_run(run_dir):
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "config.json", "metrics.jsonl", "step0", "step1", "step2", "step4",
    ]
    cfg = json.loads((run_dir / "config.json").read_text())
    assert cfg["seed"] == 3 and cfg["model"]["d_model"] == 32 and cfg["optim"]["steps"] == 4


@pytest.mark.parametrize(
    "args, arch, optimizer, trigger_output",
    [
        (["--layers", "1", "--arch", "standard"], "standard", "adamw", "uniform"),
        (["--layers", "1"], "standard", "adamw", "uniform"),  # the birth preset's one-layer default
        (["--layers", "1", "--arch", "simplified", "--set", "data.trigger_output=exclude_trigger"],
         "simplified", "sgd", "exclude_trigger"),
    ],
)
def test_train_one_layer_arch(tmp_path, args, arch, optimizer, trigger_output):
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["toy", "train", "--task", "trigger-bigram", "--config", "birth", "--steps", "2", "--out", str(out),
              *args, *TINY_SETS],
    )
    assert result.exit_code == 0, result.output
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["arch"] == arch and cfg["optim"]["optimizer"] == optimizer
    assert cfg["data"]["trigger_output"] == trigger_output and cfg["model"]["n_layers"] == 1
    assert cfg["model"]["mlp"] == [arch == "standard"]


@pytest.mark.parametrize(
    ("extra", "name"),
    [
        ([], "eval.json"),
        (["--drop-mlp", "1"], "eval_1-mlp_out-zero.json"),
        (["--laser", "1:mlp_in:0.25", "--noise", "0.5"], "eval_1-mlp_in-lowrank-0.25_noise0.5.json"),
        (["--edit", "1:mlp_out:remove_top:2", "--step", "2"], "eval_step2_1-mlp_out-remove_top-2.json"),
    ],
)
def test_eval_prints_and_writes_one_file_per_evaluation(run_dir, extra, name):
    result = CliRunner().invoke(app, ["toy", "eval", str(run_dir), "--n-sequences", "8", *extra])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(printed) == {"icl_acc", "p_noise", "p_correct"}
    written = json.loads((run_dir / name).read_text())
    assert {k: written[k] for k in printed} == printed
    edited = any(a.startswith("--") and a not in ("--noise", "--step") for a in extra)
    assert written["n_matrices_edited"] == (1 if edited else 0)


def test_an_edited_eval_never_overwrites_the_unedited_one(run_dir):
    for extra in ([], ["--drop-mlp", "1"]):
        assert CliRunner().invoke(app, ["toy", "eval", str(run_dir), "--n-sequences", "8", *extra]).exit_code == 0
    plain = json.loads((run_dir / "eval.json").read_text())
    dropped = json.loads((run_dir / "eval_1-mlp_out-zero.json").read_text())
    assert plain["edits"] == [] and dropped["edits"] == ["1:mlp_out:zero"]


def test_eval_of_a_step_folder(run_dir):
    result = CliRunner().invoke(app, ["toy", "eval", str(run_dir / "step2"), "--n-sequences", "8"])
    assert result.exit_code == 0, result.output
    assert (run_dir / "step2" / "eval.json").is_file()


@pytest.mark.parametrize(
    "args",
    [
        ["train", "--task", "copying", "--out", "{tmp}/a"],
        ["train", "--task", "noisy-recall", "--config", "gpt", "--out", "{tmp}/b"],
        ["train", "--task", "noisy-recall", "--noise", "1.0", "--out", "{tmp}/c"],
        ["train", "--task", "noisy-recall", "--noise", "-0.5", "--out", "{tmp}/c"],
        ["train", "--task", "trigger-bigram", "--config", "birth", "--set", "data.n_triggers=70", "--out", "{tmp}/d"],
        ["train", "--task", "noisy-recall", "--set", "model.nope=1", "--out", "{tmp}/e"],
        ["train", "--task", "trigger-bigram", "--config", "birth", "--arch", "gpt", "--out", "{tmp}/f"],
        ["train", "--task", "noisy-recall", "--set", "data.trigger_output=never", "--out", "{tmp}/g"],
        ["train", "--task", "trigger-bigram", "--config", "birth", "--layers", "1", "--set", "model.layernorm=false",
         "--out", "{tmp}/h"],
        ["eval", "{tmp}"],
        ["eval", "{run}", "--drop-mlp", "5"],
        ["eval", "{run}", "--laser", "1:mlp_in"],
        ["eval", "{run}", "--noise", "1.5"],
        ["eval", "{run}", "--step", "3"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, tmp_path, run_dir):
    args = [a.replace("{tmp}", str(tmp_path)).replace("{run}", str(run_dir)) for a in args]
    result = CliRunner().invoke(app, ["toy", *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].lower().startswith("error"), result.output
    assert not (tmp_path / "a").exists()
