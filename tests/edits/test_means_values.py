"""The mean sublayer outputs a ``mean`` edit substitutes: their values, not only their shape.

Each mean is checked against a hand computation (every token's output recorded by a hook, one
context at a time, averaged in float64), over batches of unequal sizes and with padding, so an
average over the wrong axis (per batch, per position, per context) or over padded positions
differs. Then end to end: an edited evaluation through the front door equals one with the
hand-computed mean substituted.

The means are ``interp.edits.means.sublayer_means``; the contexts come from ``interp.scoring.lm_loss``.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import interp
from interp.edits.apply import apply_edits
from interp.edits.means import sublayer_means as mean_outputs
from interp.scoring.evaluate import evaluate
from interp.scoring.forward import make_batches
from interp.scoring.lm_loss import DEFAULT_LM_TOKENS, lm_batches, lm_contexts, reference_text

TEXT = " ".join(
    [
        "When the morning came, the travellers went to the market in the town.",
        "A letter arrived from the capital; it said that the king had gone to the sea.",
        "In the evening, the children played in the garden while their mother read a book.",
    ]
    * 12
)
KEYS = [(0, "attn"), (0, "mlp"), (1, "attn"), (1, "mlp")]


def _hand_means(model, contexts: list[list[int]], keys) -> dict[tuple[int, str], torch.Tensor]:
    """Mean of every token's sublayer output over ``contexts``, each run on its own (no padding)."""
    rows: dict[tuple[int, str], list[torch.Tensor]] = {key: [] for key in keys}

    def record(key):
        def hook(act, hook=None):  # noqa: ARG001
            rows[key].append(act[0].detach().double())  # (pos, d_model) of the one context
            return act

        return hook

    hooks = [(f"blocks.{layer}.hook_{kind}_out", record((layer, kind))) for layer, kind in keys]
    with torch.no_grad(), model.bridge.hooks(fwd_hooks=hooks):
        for ids in contexts:
            model.bridge(torch.tensor([ids]))
    return {key: torch.cat(rows[key]).mean(dim=0) for key in keys}


def test_means_over_unequal_batches_equal_the_hand_computation(long_tiny):
    lm = lm_contexts(long_tiny, TEXT, "test", n_tokens=5 * 16, context=16)
    assert lm.n_contexts == 5
    hand = _hand_means(long_tiny, lm.input_ids.tolist(), KEYS)
    for batch_size in (2, 5):  # batches of 2, 2, 1 contexts; all five in one
        got = mean_outputs(long_tiny, lm_batches(long_tiny, lm, batch_size=batch_size), KEYS)
        assert sorted(got) == sorted(KEYS)
        for key in KEYS:
            assert got[key].shape == (long_tiny.bridge.cfg.d_model,)
            torch.testing.assert_close(got[key].double(), hand[key], atol=1e-5, rtol=1e-5, msg=str(key))
    # the check can tell: the mean of the per-context means, or of the per-position means, is another vector
    per_context = _hand_means(long_tiny, lm.input_ids[:1].tolist(), [(1, "mlp")])[(1, "mlp")]
    assert (per_context - hand[(1, "mlp")]).abs().max() > 1e-3


def test_only_the_lower_layers_are_needed(long_tiny):
    """Means of layer 0 alone (the forward stops early) equal those computed with every layer."""
    lm = lm_contexts(long_tiny, TEXT, "test", n_tokens=3 * 16, context=16)
    batches = lm_batches(long_tiny, lm, batch_size=2)
    low = mean_outputs(long_tiny, batches, [(0, "mlp")])
    full = mean_outputs(long_tiny, batches, KEYS)
    torch.testing.assert_close(low[(0, "mlp")], full[(0, "mlp")], atol=1e-6, rtol=0)


def test_padded_batches_average_real_tokens_only(long_tiny):
    """Prompts of different lengths, right-padded into one batch: the padding is not averaged in."""
    texts = ["When the morning came, the travellers went to the market in the town.", "A letter arrived", "The king"]
    contexts = [long_tiny.tokenizer.encode_prompt(t) for t in texts]
    assert len({len(c) for c in contexts}) == 3
    hand = _hand_means(long_tiny, contexts, KEYS)
    got = mean_outputs(long_tiny, make_batches(long_tiny, texts, batch_size=3), KEYS)
    for key in KEYS:
        torch.testing.assert_close(got[key].double(), hand[key], atol=1e-5, rtol=1e-5, msg=str(key))


