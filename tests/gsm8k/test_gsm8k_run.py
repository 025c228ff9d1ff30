"""``interp gsm8k`` end to end on a tiny model: the run folder, several edits, resuming after a
kill, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from cli_helpers import assert_one_line_error, assert_provenance, run

from interp.generate.greedy import Generator
from interp.gsm8k.run import RESULT_COLUMNS, GSM8KRun, run_gsm8k
from interp.gsm8k.summary import wilson
from interp.models.spec import ModelSpec
from interp.tasks import gsm8k_readout as gsm


def _args(model: str, test: str, out: Path, *extra: str) -> list[str]:
    return ["gsm8k", "--model", model, "--data", test, "--n-shot", "2", "--max-new-tokens", "6",
            "--batch-size", "2", "--device", "cpu", "--out", str(out), *extra]


def test_end_to_end_three_problems(tiny_llama_1k, gsm_files, gsm_rows, tmp_path):
    test, _ = gsm_files
    out = tmp_path / "run"
    result = run(*_args(tiny_llama_1k, test, out))
    assert result.exit_code == 0, result.output
    assert "baseline: accuracy" in result.output
    frame = pd.read_parquet(out / "results.parquet")
    assert list(frame.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert list(frame["id"]) == [0, 1, 2]
    assert list(frame["gold"]) == ["7", "24", "1000"]
    assert list(frame["question"]) == [r["question"] for r in gsm_rows]
    assert (frame["n_generated_tokens"] >= 1).all() and (frame["n_generated_tokens"] <= 6).all()
    expected_pred = [gsm.extract_answer(g) for g in frame["generation"]]
    assert [None if pd.isna(p) else p for p in frame["pred"]] == expected_pred
    assert list(frame["correct"]) == [p == g for p, g in zip(expected_pred, frame["gold"])]

    summary = json.loads((out / "summary.json").read_text())
    k = int(frame["correct"].sum())
    assert summary["n"] == 3 and summary["n_correct"] == k
    assert summary["accuracy"] == pytest.approx(k / 3)
    assert (summary["ci_low"], summary["ci_high"]) == pytest.approx(wilson(k, 3))
    assert summary["tokens_per_s"] > 0 and summary["edits"] == []

    config = json.loads((out / "config.json").read_text())
    assert GSM8KRun.from_dict(config).n_shot == 2
    assert_provenance(config, "interp gsm8k")
    assert config["exemplar_sources"] == ["wei", "wei"]
    prompts = [json.loads(line) for line in (out / "prompts.jsonl").read_text().splitlines()]
    few_shot = gsm.FewShotPrompt(tuple(gsm.wei_exemplars()[:2]))
    assert [p["prompt"] for p in prompts] == [few_shot.prompt(r["question"]) for r in gsm_rows]
    assert config["prefix"] == few_shot.prefix
    assert not (out / "summary.parquet").exists()


def test_prompts_are_tokenized_whole(tiny_llama_1k, gsm_rows, gsm_files):
    from interp.gsm8k.run import build_prompts
    from interp.models.loading import load_model

    model = load_model(tiny_llama_1k, device="cpu")
    problems = gsm.load_split(gsm_files[0], "test")
    exemplars = tuple(gsm.wei_exemplars()[:2])
    prompts = build_prompts(model, problems, exemplars, 8)
    for i, problem in enumerate(problems):
        whole = model.tokenizer.encode_prompt(gsm.FewShotPrompt(exemplars).prompt(problem.question))
        assert list(prompts.prefix_ids + prompts.suffix_ids[i]) == whole
    assert len(prompts.prefix_ids) > 100


def test_several_edits_give_one_row_each(tiny_llama_1k, gsm_files, tmp_path):
    test, _ = gsm_files
    out = tmp_path / "edits"
    result = run(*_args(tiny_llama_1k, test, out, "--laser", "0:mlp_in:0.5", "--laser", "0:mlp_in:0.1",
                        "--edit", "1:mlp_out:zero"))
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "summary.parquet")
    assert list(table["edit"]) == ["baseline", "0:mlp_in:lowrank:0.5", "0:mlp_in:lowrank:0.1", "1:mlp_out:zero"]
    assert (table["n"] == 3).all()
    assert (out / "accuracy_by_edit.png").stat().st_size > 0
    frame = pd.read_parquet(out / "results.parquet")
    assert len(frame) == 12 and frame.groupby("edit")["id"].apply(list).map(sorted).map(tuple).nunique() == 1
    assert (table["n_matrices_edited"] == [0, 1, 1, 1]).all()
    summary = json.loads((out / "summary.json").read_text())
    assert [c["edit"] for c in summary["configs"]] == list(table["edit"])


def test_laser_grid_runs_every_config(tiny_llama_1k, gsm_files, tmp_path):
    test, _ = gsm_files
    out = tmp_path / "grid"
    result = run(*_args(tiny_llama_1k, test, out, "--n", "2", "--laser-grid", "--layers", "1",
                        "--matrices", "mlp_in,mlp_out", "--rhos", "0.5"))
    assert result.exit_code == 0, result.output
    table = pd.read_parquet(out / "summary.parquet")
    assert list(table["edit"]) == ["baseline", "1:mlp_in:lowrank:0.5", "1:mlp_out:lowrank:0.5"]


def test_train_exemplars_come_from_the_train_file_next_to_data(tiny_llama_1k, gsm_files, tmp_path):
    test, _ = gsm_files
    out = tmp_path / "train"
    result = run(*_args(tiny_llama_1k, test, out, "--exemplars", "train", "--seed", "1", "--n", "1"))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "config.json").read_text())
    assert all(s.startswith("train:") for s in config["exemplar_sources"]) and len(config["exemplar_sources"]) == 2
    assert "<<" not in config["prefix"] and "Sam has" in config["prefix"]


class _Killed(Exception):
    pass


def test_resume_after_a_kill_gives_the_same_table(tiny_llama_1k, gsm_files, tmp_path, monkeypatch):
    test, _ = gsm_files
    config = dict(model=ModelSpec.parse(tiny_llama_1k), data=test, n_shot=2, max_new_tokens=6, batch_size=1, device="cpu")
    whole = tmp_path / "whole"
    run_gsm8k(GSM8KRun(out=str(whole), **config))

    calls: list[int] = []
    original = Generator.run_batch

    def dies_after_two(self, suffixes):
        if len(calls) == 2:
            raise _Killed
        calls.append(len(suffixes))
        return original(self, suffixes)

    monkeypatch.setattr(Generator, "run_batch", dies_after_two)
    killed = tmp_path / "killed"
    with pytest.raises(_Killed):
        run_gsm8k(GSM8KRun(out=str(killed), **config))
    assert len(list((killed / "parts" / "baseline").glob("part-*.parquet"))) == 2
    assert not (killed / "results.parquet").exists()

    calls.clear()
    monkeypatch.setattr(Generator, "run_batch", lambda self, s: (calls.append(len(s)), original(self, s))[1])
    run_gsm8k(GSM8KRun(out=str(killed), **{**config, "batch_size": 3}))  # batch size may change on resume
    assert calls == [1]  # only the problem not generated before the kill
    cols = list(RESULT_COLUMNS) + ["finish", "edit"]
    pd.testing.assert_frame_equal(
        pd.read_parquet(killed / "results.parquet")[cols], pd.read_parquet(whole / "results.parquet")[cols]
    )


def test_resume_refuses_other_options_and_grows_n(tiny_llama_1k, gsm_files, tmp_path, monkeypatch):
    test, _ = gsm_files
    out = tmp_path / "run"
    assert run(*_args(tiny_llama_1k, test, out, "--n", "1")).exit_code == 0
    assert_one_line_error(run(*_args(tiny_llama_1k, test, out, "--n-shot", "1")), "--n-shot was 2, now 1", "another --out")
    calls: list[int] = []
    original = Generator.run_batch
    monkeypatch.setattr(Generator, "run_batch", lambda self, s: (calls.append(len(s)), original(self, s))[1])
    assert run(*_args(tiny_llama_1k, test, out, "--n", "3")).exit_code == 0
    assert sum(calls) == 2  # only the two new problems
    assert list(pd.read_parquet(out / "results.parquet")["id"]) == [0, 1, 2]


def test_edits_added_to_a_finished_run_generate_only_the_new_config(tiny_llama_1k, gsm_files, tmp_path, monkeypatch):
    """A committed result folder (no parts) run again with --laser keeps its baseline rows."""
    import shutil

    test, _ = gsm_files
    out = tmp_path / "run"
    assert run(*_args(tiny_llama_1k, test, out)).exit_code == 0
    baseline = pd.read_parquet(out / "results.parquet")
    shutil.rmtree(out / "parts")  # as committed: results.parquet, summary.json, config.json
    calls: list[int] = []
    original = Generator.run_batch
    monkeypatch.setattr(Generator, "run_batch", lambda self, s: (calls.append(len(s)), original(self, s))[1])
    monkeypatch.chdir(Path(test).parent)  # the same data file, named relatively this time
    assert run(*_args(tiny_llama_1k, "test.jsonl", out, "--laser", "0:mlp_in:0.5")).exit_code == 0
    assert sum(calls) == 3 and not (out / "parts" / "baseline").exists()  # only the edit's three problems
    frame = pd.read_parquet(out / "results.parquet")
    assert list(frame["edit"].unique()) == ["baseline", "0:mlp_in:lowrank:0.5"]
    pd.testing.assert_frame_equal(frame[frame["edit"] == "baseline"].reset_index(drop=True), baseline)
    assert list(pd.read_parquet(out / "summary.parquet")["edit"]) == ["baseline", "0:mlp_in:lowrank:0.5"]
    # another seed would change what a random edit generates: still refused
    assert_one_line_error(run(*_args(tiny_llama_1k, test, out, "--seed", "3")), "--seed was 0, now 3")


def test_an_edited_data_file_is_refused_and_a_damaged_batch_generated_again(tiny_llama_1k, gsm_files, gsm_rows, tmp_path, monkeypatch):
    test, _ = gsm_files
    out = tmp_path / "run"
    assert run(*_args(tiny_llama_1k, test, out)).exit_code == 0
    whole = pd.read_parquet(out / "results.parquet")
    parts = sorted((out / "parts" / "baseline").glob("part-*.parquet"))
    assert len(parts) == 2 and all(p.with_suffix(".json").is_file() for p in parts)  # batch size 2: problems 0-1, 2

    parts[1].write_bytes(parts[1].read_bytes()[:50])  # a truncated batch
    (out / "results.parquet").unlink()
    calls: list[int] = []
    original = Generator.run_batch
    monkeypatch.setattr(Generator, "run_batch", lambda self, s: (calls.append(len(s)), original(self, s))[1])
    assert run(*_args(tiny_llama_1k, test, out)).exit_code == 0
    assert calls == [1]  # only the damaged batch's problem
    cols = list(RESULT_COLUMNS) + ["finish", "edit"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet")[cols], whole[cols])

    calls.clear()
    assert run(*_args(tiny_llama_1k, test, out)).exit_code == 0 and calls == []  # finished: nothing generated
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_matrices_edited"] == 0 and summary["backend"]  # reported as when it was generated

    Path(test).write_text(Path(test).read_text().replace("Tom has 3 apples", "Tom has 5 apples"))
    assert_one_line_error(run(*_args(tiny_llama_1k, test, out)), "the content of --data differs", "another --out")


def _as_written_before_the_store(folder: Path) -> None:
    """``config.json`` as runs wrote it before the run-folder store: the flat config (as committed in results/gsm8k)."""
    data = json.loads((folder / "config.json").read_text())
    legacy = {k: v for k, v in data.items() if k not in ("format", "version", "command", "defining", "inputs")}
    (folder / "config.json").write_text(json.dumps(legacy))


def test_a_run_folder_written_before_the_store_gets_new_edits(tiny_llama_1k, gsm_files, tmp_path, monkeypatch):
    import shutil

    test, _ = gsm_files
    out = tmp_path / "run"
    assert run(*_args(tiny_llama_1k, test, out)).exit_code == 0
    baseline = pd.read_parquet(out / "results.parquet")
    shutil.rmtree(out / "parts")
    _as_written_before_the_store(out)
    assert_one_line_error(run(*_args(tiny_llama_1k, test, out, "--max-new-tokens", "5")), "--max-new-tokens was 6, now 5")
    calls: list[int] = []
    original = Generator.run_batch
    monkeypatch.setattr(Generator, "run_batch", lambda self, s: (calls.append(len(s)), original(self, s))[1])
    assert run(*_args(tiny_llama_1k, test, out, "--laser", "0:mlp_in:0.5")).exit_code == 0
    assert sum(calls) == 3  # the edit's problems only: the baseline rows of results.parquet are kept
    frame = pd.read_parquet(out / "results.parquet")
    pd.testing.assert_frame_equal(frame[frame["edit"] == "baseline"].reset_index(drop=True), baseline)
    assert json.loads((out / "config.json").read_text())["command"] == "gsm8k"


@pytest.mark.parametrize("name", ["smollm2-135m", "gemma-3-270m", "harness-smollm2-135m", "harness-gemma-3-270m"])
def test_the_committed_gsm8k_folders_still_read(name):
    from interp.gsm8k.run import run_store

    folder = Path(__file__).resolve().parents[2] / "results" / "gsm8k" / name
    definition = run_store(folder).read_definition()
    assert definition.command == "gsm8k" and definition.defining["prefix_sha256"] and set(definition.inputs) == {"data"}
    config = GSM8KRun.from_dict(json.loads((folder / "config.json").read_text()))
    assert definition.defining["model"] == config.model.to_json_value() and config.model.name in name


@pytest.mark.parametrize(
    "extra, needles",
    [
        (("--n", "0"), ("--n must be >= 1",)),
        (("--max-new-tokens", "0"), ("--max-new-tokens must be >= 1",)),
        (("--n-shot", "-1"), ("--n-shot must be >= 0",)),
        (("--n-shot", "9"), ("at most 8",)),
        (("--exemplars", "train", "--n-shot", "7"), ("larger than the train split (6 problems)",)),
        (("--exemplars", "book"), ("--exemplars must be one of",)),
        (("--batch-size", "0"), ("--batch-size must be >= 1",)),
        (("--laser", "0:mlp_in"), ("--laser takes LAYER:MATRIX:RHO",)),
        (("--laser", "7:mlp_in:0.5"), ("layer 7 is out of range",)),
        (("--check-harness", "--exemplars", "train"), ("--exemplars wei",)),
    ],
)
def test_bad_options_are_one_line_errors(tiny_llama_1k, gsm_files, tmp_path, extra, needles):
    test, _ = gsm_files
    args = _args(tiny_llama_1k, test, tmp_path / "out", *extra)
    assert_one_line_error(run(*args), *needles)


def test_a_data_file_that_is_not_gsm8k_names_the_line(tiny_llama_1k, gsm_rows, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(gsm_rows[0]) + "\n" + json.dumps({"prompt": "x", "answer": "y"}) + "\n")
    assert_one_line_error(run(*_args(tiny_llama_1k, str(bad), tmp_path / "out")), f"{bad}:2", "GSM8K")


def test_a_prompt_longer_than_the_context(tiny_model_dirs, gsm_files, tmp_path):
    test, _ = gsm_files  # the default tiny model has 256 positions; 8 shots need far more
    result = run(*_args(str(tiny_model_dirs["gpt2"]), test, tmp_path / "out", "--n-shot", "8"))
    assert_one_line_error(result, "tokens", "context of 256", "fewer shots")


def test_no_data_and_no_hub(tiny_llama_1k, tmp_path, monkeypatch):
    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    result = run("gsm8k", "--model", tiny_llama_1k, "--out", str(tmp_path / "out"))
    assert_one_line_error(result, "openai/gsm8k", "--data")


def test_wilson_interval():
    low, high = wilson(5, 10)
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson(0, 10)[0] == 0.0 and wilson(10, 10)[1] == 1.0
    assert wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)
