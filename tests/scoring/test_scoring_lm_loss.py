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


@pytest.mark.parametrize("shared_data", [True, False], ids=["shakespeare", "packaged"])
def test_default_reference_text_and_its_loss(shared_data, tiny_gpt2, tmp_path, monkeypatch):
    """No --lm-text: the beginning of the shared Tiny Shakespeare, else the packaged passage; its LM loss is the
    mean cross-entropy of every next token in its contexts."""
    from pathlib import Path

    import interp

    data = tmp_path / "shared"
    monkeypatch.setenv("INTERP_SHARED_DATA", str(data))
    if shared_data:
        play = data / "tinyshakespeare" / "input.txt"
        play.parent.mkdir(parents=True)
        play.write_text("".join(f"Citizen {i}:\nBefore we proceed any further, hear me speak.\n\n" for i in range(3000)))
        text, source = reference_text(None, 256)
        assert str(play) in source
        whole = play.read_text()
        assert whole.startswith(text) and 0 < len(text) < len(whole)  # a slice from the beginning, not the whole file
    else:
        text, source = reference_text(None, 256)
        packaged = [p for p in Path(interp.__file__).parent.rglob("*.txt") if p.name in source]
        assert len(packaged) == 1 and "packaged" in source, source
        assert text == packaged[0].read_text(encoding="utf-8")
    lm = lm_contexts(tiny_gpt2, text, source, n_tokens=256, context=64)
    assert lm.n_contexts == 4  # the slice holds the tokens asked for
    ids = tiny_gpt2.tokenizer.tokenizer.encode(text, add_special_tokens=False)[:256]
    rows = torch.tensor(ids).view(4, 64)
    assert torch.equal(lm.input_ids[:, -64:], rows)
    with torch.no_grad():
        logits = tiny_gpt2.raw_model(lm.input_ids).logits
    hand = torch.nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), lm.input_ids[:, 1:].flatten())
    assert lm_loss(tiny_gpt2, lm_batches(tiny_gpt2, lm)) == pytest.approx(hand.item(), abs=1e-5)
