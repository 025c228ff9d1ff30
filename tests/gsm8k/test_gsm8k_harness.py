"""The lm-eval cross-check (``--check-harness``) on a tiny model: runs only where lm-eval is installed."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("lm_eval", reason="lm-eval is not installed (pip install 'interp[harness]')")

from cli_helpers import run  # noqa: E402


@pytest.mark.slow
def test_harness_generates_what_we_generate(tiny_llama_1k, gsm_files, tmp_path):
    test, _ = gsm_files
    out = tmp_path / "run"
    result = run("gsm8k", "--model", tiny_llama_1k, "--data", test, "--n-shot", "2", "--max-new-tokens", "8",
                 "--batch-size", "2", "--device", "cpu", "--out", str(out), "--check-harness")
    assert result.exit_code == 0, result.output
    assert "lm-eval gsm8k_cot on the same problems" in result.output
    harness = json.loads((out / "harness.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert harness["n"] == 3
    # same model, prompts, greedy decoding and stop string: the same text, problem by problem
    assert harness["n_same_generation"] == 3, [p["harness_generation"] for p in harness["problems"]]
    assert harness["our_extraction_on_harness_generations"] == pytest.approx(summary["accuracy"])
    assert 0.0 <= harness["strict_match"] <= 1.0 and 0.0 <= harness["flexible_extract"] <= 1.0
    assert summary["harness"]["n_same_generation"] == 3
