"""Bad inputs through the CLI (issue 22, items 4 and 5): each ends as one line, exit code 2, no
traceback, checked before anything is written; sizes and run times are bounded with the estimate
in the message; an edit whose rank is clipped or a repeated grid value says so."""

from __future__ import annotations

import errno
import logging
from pathlib import Path

import pytest

from tests.cli_helpers import assert_one_line_error, run

GSM8K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "gsm8k" / "test.jsonl"
SMALL_MACHINE = 24 * 10**9


@pytest.fixture
def small_machine(monkeypatch):
    """A 24 GB machine, whatever this one has: the memory bounds do not depend on where the tests run."""
    import interp.resources

    monkeypatch.setattr(interp.resources, "total_memory", lambda: SMALL_MACHINE)


def _written(folder: Path) -> list[str]:
    """What a run left in ``folder`` besides its lock (the output-folder rule is another check's)."""
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".interp")) if folder.exists() else []


@pytest.mark.parametrize("command", [
    ["eval", "--task", "ioi", "--n", "4"],
    ["laser-sweep", "--task", "ioi", "--n", "8", "--layers", "0", "--matrices", "mlp_out", "--rhos", "0.5"],
    ["gsm8k", "--n", "2", "--n-shot", "0", "--max-new-tokens", "2", "--data", str(GSM8K)],
])
def test_negative_seed_is_one_line_and_writes_nothing(tiny_model_dirs, tmp_path, command):
    out = tmp_path / "out"
    result = run(*command, "-m", str(tiny_model_dirs["gpt2"]), "--seed", "-1", "--out", str(out))
    assert_one_line_error(result, "--seed", "-1")
    assert _written(out) == []  # no sweep.json / config.json holding seed -1


def test_negative_seed_checkpoint_sweep(tiny_model_dirs, tmp_path):
    out = tmp_path / "out"
    result = run("checkpoint-sweep", "-m", str(tiny_model_dirs["gpt2"].parent), "--steps", "0", "--task", "ioi",
                 "--seed", "-1", "--out", str(out))
    assert_one_line_error(result, "--seed", "-1")
    assert _written(out) == []


def test_empty_prompt_predict(tiny_model_dirs):
    assert_one_line_error(run("predict", "-m", str(tiny_model_dirs["gpt2"]), ""), "PROMPT is empty")


def test_predict_mean_edit_names_what_predict_takes(tiny_model_dirs):
    result = run("predict", "-m", str(tiny_model_dirs["gpt2"]), "x", "--edit", "0:mlp_out:mean")
    assert_one_line_error(result, "predict takes weight edits (lowrank, remove_top, random, zero)", "interp eval")
    assert "pass --lm-text" not in result.output


