"""The CLI through typer's runner: happy paths and one-line errors with exit code 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, run


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "tiny-gpt2"
    result = run("tiny", str(out), "--arch", "gpt2")
    assert result.exit_code == 0, result.output
    return out


def test_eval_factual_writes_the_run_folder(tiny_dir, tmp_path):
    out = tmp_path / "run"
    result = run("eval", "--model", str(tiny_dir), "--task", "factual", "--n", "20", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "results.parquet")
    for col in ("prompt", "answer", "p_answer", "p_the", "log_ratio", "rank", "top1"):
        assert col in frame
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) >= {"n_prompts", "n_skipped", "mean_p_answer", "mean_p_the", "mean_log_ratio", "top1_acc"}
    assert summary["n_prompts"] == len(frame) <= 20
    assert summary["mean_p_answer"] == pytest.approx(frame["p_answer"].mean())
    assert json.loads((out / "config.json").read_text())["task"] == "factual"
    assert (out / "p_the_vs_p_answer.png").stat().st_size > 1000


def test_eval_ioi_adds_s_columns(tiny_dir, tmp_path):
    out = tmp_path / "ioi"
    result = run("eval", "--model", str(tiny_dir), "--task", "ioi", "--n", "12", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "results.parquet")
    assert {"p_s", "logit_diff"} <= set(frame.columns) and len(frame) == 12


def test_eval_prompts_file(tiny_dir, tmp_path):
    path = tmp_path / "mine.jsonl"
    path.write_text('{"prompt": "The city is located in", "answer": " the"}\n')
    result = run("eval", "--model", str(tiny_dir), "--task", f"prompts:{path}", "--out", str(tmp_path / "o"))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(tmp_path / "o" / "results.parquet")
    assert frame["p_answer"].iloc[0] == pytest.approx(frame["p_the"].iloc[0])


def test_predict_prints_top_k(tiny_dir):
    result = run("predict", "--model", str(tiny_dir), "--top-k", "3", "The city is located in")
    assert result.exit_code == 0, result.output
    assert "probability" in result.output and result.output.count("│") >= 3 * 4


def test_models_lists_embedded_and_schedule():
    result = run("models")
    assert result.exit_code == 0, result.output
    assert "embedded:smollm2-135m" in result.output and "143000" in result.output


def test_tiny_steps(tmp_path):
    result = run("tiny", str(tmp_path / "ckpts"), "--arch", "gpt-neox", "--steps", "0,1,2,4")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "ckpts").iterdir()) == ["step0", "step1", "step2", "step4"]


def test_error_unknown_task(tiny_dir, tmp_path):
    assert_one_line_error(run("eval", "--model", str(tiny_dir), "--task", "nope", "--out", str(tmp_path)), "unknown task")


def test_error_unknown_model_offline(tmp_path):
    result = run("eval", "--model", "nobody/no-such-model", "--task", "factual", "--out", str(tmp_path))
    assert_one_line_error(result, "embedded:")


def test_error_checkpoint_not_in_schedule(tmp_path):
    result = run("eval", "--model", "EleutherAI/pythia-70m", "--checkpoint", "1234", "--task", "ioi", "--out", str(tmp_path))
    assert_one_line_error(result, "1000 or 2000")


def test_error_checkpoint_on_non_pythia(tmp_path):
    result = run("predict", "--model", "gpt2", "--checkpoint", "1000", "hello")
    assert_one_line_error(result, "checkpoints")


def test_error_malformed_prompts_file(tiny_dir, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "a", "answer": " b"}\n{"prompt": "no answer here"}\n')
    result = run("eval", "--model", str(tiny_dir), "--task", f"prompts:{path}", "--out", str(tmp_path / "o"))
    assert_one_line_error(result, ":2:")


def test_error_folder_not_a_model(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("predict", "--model", str(tmp_path / "empty"), "hi"), "not a model folder")


def test_error_bad_option_value(tiny_dir):
    assert_one_line_error(run("predict", "--model", str(tiny_dir), "--top-k", "0", "hi"), "--top-k")


def test_eval_summary_by_relation(tiny_model_dirs, tmp_path):
    out = tmp_path / "rel"
    result = run("eval", "--model", str(tiny_model_dirs["gpt2"]), "--task", "factual", "--relations", "located_in,currency",
                     "--out", str(out), "--device", "cpu")
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["by_relation"]) == {"located_in", "currency"}
    assert sum(v["n_prompts"] for v in summary["by_relation"].values()) == summary["n_prompts"]
    assert summary["n_skipped"] == 0 and "mean_logp_answer_full" in summary and "exact_acc" in summary
