"""remove_top (LASER's complement), composed edits of one fused tensor, string edits, fixed ranks."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits, new_weight
from interp.edits.lowrank import rank_for
from interp.edits.spec import Edit, parse_edits
from interp.edits.weights import resolve
from interp.errors import UsageError


def _params(model) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.raw_model.named_parameters()}


def test_remove_top_spellings():
    assert Edit.parse("3:mlp_out:remove_top:2") == Edit(3, "mlp_out", "remove_top", k=2)
    assert Edit.parse("3:mlp_out:remove_top:0.25") == Edit(3, "mlp_out", "remove_top", rho=0.25)
    assert Edit(3, "mlp_out", "remove_top", k=2).label == "3:mlp_out:remove_top:2"
    assert Edit.parse(Edit(3, "mlp_out", "remove_top", rho=0.25).label).rho == 0.25
    for bad in ("3:mlp_out:remove_top", "3:mlp_out:remove_top:0", "3:mlp_out:remove_top:1.0", "3:mlp_out:remove_top:-2"):
        with pytest.raises(UsageError):
            Edit.parse(bad)
    with pytest.raises(UsageError):
        Edit(3, "mlp_out", "lowrank", k=2)  # k is remove_top's


@pytest.mark.parametrize("matrix", ["mlp_in", "mlp_out", "attn_k"])
def test_remove_top_plus_lowrank_is_the_weight(tiny_gpt2, matrix):
    """W = (W minus its rank-k truncation) + (its rank-k truncation), for the same k."""
    handle = resolve(tiny_gpt2, 1, matrix)
    W = handle.read().float()
    k = 3
    top_removed = new_weight(handle, Edit(1, matrix, "remove_top", k=k))
    kept = new_weight(handle, Edit(1, matrix, "lowrank", rho=k / min(handle.shape)))
    assert rank_for(k / min(handle.shape), handle.shape) == k
    torch.testing.assert_close(top_removed + kept, W, atol=1e-5, rtol=1e-5)
    # what remove_top leaves has the top-k singular values gone: its largest is W's (k+1)-th
    s_w = torch.linalg.svdvals(W)
    s_rest = torch.linalg.svdvals(top_removed)
    torch.testing.assert_close(s_rest[0], s_w[k], atol=1e-4, rtol=1e-4)


def test_remove_top_restores_bit_identical(tiny_gpt2):
    before = _params(tiny_gpt2)
    with apply_edits(tiny_gpt2, ["1:mlp_out:remove_top:2"]) as report:
        assert report.n_matrices_edited == 1 and report.ranks == {"1:mlp_out:remove_top:2": 2}
    after = dict(tiny_gpt2.raw_model.named_parameters())
    assert all(torch.equal(after[n], before[n]) for n in before)


def test_two_edits_inside_one_fused_tensor_compose(tiny_gpt2):
    """GPT-2 keeps q, k, v in one c_attn tensor: editing q and k together is allowed, v untouched."""
    before = _params(tiny_gpt2)
    q0, k0, v0 = (resolve(tiny_gpt2, 0, m).read() for m in ("attn_q", "attn_k", "attn_v"))
    with apply_edits(tiny_gpt2, ["0:attn_q:0.5", "0:attn_k:0.5"]) as report:
        assert report.n_matrices_edited == 2
        q, k, v = (resolve(tiny_gpt2, 0, m).read() for m in ("attn_q", "attn_k", "attn_v"))
        assert not torch.equal(q, q0) and not torch.equal(k, k0) and torch.equal(v, v0)
        assert torch.linalg.matrix_rank(q.float()).item() == rank_for(0.5, tuple(q.shape))
    after = dict(tiny_gpt2.raw_model.named_parameters())
    assert all(torch.equal(after[n], before[n]) for n in before)


def test_edits_are_taken_as_strings_or_values(tiny_gpt2):
    with apply_edits(tiny_gpt2, "1:mlp_in:0.5") as a:
        pass
    with apply_edits(tiny_gpt2, [Edit(1, "mlp_in", "lowrank", 0.5)]) as b:
        pass
    assert a.edits == b.edits
    with pytest.raises(UsageError, match="an edit is a string"):
        parse_edits([42])
    with pytest.raises(TypeError, match="needs a loaded model"), apply_edits("not a model", ["1:mlp_in:0.5"]):
        pass


@pytest.mark.parametrize(
    ("rho", "shape", "k"),
    [(0.05, (64, 256), 3), (0.01, (64, 256), 1), (0.1, (576, 1536), 57), (0.5, (64, 64), 32), (0.999, (10, 20), 9), (1.0, (10, 20), 10)],
)
def test_rank_for_rounds_down(rho, shape, k):
    assert rank_for(rho, shape) == k


def test_truncation_keeps_the_top_directions(tiny_gpt2):
    """The rank-k edit equals the top-k SVD reconstruction computed by hand."""
    handle = resolve(tiny_gpt2, 1, "mlp_in")
    W = handle.read().double()
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    k = rank_for(0.25, handle.shape)
    by_hand = (U[:, :k] * S[:k]) @ Vh[:k]
    torch.testing.assert_close(new_weight(handle, Edit(1, "mlp_in", "lowrank", 0.25)).double(), by_hand, atol=1e-4, rtol=1e-4)
