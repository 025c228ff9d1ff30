"""``interp lm train`` at the tiny size: the run folder, checkpoints every command reads, loss, determinism, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from interp.lm.schedule import checkpoint_steps
from tests.cli_helpers import assert_one_line_error, run
from tests.lm.conftest import TINY_STEPS, cli_sets, tiny_config


def _train(cfg, out: Path):
    from interp.lm.train import train

    return train(cfg, out, device="cpu", progress=False)


def test_a_run_folder_holds_the_checkpoints_on_the_schedule_and_train_json(tiny_run):
    cfg = tiny_config()
    steps = checkpoint_steps(cfg.steps, cfg.checkpoints)
    assert sorted(int(p.name[4:]) for p in tiny_run.glob("step*")) == steps
    for step in steps:
        folder = tiny_run / f"step{step}"
        assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in folder.iterdir()}, step
    # the training state travels with the newest checkpoint only
    assert [p.parent.name for p in tiny_run.glob("step*/trainer_state.pt")] == [f"step{TINY_STEPS}"]
    assert not [p for p in tiny_run.iterdir() if p.name.startswith(".") and "tmp" in p.name]

    record = json.loads((tiny_run / "train.json").read_text())
    assert record["format"] == "interp-run" and record["command"] == "lm train" and record["done"] is True
    assert record["config"] == cfg.to_dict()
    assert record["defining"]["seed"] == 0 and record["defining"]["model.d_model"] == cfg.model.d_model
    assert record["inputs"] == {f"corpus source {s['name']}": s["sha256"] for s in record["corpus"]}
    assert [s["name"] for s in record["corpus"]] == list(cfg.corpus.sources)
    assert all(len(s["sha256"]) == 64 and s["n_chars"] > 0 for s in record["corpus"])
    assert [h["step"] for h in record["history"]] == list(range(1, TINY_STEPS + 1))
    assert record["schedule"]["checkpoints"] == steps
    assert [s["step"] for s in record["speed"]] == steps[1:] and all(s["tokens_per_s"] > 0 for s in record["speed"])
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_run / f"step{TINY_STEPS}"))
    assert record["tokenizer"]["vocab_size"] == len(tokenizer) <= cfg.tokenizer.vocab_size
    assert tokenizer.eos_token == "<|endoftext|>"
    assert isinstance(record["tokenizer"]["coverage"]["the_is_one_token"], bool)
    assert (tiny_run / "loss.png").stat().st_size > 0


def test_the_model_is_pythias_architecture(tiny_run):
    config = json.loads((tiny_run / "step0" / "config.json").read_text())
    cfg = tiny_config()
    assert config["model_type"] == "gpt_neox" and config["architectures"] == ["GPTNeoXForCausalLM"]
    assert config["use_parallel_residual"] is True and config["tie_word_embeddings"] is False
    assert config["rope_parameters"]["partial_rotary_factor"] == 0.25 and config["rope_parameters"]["rope_theta"] == 10000
    assert config["hidden_dropout"] == 0 and config["attention_dropout"] == 0
    assert config["hidden_size"] == cfg.model.d_model and config["num_hidden_layers"] == cfg.model.n_layers


def test_loss_falls_over_a_few_dozen_steps(tiny_run):
    losses = [h["loss"] for h in json.loads((tiny_run / "train.json").read_text())["history"]]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.5, (first, last)


def test_checkpoints_load_through_load_model_and_the_cli(tiny_run):
    import interp

    first = interp.load_model(str(tiny_run), 0, device="cpu")
    last = interp.load_model(str(tiny_run), TINY_STEPS, device="cpu")
    assert first.arch.model_type == "gpt_neox" and first.spec.source == "local" and last.spec.step == TINY_STEPS
    ids = first.tokenizer.encode_prompt("When Mary and John went to the store")  # as every command tokenizes a prompt
    with torch.no_grad():
        a = first.raw_model(torch.tensor([ids])).logits
        b = last.raw_model(torch.tensor([ids])).logits
    assert torch.isfinite(a).all() and torch.isfinite(b).all() and not torch.equal(a, b)
    result = run("predict", "The capital of France is", "--model", str(tiny_run), "--checkpoint", str(TINY_STEPS), "--device", "cpu")
    assert result.exit_code == 0, result.output


def test_a_checkpoint_sweep_with_steps_log_reads_the_run(tiny_run, tmp_path):
    import pandas as pd

    from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
    from interp.checkpoint_sweeps.steps import log_steps
    from interp.models.spec import ModelSpec

    out = tmp_path / "sweep"
    run_sweep(SweepConfig(out=str(out), model=ModelSpec.parse(str(tiny_run)), steps="log", task="factual", n=4, device="cpu"))
    saved = checkpoint_steps(TINY_STEPS, tiny_config().checkpoints)
    swept = sorted(pd.read_parquet(out / "results.parquet")["step"].unique().tolist())
    assert swept == log_steps(saved) and swept[0] == 0 and swept[-1] == TINY_STEPS


def _weights(folder: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(folder / "model.safetensors"))


def test_same_seed_same_weights_other_seed_other_weights(tmp_path):
    runs = {}
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        torch.manual_seed(len(runs))  # the global RNG plays no part
        _train(tiny_config(steps=4, seed=seed), tmp_path / name)
        runs[name] = tmp_path / name / "step4"
    assert (runs["a"] / "model.safetensors").read_bytes() == (runs["b"] / "model.safetensors").read_bytes()
    a, c = _weights(runs["a"]), _weights(runs["c"])
    assert all(not torch.equal(a[k], c[k]) for k in a if k.endswith("query_key_value.weight"))


def test_a_finished_run_started_again_trains_nothing(tiny_run, tmp_path):
    copy = tmp_path / "again"
    shutil.copytree(tiny_run, copy)
    before = (copy / f"step{TINY_STEPS}" / "model.safetensors").read_bytes()
    result = _train(tiny_config(), copy)
    assert result.resumed_from == TINY_STEPS
    assert result.history == json.loads((tiny_run / "train.json").read_text())["history"]
    assert (copy / f"step{TINY_STEPS}" / "model.safetensors").read_bytes() == before


def test_the_cli_trains_and_prints_one_json_line(tmp_path):
    out = tmp_path / "cli"
    result = run("lm", "train", "--out", str(out), "--size", "tiny", "--steps", "3", *cli_sets(), "--device", "cpu", "--no-progress")
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["step"] == 3 and line["resumed_from"] is None and line["tokens_per_s"] > 0
    assert sorted(p.name for p in out.glob("step*")) == ["step0", "step1", "step2", "step3"]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        (["--set", "model.nope=1"], ["unknown config field 'model.nope'"]),
        (["--set", "model.d_model=abc"], ["model.d_model takes an integer", "'abc'"]),
        (["--set", "optim.lr=fast"], ["optim.lr takes a number"]),
        (["--set", "model.n_heads=3"], ["multiple of model.n_heads"]),
        (["--set", "model.n_ctx=4096"], ["does not fit the model's positions"]),
        (["--set", "model.d_model"], ["--set takes FIELD=VALUE"]),
        (["--size", "huge"], ["unknown size 'huge'"]),
        (["--steps", "0"], ["--steps must be >= 1"]),
        (["--threads", "0"], ["--threads must be >= 1"]),
        (["--device", "tpu"], ["unknown device"]),
        (["--set", 'corpus.sources=["wordnet"]', "--data-dir", "{empty}"], ["wordnet"]),
        (["--set", 'corpus.sources=["tinyshakespeare"]', "--data-dir", "{blank}"], ["tinyshakespeare"]),
        (["--set", "corpus.max_chars=40"], ["fewer than one"]),
    ],
)
def test_bad_input_is_one_line_exit_2_before_any_training(args, needles, tmp_path):
    empty = tmp_path / "no-data"
    empty.mkdir()
    blank = tmp_path / "blank-data"
    _write(blank / "tinyshakespeare" / "input.txt", "")
    args = [a.replace("{empty}", str(empty)).replace("{blank}", str(blank)) for a in args]
    out = tmp_path / "run"
    result = run("lm", "train", "--out", str(out), "--size", "tiny", "--device", "cpu", "--no-progress", *cli_sets(), *args)
    assert_one_line_error(result, *needles)
    assert not list(out.glob("step*")) and not (out / "train.json").exists() and not (out / "tokenizer").exists()


def test_a_folder_holding_another_run_names_the_field_that_differs(tiny_run):
    before = {p: p.stat().st_mtime_ns for p in tiny_run.rglob("*")}
    for args, needles in (
        (["--seed", "1"], ["holds a training run with different options", "--seed was 0, now 1"]),
        (["--set", "optim.lr=0.002"], ["optim.lr was 0.001, now 0.002"]),
        (["--steps", str(TINY_STEPS + 1)], [f"--steps was {TINY_STEPS}, now {TINY_STEPS + 1}"]),
    ):
        result = run("lm", "train", "--out", str(tiny_run), "--size", "tiny", "--steps", str(TINY_STEPS), *cli_sets(), *args,
                     "--device", "cpu", "--no-progress")
        assert_one_line_error(result, *needles)
    assert {p: p.stat().st_mtime_ns for p in tiny_run.rglob("*")} == before  # nothing written


def test_a_folder_with_other_files_is_refused(tmp_path):
    out = tmp_path / "busy"
    _write(out / "notes.txt", "mine")
    result = run("lm", "train", "--out", str(out), "--size", "tiny", *cli_sets(), "--device", "cpu", "--no-progress")
    assert_one_line_error(result, "holds other results (notes.txt) and no train.json")
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["notes.txt"]  # the lock file aside


def test_changed_corpus_files_are_refused_on_resume(tmp_path):
    data = tmp_path / "data"
    _write(data / "tinyshakespeare" / "input.txt", "First Citizen:\nBefore we proceed any further, hear me speak.\n\n" * 300)
    out = tmp_path / "run"
    sets = {"corpus__sources": ["tinyshakespeare"]}
    from interp.lm.train import train

    train(tiny_config(steps=2, **sets), out, device="cpu", data_dir=data, progress=False)
    _write(data / "tinyshakespeare" / "input.txt", "All:\nSpeak, speak.\n\n" * 500)
    from interp.errors import UsageError

    with pytest.raises(UsageError, match="the content of corpus source tinyshakespeare differs"):
        train(tiny_config(steps=2, **sets), out, device="cpu", data_dir=data, progress=False)
