"""`interp attribution` through typer's runner: the run folder it promises, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_helpers import assert_one_line_error, run

from interp.attribution.layout import HEAD_SCOPES, SCOPES
from interp.attribution.run import AttributionRun
from interp.attribution.scores import CATEGORIES
from interp.edits.grid import LayerSpec
from interp.models.spec import ModelSpec


@pytest.fixture(scope="module")
def gpt2_dir(tiny_model_dirs):
    return str(tiny_model_dirs["gpt2"])


def attribution(model_dir, out, *extra):
    return run("attribution", "--model", model_dir, "--out", str(out), "--device", "cpu", *extra)


def test_cli_writes_what_it_promises(gpt2_dir, tmp_path, prompts):
    prompts_file = tmp_path / "prompts.txt"
    prompts_file.write_text("\n".join([*prompts, "", "The king had gone to the sea."]) + "\n")
    out = tmp_path / "run"
    result = attribution(gpt2_dir, out, "--prompts", str(prompts_file), "--layers", "0,1", "--ig-steps", "64",
                         "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "worst completeness error (relative):" in result.output and f"wrote {out}" in result.output

    expected = {"config.json", "maps.npz", "summary.json", "summary.png", "maps.html"}
    expected |= {f"layer{layer}_{scope}.png" for layer in (0, 1) for scope in SCOPES}
    assert expected <= {p.name for p in out.iterdir()}
    assert (out / "maps.html").read_text().count("AttentionHeads") >= 1

    config = json.loads((out / "config.json").read_text())
    assert AttributionRun.from_dict(config) == AttributionRun(
        out=str(out), model=ModelSpec.parse(gpt2_dir), prompts_file=str(prompts_file), layers=LayerSpec.parse("0,1"),
        ig_steps=64, batch_size=2, device="cpu",
    )

    n_heads = 4
    with np.load(out / "maps.npz") as npz:
        for p in range(3):
            ids = npz[f"p{p:04d}/ids"]
            T = len(ids)
            assert len(npz[f"p{p:04d}/tokens"]) == T and len(npz[f"p{p:04d}/words"]) == T
            for layer in (0, 1):
                for scope in SCOPES:
                    m = npz[f"p{p:04d}/L{layer:02d}/{scope}"]
                    assert m.shape == (T, T) and np.all(np.triu(m, 1) == 0)
                for scope in HEAD_SCOPES:
                    assert npz[f"p{p:04d}/L{layer:02d}/{scope}/heads"].shape == (n_heads, T, T)

    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_prompts"] == 3 and summary["layers"] == [0, 1] and summary["ig_steps"] == 64
    assert summary["worst_completeness_error"]["value"] < 1e-4
    for layer in ("0", "1"):
        s = summary["per_layer"][layer]
        assert set(s["completeness"]) == {"attn", "res1", "ln2", "ff", "res2", "ln_next"}
        assert all(e["n"] == 3 for e in s["completeness"].values())
        assert set(s["spearman"]) == set(summary["scope_pairs"])
        assert set(s["offdiag_share"]) == set(summary["scopes"])
        assert all(0 <= v["mean"] <= 1 and v["n"] == 3 for v in s["offdiag_share"].values())
        assert all(-1 <= v["mean"] <= 1 and v["n"] == 3 for v in s["spearman"].values())
        for scope in ("ATBFF", "ATBFFRES", "ATBFFRESLN"):
            assert set(s["amplification"][scope]) == set(CATEGORIES)
            total = sum(c["n_pairs"] for c in s["amplification"][scope].values())
            assert total == sum(T * (T - 1) // 2 for T in (len(np.load(out / "maps.npz")[f"p{p:04d}/ids"]) for p in range(3)))


def test_single_prompt(gpt2_dir, tmp_path):
    result = attribution(gpt2_dir, tmp_path / "one", "--prompt", "The city is located in", "--layers", "1", "--ig-steps", "4")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "one" / "layer1_ATBFFRESLN.png").is_file()


@pytest.fixture(scope="module")
def opt_dir(tmp_path_factory, tiny_tokenizer):
    """A tiny OPT model: a family interp's registry (and so attribution) does not cover."""
    from transformers import AutoModelForCausalLM, OPTConfig

    folder = tmp_path_factory.mktemp("opt") / "opt"
    config = OPTConfig(vocab_size=len(tiny_tokenizer), hidden_size=16, num_hidden_layers=1, ffn_dim=32,
                       num_attention_heads=2, max_position_embeddings=64, word_embed_proj_dim=16)
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize(
    "extra, needles",
    [
        (("--prompt", "The city", "--layers", "5"), ("layer 5 is out of range", "0..1")),
        (("--prompt", "The city", "--layers", "-1,0"), ("layer -1 is out of range",)),
        (("--prompt", "   "), ("--prompt is empty",)),
        (("--prompt", "The city", "--ig-steps", "0"), ("--ig-steps must be >= 1",)),
        (("--prompt", "The city", "--batch-size", "0"), ("--batch-size must be >= 1",)),
        ((), ("exactly one of --prompt TEXT or --prompts FILE",)),
        (("--prompt", "word " * 400), ("longer than the model's context of 256",)),
        (("--prompts", "/nonexistent/prompts.txt"), ("--prompts /nonexistent/prompts.txt does not exist",)),
    ],
)
def test_bad_input_is_one_line(gpt2_dir, tmp_path, extra, needles):
    assert_one_line_error(attribution(gpt2_dir, tmp_path / "bad", *extra), *needles)


def test_empty_prompts_file_and_both_options(gpt2_dir, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    assert_one_line_error(attribution(gpt2_dir, tmp_path / "bad", "--prompts", str(empty)), "holds no prompt")
    assert_one_line_error(
        attribution(gpt2_dir, tmp_path / "bad", "--prompts", str(empty), "--prompt", "x"), "exactly one of"
    )


def test_unsupported_architecture_lists_the_supported(opt_dir, tmp_path):
    result = attribution(opt_dir, tmp_path / "bad", "--prompt", "The city")
    assert_one_line_error(result, "'opt' is not supported by interp attribution", "supported: gpt2, gpt_neox, llama, gemma3_text")
