"""The BOS policy on tiny models, fast tier: BOS is prepended exactly when the registry says so
(the architecture's default, or an embedded model's own entry, which overrides it), and the
scored probabilities are those of the sequence with (or without) BOS.

The embedded entries are exercised without their packages: a tiny model is laid out where the
dequantized embedded model is cached (``$INTERP_CACHE/embedded/<key>/``), so loading
``embedded:<key>`` reads it with that entry's policy. SmolLM2's entry says no BOS while the Llama
architecture says BOS, so a policy read from the wrong place shows.
"""

from __future__ import annotations

import shutil

import pytest
import torch

from interp.models.embedded import _DONE_MARKER, EMBEDDED
from interp.models.registry import ARCHITECTURES
from interp.scoring.evaluate import evaluate
from interp.scoring.lm_loss import lm_contexts
from interp.tasks.base import PromptSet

PROMPT, ANSWER = "The city is located in", " the"


def _p_next(model, ids: list[int], token: int) -> float:
    with torch.no_grad():
        logits = model.bridge(torch.tensor([ids]))[0, -1].float()
    return float(logits.softmax(-1)[token])


def _scored_p(model, prompt: str, token: int) -> float:
    prompt_set = PromptSet(task="bos-check", prompts=(prompt,), answers=(ANSWER,), answer_ids=(token,), distractor_ids=((),))
    return float(evaluate(model, prompt_set, progress=False)["p_answer"].iloc[0])


def _check_policy(model, expected: bool) -> None:
    tok = model.tokenizer
    bos = tok.bos_token_id
    assert bos is not None
    plain = tok.tokenizer.encode(PROMPT, add_special_tokens=False)
    assert tok.prepend_bos is expected
    assert bool(model.bridge.cfg.default_prepend_bos) is expected  # the bridge's own string calls agree
    assert tok.encode_prompt(PROMPT) == ([bos] + plain if expected else plain)
    assert model.bridge.to_tokens(PROMPT)[0].tolist() == tok.encode_prompt(PROMPT)
    lm = lm_contexts(model, "the king went to the sea and the town " * 8, "test", n_tokens=16, context=16)
    assert (lm.input_ids[0, 0].item() == bos) is expected and lm.input_ids.shape[1] == 16 + expected
    # scoring reads the sequence with BOS exactly when the policy says so, and BOS changes the numbers
    answer = tok.single_token_id(ANSWER)
    with_bos, without = _p_next(model, [bos] + plain, answer), _p_next(model, plain, answer)
    assert abs(with_bos - without) > 1e-6
    assert _scored_p(model, PROMPT, answer) == pytest.approx(with_bos if expected else without, abs=1e-7, rel=1e-5)


def test_architecture_default(tiny_model):
    expected = ARCHITECTURES[tiny_model.arch.model_type].prepend_bos
    assert expected is True  # every tiny family (GPT-2, GPT-NeoX, Llama) takes BOS
    _check_policy(tiny_model, expected)


@pytest.mark.parametrize("key, arch", [("smollm2-135m", "llama"), ("gemma-3-270m", "gpt2")])
def test_embedded_entry_overrides_the_architecture(key, arch, tiny_model_dirs, tmp_path, monkeypatch):
    from interp.models.loading import load_model

    monkeypatch.setenv("INTERP_CACHE", str(tmp_path / "cache"))
    cached = tmp_path / "cache" / "embedded" / key
    shutil.copytree(tiny_model_dirs[arch], cached)
    (cached / _DONE_MARKER).write_text("a tiny stand-in\n")
    model = load_model(f"embedded:{key}", device="cpu")
    assert model.arch.model_type == arch.replace("-", "_")
    expected = EMBEDDED[key].prepend_bos
    if key == "smollm2-135m":
        assert expected is False and ARCHITECTURES["llama"].prepend_bos is True  # the override is what is tested
    _check_policy(model, expected)