def test_an_edited_evaluation_substitutes_the_mean_of_the_reference_text(long_tiny):
    """``interp.evaluate(model, task, edits=["1:mlp_out:mean"])`` equals the evaluation with the
    hand-computed mean of the default reference text put in place of layer 1's MLP output."""
    prompt_set = interp.build_task("ioi", long_tiny, n=6, seed=0)
    text, source = reference_text(None, DEFAULT_LM_TOKENS)
    contexts = lm_contexts(long_tiny, text, source, n_tokens=DEFAULT_LM_TOKENS).input_ids.tolist()
    hand = _hand_means(long_tiny, contexts, [(1, "mlp")])
    front = interp.evaluate(long_tiny, prompt_set, edits=["1:mlp_out:mean"], progress=False)
    with apply_edits(long_tiny, ["1:mlp_out:mean"], means={key: v.float() for key, v in hand.items()}):
        expected = evaluate(long_tiny, prompt_set, progress=False)
    for name in ("p_answer", "logp_answer_full", "logit_diff"):
        np.testing.assert_allclose(front[name], expected[name], rtol=1e-4, atol=1e-7, err_msg=name)
    # a mean off by a little gives other numbers: the comparison above can tell
    off = {key: (v * 1.05).float() for key, v in hand.items()}
    with apply_edits(long_tiny, ["1:mlp_out:mean"], means=off):
        other = evaluate(long_tiny, prompt_set, progress=False)
    assert not np.allclose(front["p_answer"], other["p_answer"], rtol=1e-4, atol=1e-7)


@pytest.fixture(autouse=True)
def _no_edit_left(long_tiny):
    """The shared model leaves each test unedited."""
    ids = torch.tensor([long_tiny.tokenizer.encode_prompt("The king")])
    with torch.no_grad():
        before = long_tiny.bridge(ids)
    yield
    with torch.no_grad():
        assert torch.equal(long_tiny.bridge(ids), before)


@pytest.mark.parametrize("matrix, replaced, kept", [("attn_o", "attn", "mlp"), ("attn_q", "attn", "mlp"), ("mlp_in", "mlp", "attn")])
def test_a_mean_edit_replaces_its_own_sublayer_output(long_tiny, matrix, replaced, kept):
    """An ``attn_*`` mean edit replaces the attention output, an ``mlp_*`` one the MLP output, with the given vector."""
    d_model = int(long_tiny.bridge.cfg.d_model)
    gen = torch.Generator().manual_seed(3)
    means = {(1, "attn"): torch.randn(d_model, generator=gen), (1, "mlp"): torch.randn(d_model, generator=gen)}
    ids = torch.tensor([long_tiny.tokenizer.encode_prompt("When the morning came, the travellers went to")])
    seen: dict[str, torch.Tensor] = {}

    def record(name):
        def hook(act, hook=None):  # noqa: ARG001
            seen[name] = act.detach().clone()
            return act

        return hook

    hooks = [(f"blocks.1.hook_{kind}_out", record(kind)) for kind in ("attn", "mlp")]
    with torch.no_grad(), long_tiny.bridge.hooks(fwd_hooks=hooks):
        long_tiny.bridge(ids)
    plain = dict(seen)
    with apply_edits(long_tiny, [f"1:{matrix}:mean"], means=means) as report:
        assert report.n_hooks == 1
        with torch.no_grad(), long_tiny.bridge.hooks(fwd_hooks=hooks):
            long_tiny.bridge(ids)
    torch.testing.assert_close(seen[replaced][0], means[(1, replaced)].expand(ids.shape[1], -1))
    assert not torch.allclose(seen[kept], means[(1, kept)].expand_as(seen[kept]))
    if replaced == "mlp":  # the attention output comes before the MLP: untouched by an MLP mean edit
        torch.testing.assert_close(seen["attn"], plain["attn"])