def test_attribution_binary_prompts(tiny_model_dirs, tmp_path):
    prompts = tmp_path / "p.bin"
    prompts.write_bytes(b"The cat\x00\x01\x02")
    result = run("attribution", "-m", str(tiny_model_dirs["gpt2"]), "--prompts", str(prompts), "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "not a text file")
    assert not (tmp_path / "o").exists()


def test_attribution_huge_one_line_prompts(tiny_model_dirs, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("a" * 3_000_000)  # the case reported was 50 MB: anything over the bound is the same path
    result = run("attribution", "-m", str(tiny_model_dirs["gpt2"]), "--prompts", str(prompts), "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "line 1 is longer than 1,000,000 characters", "context")
    assert not (tmp_path / "o").exists()


def test_attribution_ig_steps_over_a_day(tiny_model_dirs, tmp_path):
    out = tmp_path / "o"
    result = run("attribution", "-m", str(tiny_model_dirs["gpt2"]), "--prompt", "The cat sat", "--ig-steps", "10000000000",
                 "--out", str(out))
    assert_one_line_error(result, "--ig-steps 10000000000", "over a day", "--force")
    assert _written(out) == []


def test_ig_steps_cost_no_memory():
    """A large step count is time, not a steps-long tensor: the path points come a chunk at a time."""
    import torch

    from interp.attribution.ig import _chunks, midpoints

    cpu = torch.device("cpu")
    chunks = _chunks(10**12, 1 << 20, cpu, torch.float32)
    first = next(chunks)
    assert first.numel() == 16 and float(first[0]) == pytest.approx(0.5e-12)
    pieces = list(_chunks(9, 1 << 23, cpu, torch.float32))  # two points a chunk: the same points as all at once
    assert [len(p) for p in pieces] == [2, 2, 2, 2, 1]
    assert torch.equal(torch.cat(pieces), midpoints(9, cpu, torch.float32))


def test_lm_text_binary(tiny_model_dirs, tmp_path):
    text = tmp_path / "ref.bin"
    text.write_bytes(bytes(range(256)) * 4)
    out = tmp_path / "o"
    result = run("eval", "-m", str(tiny_model_dirs["gpt2"]), "--task", "ioi", "--n", "4", "--edit", "0:mlp_out:zero",
                 "--lm-text", str(text), "--out", str(out))
    assert_one_line_error(result, "--lm-text", "not a text file")
    assert not out.exists()


def test_lm_text_not_utf8(tiny_model_dirs, tmp_path):
    text = tmp_path / "ref.txt"
    text.write_bytes(b"caf\xe9 " * 100)
    result = run("eval", "-m", str(tiny_model_dirs["gpt2"]), "--task", "ioi", "--n", "4", "--edit", "0:mlp_out:zero",
                 "--lm-text", str(text), "--out", str(tmp_path / "o"))
    assert_one_line_error(result, "--lm-text", "not UTF-8 text")


def test_malformed_prompts_file_before_the_model_loads(tiny_model_dirs, tmp_path, monkeypatch):
    import interp.models.loading

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the prompts file was checked")

    monkeypatch.setattr(interp.models.loading, "load_model", no_loading)
    monkeypatch.setattr("interp.scoring.run.load_model", no_loading)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "Paris is in", "answer": " France"}\n{"prompt": 3, "answer": " Spain"}\n')
    out = tmp_path / "o"
    result = run("eval", "-m", str(tiny_model_dirs["gpt2"]), "--task", f"prompts:{bad}", "--out", str(out))
    assert_one_line_error(result, "bad.jsonl:2", '"prompt"')
    assert not out.exists()


def test_gsm8k_layer_out_of_range_before_the_model_loads(tiny_model_dirs, tmp_path, monkeypatch):
    monkeypatch.setattr("interp.gsm8k.run.load_model", lambda *a, **k: pytest.fail("model loaded before the layer check"))
    out = tmp_path / "o"
    for extra in (["--laser", "99:mlp_out:0.5"], ["--laser-grid", "--layers", "5,6"]):
        result = run("gsm8k", "-m", str(tiny_model_dirs["gpt2"]), "--n", "2", "--data", str(GSM8K), *extra, "--out", str(out))
        assert_one_line_error(result, "out of range")
        assert not out.exists()


def test_gsm8k_over_a_day_refused_unless_forced(tiny_model_dirs, tmp_path, monkeypatch):
    """The estimate is configs x batches x --max-new-tokens measured steps (here 5000 s each, so that a tiny
    model's run is long): 3 configs x 40 batches x 2 tokens x 5000 s is ~13.9 days."""
    monkeypatch.setattr("interp.gsm8k.run.seconds_per_step", lambda model, batch_size: 5000.0)
    data = tmp_path / "short.jsonl"
    data.write_text("".join(f'{{"question": "What is {i} + 1?", "answer": "{i} + 1 = {i + 1}\\n#### {i + 1}"}}\n' for i in range(40)))
    common = ["gsm8k", "-m", str(tiny_model_dirs["gpt2"]), "--data", str(data), "--n-shot", "0", "--max-new-tokens", "2",
              "--batch-size", "1"]
    out = tmp_path / "o"
    result = run(*common, "--n", "40", "--laser-grid", "--layers", "0,1", "--matrices", "mlp_out", "--rhos", "0.5",
                 "--out", str(out))
    assert_one_line_error(result, "3 configs x 40 problems", "120 generations", "~13.9 days", "over a day", "--force")
    assert _written(out) == ["config.json"]  # the store's definition, written before the model loads; no results


def test_toy_eval_noise_checked_before_loading(tmp_path, monkeypatch):
    from tests.toy.test_toy_cli import TINY_SETS

    out = tmp_path / "run"
    assert run("toy", "train", "--task", "noisy-recall", "--steps", "1", "--out", str(out), *TINY_SETS).exit_code == 0
    monkeypatch.setattr("interp.models.loading.load_model", lambda *a, **k: pytest.fail("model loaded before --noise was checked"))
    before = sorted(p.name for p in out.iterdir())
    assert_one_line_error(run("toy", "eval", str(out), "--noise", "1.5"), "--noise", "1.5")
    assert_one_line_error(run("toy", "eval", str(out), "--noise", "nan"), "--noise")
    assert sorted(p.name for p in out.iterdir()) == before


def test_toy_eval_n_sequences_bounded(tmp_path, small_machine):
    from tests.toy.test_toy_cli import TINY_SETS

    out = tmp_path / "run"
    assert run("toy", "train", "--task", "noisy-recall", "--steps", "1", "--out", str(out), *TINY_SETS).exit_code == 0
    before = sorted(p.name for p in out.iterdir())
    result = run("toy", "eval", str(out), "--n-sequences", "1000000000")
    assert_one_line_error(result, "--n-sequences 1000000000 needs ~", "this machine has 24 GB")
    assert sorted(p.name for p in out.iterdir()) == before


def test_tiny_n_ctx_bounded(tmp_path, small_machine):
    out = tmp_path / "m"
    result = run("tiny", str(out), "--n-ctx", "100000000")
    assert_one_line_error(result, "--n-ctx 100000000 needs ~25.6 GB", "this machine has 24 GB")
    assert not out.exists()


def test_eval_ioi_n_bounded(tiny_model_dirs, tmp_path, small_machine):
    out = tmp_path / "o"
    result = run("eval", "-m", str(tiny_model_dirs["gpt2"]), "--task", "ioi", "--n", "1000000000", "--out", str(out))
    assert_one_line_error(result, "--n 1000000000", "distinct IOI prompts", "this machine has 24 GB")
    assert _written(out) == []


def test_embedded_cache_full_disk(tmp_path, monkeypatch):
    """A full disk while the embedded model is written to the cache: one line, and no folder (whole or half) left."""
    from interp.models.embedded import EmbeddedModel

    cache = tmp_path / "cache"
    monkeypatch.setenv("INTERP_CACHE", str(cache))

    def disk_full(self, workdir):
        (workdir / "partial.gguf").write_bytes(b"x" * 1000)
        raise RuntimeError(f"Error while serializing: IoError(Os {{ code: {errno.ENOSPC}, kind: StorageFull, message: \"No space left on device\" }})")

    monkeypatch.setattr(EmbeddedModel, "gguf_path", disk_full)
    result = run("predict", "-m", "embedded:smollm2-135m", "hello")
    assert_one_line_error(result, "could not write the embedded model cache", "INTERP_CACHE")
    assert list((cache / "embedded").iterdir()) == []  # no smollm2-135m/, no temporary folder


def test_repeated_rhos_merged_with_a_warning(caplog):
    from interp.edits.grid import LayerSpec, parse_floats, parse_names

    with caplog.at_level(logging.WARNING, logger="interp"):
        assert parse_floats("0.5,0.5,0.1") == (0.5, 0.1)
        assert parse_names("mlp_out,mlp_in,mlp_out") == ("mlp_out", "mlp_in")
        assert LayerSpec.parse("1,1").resolve(2) == (1,)
    messages = [r.getMessage() for r in caplog.records]
    assert any("--rhos lists 0.5 more than once" in m for m in messages), messages
    assert any("--matrices lists mlp_out more than once" in m for m in messages), messages
    assert any("--layers lists 1 more than once" in m for m in messages), messages


def test_clipped_rank_says_so_and_is_labelled_by_what_ran(tiny_model_dirs, tmp_path, caplog):
    import json

    out = tmp_path / "o"
    with caplog.at_level(logging.WARNING, logger="interp"):
        result = run("eval", "-m", str(tiny_model_dirs["gpt2"]), "--task", "ioi", "--n", "4", "--no-lm-cost",
                     "--edit", "0:mlp_out:remove_top:100000", "--edit", "1:mlp_out:1e-300", "--out", str(out))
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["edits"] == ["0:mlp_out:remove_top:64", "1:mlp_out:lowrank:0.015625"]  # mlp_out of d_model 64
    messages = " ".join(r.getMessage() for r in caplog.records)
    assert "remove_top:100000 asks for more directions than the matrix's rank 64" in messages
    assert "1e-300 keeps less than one of the matrix's 64 directions" in messages
