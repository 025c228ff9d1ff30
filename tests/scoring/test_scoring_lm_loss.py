"""The LM loss on a reference text against a hand computation; the reference text's sources and errors."""

from __future__ import annotations

import pytest
import torch

from interp.errors import UsageError
from interp.scoring.lm_loss import lm_batches, lm_contexts, lm_loss, reference_text

TEXT = ("The morning came and the travellers went to the market in the town. " * 40).strip()


def test_lm_loss_equals_hand_computation(tiny_model, tmp_path):
    path = tmp_path / "ref.txt"
    path.write_text(TEXT)
    text, source = reference_text(str(path), 256)
    assert source == str(path)
    lm = lm_contexts(tiny_model, text, source, n_tokens=256, context=64)
    assert lm.n_contexts == 4
    ids = tiny_model.tokenizer.tokenizer.encode(TEXT, add_special_tokens=False)[: 4 * 64]
    rows = torch.tensor(ids).view(4, 64)
    if tiny_model.tokenizer.prepend_bos:
        rows = torch.cat([torch.full((4, 1), tiny_model.tokenizer.bos_token_id), rows], dim=1)
    assert torch.equal(lm.input_ids, rows)
    with torch.no_grad():
        logits = tiny_model.raw_model(rows).logits
    hand = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
    assert lm_loss(tiny_model, lm_batches(tiny_model, lm, batch_size=3)) == pytest.approx(hand.item(), abs=1e-5)


def test_reference_text_errors(tiny_gpt2, tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        reference_text(str(tmp_path / "missing.txt"))
    short = tmp_path / "short.txt"
    short.write_text("Too short.")
    text, source = reference_text(str(short))
    with pytest.raises(UsageError, match="shorter than one context"):
        lm_contexts(tiny_gpt2, text, source)
    with pytest.raises(UsageError, match="at least one context"):
        lm_contexts(tiny_gpt2, TEXT, "x", n_tokens=10, context=64)


def test_default_reference_text_is_present():
    text, source = reference_text(None, 4096)
    assert len(text) > 5000 and source
