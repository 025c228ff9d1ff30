"""Every ``bench/*.py`` run end to end at its smallest settings, so a benchmark cannot rot unnoticed.

Each bench's ``main(argv)`` runs in-process (a subprocess would spend longer importing torch than
the run takes) on a tiny random model, and the test reads what it printed: the last line in its
documented format, and the equality checks it prints (the same tokens every way, the largest
metric or weight difference within its tolerance). The numbers timed are not checked: speed
targets belong to the benches at their documented settings (``make bench``), never to tests.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from interp.models.tiny import TinyConfig, make_tiny_model

BENCH = Path(__file__).resolve().parents[2] / "bench"
NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
GSM_ROWS = [
    {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
    {"question": "A box holds 12 pens. How many pens are in 2 boxes?", "answer": "12 * 2 = <<12*2=24>>24\n#### 24"},
    {"question": "Ann had $1,500 and spent $500. How much is left?", "answer": "1500 - 500 = <<1500-500=1000>>1000\n#### 1,000"},
    {"question": "A train goes 60 miles an hour for 3 hours. How far does it go?", "answer": "60 * 3 = <<60*3=180>>180\n#### 180"},
]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_smoke_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_bench(capsys):
    """``run_bench("bench_laser", [...])`` -> the lines it printed (its ``main(argv)`` run in-process)."""

    def run(name: str, argv: list[str]) -> list[str]:
        capsys.readouterr()
        _load(name).main(argv)
        lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
        assert lines, f"{name} printed nothing"
        return lines

    return run


@pytest.fixture(autouse=True)
def _global_state_restored(tmp_path, monkeypatch):
    """The benches set process-wide state (torch threads, grad mode, log levels, HF progress bars):
    put back after each. The shared data folder is an empty one (or what a test writes there)."""
    from transformers.utils import logging as hf_logging

    monkeypatch.setenv("INTERP_SHARED_DATA", str(tmp_path / "shared-data"))
    threads, grad, bars = torch.get_num_threads(), torch.is_grad_enabled(), hf_logging.is_progress_bar_enabled()
    levels = {name: logging.getLogger(name).level for name in ("", "interp")}
    yield
    torch.set_num_threads(threads)
    torch.set_grad_enabled(grad)
    if bars:
        hf_logging.enable_progress_bar()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="module")
def llama_2k(tmp_path_factory, tiny_tokenizer) -> Path:
    """A tiny Llama with a 2048-token context (an 8-shot GSM8K prompt is about 1100 of its tokens),
    its matrices redrawn wider so that greedy continuations depend on the prompt (the default
    initialisation repeats one token whatever the prompt: the same-tokens checks would be vacuous)."""
    from transformers import AutoModelForCausalLM

    folder = make_tiny_model(tmp_path_factory.mktemp("bench") / "llama-2k", TinyConfig(arch="llama", n_ctx=2048), tiny_tokenizer)
    model = AutoModelForCausalLM.from_pretrained(folder)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.15)
    model.save_pretrained(folder)
    return folder


def _gsm8k_file(folder: Path) -> Path:
    path = folder / "gsm8k" / "test.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in GSM_ROWS), encoding="utf-8")
    return path


def _value(lines: list[str], pattern: str) -> str:
    """The first group of the one line that matches ``pattern`` (fails naming it when none does)."""
    found = [m for m in (re.search(pattern, line) for line in lines) if m]
    assert len(found) == 1, f"expected one line matching {pattern!r}, got {len(found)} in:\n" + "\n".join(lines)
    return found[0].group(1)


def test_bench_laser(run_bench, tiny_model_dirs):
    lines = run_bench("bench_laser", ["--quick", "--model", str(tiny_model_dirs["llama"]), "--n", "8"])
    assert re.fullmatch(rf"speedup_vs_naive: {NUMBER}", lines[-1]), lines[-1]
    compared = _value(lines, r"^largest metric difference \(([^)]*)\) ours vs naive full forward with exact SVD")
    assert "logp_answer_full" in compared.split(", ")  # the teacher-forced metric: reads past the prompt's last position
    assert float(_value(lines, rf"with exact SVD, \d+ configs: ({NUMBER}) \(must be <= 1e-4\)$")) <= 1e-4
    assert re.search(r"^grid \(b\): 4 configs x 8 prompts: reference", lines[1]), lines[1]


def test_bench_eval(run_bench, llama_2k, tmp_path):
    _gsm8k_file(tmp_path / "shared-data")
    lines = run_bench("bench_eval", ["--model", str(llama_2k), "--n", "8", "--batch-size", "4", "--repeats", "1", "--readout-n", "2"])
    assert re.fullmatch(rf"shared_prefix_vs_full: {NUMBER}x", lines[-1]), lines[-1]
    assert re.search(rf"^batched_vs_single: {NUMBER}x$", lines[4]), lines[4]
    assert float(_value(lines, rf"^max \|P\(answer\) batched - single\|: ({NUMBER})$")) <= 1e-5
    assert _value(lines, r"^GSM8K readout, (\d+) prompts of") == "2"
    assert float(_value(lines, rf"max \|logp_answer_full difference\| ({NUMBER})$")) <= 1e-4


def test_bench_gsm8k(run_bench, llama_2k, tmp_path):
    data = _gsm8k_file(tmp_path)
    lines = run_bench("bench_gsm8k", ["--model", str(llama_2k), "--data", str(data), "--n", "4", "--n-shot", "2",
                                      "--batch-size", "2", "--max-new-tokens", "8"])
    assert re.fullmatch(rf"ours_vs_hf_generate: {NUMBER}x", lines[-1]), lines[-1]
    assert [line.split(":")[0] for line in lines[-3:]] == ["batched_vs_single", "prefix_reuse", "ours_vs_hf_generate"]
    assert "same tokens: one at a time True, prefix recomputed True, HF generate True" in lines
    assert 0 < int(_value(lines, r"^tokens generated \(up to each stop\): (\d+)$")) <= 4 * 8


def test_bench_attribution(run_bench, tiny_model_dirs):
    lines = run_bench("bench_attribution", ["--model", str(tiny_model_dirs["gpt-neox"]), "--n", "4", "--ig-steps", "2",
                                            "--batch-size", "4", "--repeats", "1"])
    assert re.fullmatch(rf"ratio_vs_forward: {NUMBER}", lines[-1]), lines[-1]
    assert 0 < float(_value(lines, rf"^ig_share: ({NUMBER})$")) < 1
    assert re.search(r": 4 prompts, \d+ tokens, 1 batches, layer 1, IG steps 2,", lines[0]), lines[0]


def test_bench_sweep(run_bench, monkeypatch):
    # each of the bench's ten sweeps ends drawing its two figures (most of a tiny sweep's time; the
    # sweep tests check them): skipped here
    monkeypatch.setattr("interp.checkpoint_sweeps.run._plot", lambda *args: None)
    lines = run_bench("bench_sweep", ["--steps", "2", "--d-model", "16", "--n", "4", "--fetch-s", "0.01"])
    assert re.fullmatch(rf"overlap gain: {NUMBER}x as is, {NUMBER}x with 0.01 s of download per checkpoint", lines[-1]), lines[-1]
    table = lines[lines.index("step  peak RSS (MB)") + 1 : -2]
    assert [int(row.split()[0]) for row in table] == [0, 1]  # one peak per step of the sweep
    assert re.fullmatch(rf"peak RSS, first 1 steps: {NUMBER} MB; last 1 steps: {NUMBER} MB \(change {NUMBER}%\)", lines[-2]), lines[-2]


def test_bench_toy(run_bench):
    lines = run_bench("bench_toy", ["--batch-size", "8", "--steps", "1", "--repeats", "1", "--threads", "1"])
    assert re.fullmatch(rf"  generator share of a step +{NUMBER}%", lines[-1]), lines[-1]
    assert re.fullmatch(rf"  chen, SGD +{NUMBER} +\d+", lines[-2]), lines[-2]
    assert lines[0].endswith("d_model 256, d_mlp 1024, T 256, batch 8")


def test_bench_train(run_bench):
    lines = run_bench("bench_train", ["--size", "tiny", "--steps", "3", "--repeats", "1", "--sweep-checkpoints", "2", "--n", "4",
                                      "--task", "factual", "--set", 'corpus.sources=["facts","ioi"]', "--set", "corpus.max_chars=50000"])
    assert re.fullmatch(rf"trainer_vs_plain_loop: {NUMBER}x", lines[-1]), lines[-1]
    assert float(_value(lines, rf"^same final weights: largest difference ({NUMBER})$")) <= 1e-6
    assert _value(lines, r"^checkpoint sweep --task factual \(4 prompts\): (\d+) checkpoints in") == "2"
