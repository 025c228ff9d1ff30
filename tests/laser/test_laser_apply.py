"""apply_edits on the tiny GPT-2 / GPT-NeoX / Llama models: no-ops, restoration, ranks, controls."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.lowrank import rank_for
from interp.edits.means import sublayer_means
from interp.edits.spec import Edit
from interp.edits.svd_cache import SVDCache
from interp.edits.weights import resolve
from interp.errors import UsageError
from interp.scoring.forward import last_logits, make_batches


def logits(model, prompts):
    return torch.cat([last_logits(model, b) for b in make_batches(model, prompts, 8)])


def test_rho_one_is_an_exact_noop(tiny_model, prompts, weights_guard):
    before = weights_guard(tiny_model)
    base = logits(tiny_model, prompts)
    edits = [Edit(layer, name, "lowrank", 1.0) for layer in range(tiny_model.n_layers) for name in tiny_model.arch.matrix_names]
    with apply_edits(tiny_model, edits) as report:
        assert report.n_matrices_edited == 0
        for name, p in tiny_model.raw_model.named_parameters():
            assert torch.equal(p, before[name])
        assert torch.equal(logits(tiny_model, prompts), base)


def test_weights_restored_bit_identical_also_on_error(tiny_model, prompts, weights_guard):
    weights_guard(tiny_model)
    edits = [Edit(0, "mlp_in", "lowrank", 0.1), Edit(1, "mlp_out", "zero"), Edit(1, "attn_q", "random", 0.5), Edit(0, "attn_v", "lowrank", 0.25)]
    base = logits(tiny_model, prompts)
    with apply_edits(tiny_model, edits) as report:
        assert report.n_matrices_edited == 4
        assert not torch.allclose(logits(tiny_model, prompts), base)
    with pytest.raises(RuntimeError, match="boom"), apply_edits(tiny_model, edits):
        raise RuntimeError("boom")
    assert torch.equal(logits(tiny_model, prompts), base)


@pytest.mark.parametrize("rho", [0.05, 0.3])
def test_edited_matrix_has_rank_k_and_nothing_else_changes(tiny_model, rho, weights_guard):
    weights_guard(tiny_model)
    for name in tiny_model.arch.matrix_names:
        handle = resolve(tiny_model, 1, name)
        k = rank_for(rho, handle.shape)
        with apply_edits(tiny_model, [Edit(1, name, "lowrank", rho)]) as report:  # verify=True checks the rest
            W = handle.read().double()
            assert report.n_matrices_edited == 1 and report.ranks[f"1:{name}:lowrank:{rho:g}"] == k
            assert torch.linalg.matrix_rank(W, rtol=1e-5).item() == k, name


def test_every_registry_matrix_reaches_the_forward_pass(tiny_model, prompts, weights_guard):
    """An edit of a tensor the forward does not read would change nothing (GPT-NeoX's fused qkv is such a tensor)."""
    weights_guard(tiny_model)
    base = logits(tiny_model, prompts)
    for name in tiny_model.arch.matrix_names:
        with apply_edits(tiny_model, [Edit(1, name, "zero")]):
            assert (logits(tiny_model, prompts) - base).abs().max() > 1e-4, name


def test_zero_mlp_out_equals_zeroing_the_hook(tiny_model, prompts, weights_guard):
    weights_guard(tiny_model)
    batches = make_batches(tiny_model, prompts, 8)
    hook = ("blocks.1.hook_mlp_out", lambda act, hook: torch.zeros_like(act))
    with tiny_model.bridge.hooks(fwd_hooks=[hook]):
        hooked = torch.cat([last_logits(tiny_model, b) for b in batches])
    with apply_edits(tiny_model, [Edit(1, "mlp_out", "zero")]):
        edited = torch.cat([last_logits(tiny_model, b) for b in batches])
    torch.testing.assert_close(edited, hooked, atol=1e-5, rtol=0)


def test_random_rank(tiny_model, prompts, weights_guard):
    weights_guard(tiny_model)
    base = logits(tiny_model, prompts)
    with apply_edits(tiny_model, [Edit(1, "mlp_in", "random", 1.0)]):
        torch.testing.assert_close(logits(tiny_model, prompts), base, atol=1e-4, rtol=0)
    with apply_edits(tiny_model, [Edit(1, "mlp_in", "random", 0.25)], seed=0):
        rand = logits(tiny_model, prompts)
        W = resolve(tiny_model, 1, "mlp_in").read().double()
        assert torch.linalg.matrix_rank(W, rtol=1e-5).item() == rank_for(0.25, W.shape)
    with apply_edits(tiny_model, [Edit(1, "mlp_in", "random", 0.25)], seed=0):
        assert torch.equal(logits(tiny_model, prompts), rand)  # seeded
    with apply_edits(tiny_model, [Edit(1, "mlp_in", "lowrank", 0.25)]):
        assert (logits(tiny_model, prompts) - rand).abs().max() > 1e-4


def test_mean_edit_replaces_the_output_and_is_removed(tiny_model, prompts, weights_guard):
    weights_guard(tiny_model)
    batches = make_batches(tiny_model, prompts, 8)
    base = logits(tiny_model, prompts)
    means = sublayer_means(tiny_model, batches, [(1, "mlp")])
    assert means[(1, "mlp")].shape == (tiny_model.bridge.cfg.d_model,)
    mean = means[(1, "mlp")]
    with tiny_model.bridge.hooks(fwd_hooks=[("blocks.1.hook_mlp_out", lambda act, hook: mean.expand_as(act).clone())]):
        hooked = logits(tiny_model, prompts)
    with apply_edits(tiny_model, [Edit(1, "mlp_in", "mean")], means=means) as report:
        assert report.n_hooks == 1 and report.n_matrices_edited == 0
        torch.testing.assert_close(logits(tiny_model, prompts), hooked, atol=1e-6, rtol=0)
    assert torch.equal(logits(tiny_model, prompts), base)  # the hook is gone
    with pytest.raises(UsageError, match="mean edit needs"), apply_edits(tiny_model, [Edit(0, "mlp_in", "mean")], means=means):
        pass


def test_bad_layer_and_matrix(tiny_gpt2):
    with pytest.raises(UsageError, match=r"layer 7 is out of range: .* has layers 0\.\.1"), apply_edits(
        tiny_gpt2, [Edit(7, "mlp_in", "lowrank", 0.5)]
    ):
        pass
    with pytest.raises(UsageError, match="'mlp_gate' does not exist in GPT-2 models; choose from mlp_in, mlp_out"), apply_edits(
        tiny_gpt2, [Edit(0, "mlp_gate", "lowrank", 0.5)]
    ):
        pass


def test_svd_cache_hit_on_second_rho(tiny_gpt2, prompts, weights_guard):
    weights_guard(tiny_gpt2)
    cache = SVDCache()
    for rho in (0.5, 0.25, 0.1):
        with apply_edits(tiny_gpt2, [Edit(1, "mlp_in", "lowrank", rho)], svd_cache=cache):
            pass
    assert (cache.misses, cache.hits) == (1, 2)
