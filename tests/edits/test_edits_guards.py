"""What mutation testing of ``interp/edits`` found untested: the thin float32 SVD and ``truncate``,
``remove_top`` of every direction, the SVD cache on ``remove_top`` and across matrices, the
changed-matrix check when a write goes wrong (its two messages), and the spellings and rho rules
of :mod:`interp.edits.spec` with their messages.
"""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.lowrank import rank_for, svd, truncate
from interp.edits.spec import Edit, check_rho
from interp.edits.svd_cache import SVDCache
from interp.edits.weights import MatrixHandle, resolve
from interp.errors import UsageError


@pytest.fixture
def restored(tiny_gpt2):
    """The shared tiny GPT-2, checked bit-identical after the test."""
    before = {name: p.detach().clone() for name, p in tiny_gpt2.raw_model.named_parameters()}
    yield tiny_gpt2
    for name, p in tiny_gpt2.raw_model.named_parameters():
        assert torch.equal(p, before[name]), name


# -- lowrank.py ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_svd_is_thin_and_float32(dtype):
    W = torch.randn(16, 40, generator=torch.Generator().manual_seed(0), dtype=dtype)
    d = svd(W)
    assert (d.U.shape, d.S.shape, d.Vh.shape) == ((16, 16), (16,), (16, 40))
    assert d.U.dtype == d.S.dtype == d.Vh.dtype == torch.float32
    assert d.full_rank == 16 and d.nbytes == (16 * 16 + 16 + 16 * 40) * 4
    torch.testing.assert_close(d.reconstruct(16), W.float(), atol=1e-5, rtol=0)
    assert d.reconstruct(4).dtype == torch.float32 and d.reconstruct(4, dtype=dtype).dtype == dtype


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_truncate_keeps_rank_k_in_the_weights_dtype(dtype):
    W = torch.randn(24, 10, generator=torch.Generator().manual_seed(1), dtype=dtype)
    out = truncate(W, 0.5)
    assert out.dtype == dtype and out.shape == W.shape
    k = rank_for(0.5, (24, 10))
    assert k == 5 and torch.linalg.matrix_rank(out.double(), rtol=1e-5).item() == k
    U, S, Vh = torch.linalg.svd(W.double(), full_matrices=False)
    torch.testing.assert_close(out.double(), (U[:, :k] * S[:k]) @ Vh[:k], atol=1e-4, rtol=0)
    same = truncate(W, 1.0)  # full rank: W itself, as a copy
    assert torch.equal(same, W) and same.data_ptr() != W.data_ptr()


# -- apply.py: remove_top, the SVD cache -------------------------------------------------------------


def test_remove_top_of_every_direction_is_exactly_zero(restored):
    handle = resolve(restored, 0, "mlp_in")
    full = min(handle.shape)
    with apply_edits(restored, [Edit(0, "mlp_in", "remove_top", k=full)]) as report:
        assert torch.equal(handle.read(), torch.zeros(handle.shape))
        assert report.n_matrices_edited == 1


@pytest.mark.parametrize("spelling", ["{layer}:mlp_in:lowrank:0.25", "{layer}:mlp_in:remove_top:3"])
def test_the_svd_cache_is_used_per_matrix(restored, spelling):
    """Layer 0, layer 1, then layer 0 again through one cache: two SVDs, one hit, and the same
    weights as without a cache."""
    cache = SVDCache()
    seen = []
    for layer in (0, 1, 0):
        edit = spelling.format(layer=layer)
        with apply_edits(restored, [edit], svd_cache=cache):
            cached = resolve(restored, layer, "mlp_in").read()
        with apply_edits(restored, [edit]):
            plain = resolve(restored, layer, "mlp_in").read()
        torch.testing.assert_close(cached, plain, atol=1e-6, rtol=0)
        seen.append((cache.misses, cache.hits))
    assert seen == [(1, 0), (2, 0), (2, 1)]


# -- apply.py: the changed-matrix check -------------------------------------------------------------


def _sloppy_write(also):
    real = MatrixHandle.write

    def write(self, W):
        real(self, W)
        also(self)

    return write


@pytest.mark.parametrize(
    "edits",
    [["0:attn_q:0.25"], ["0:mlp_in:0.25", "0:attn_q:0.25"], ["0:attn_q:0.25", "1:attn_q:0.25"]],
    ids=["alone", "after-an-unfused-edit", "next-to-another-layer's-fused-edit"],
)
def test_a_write_outside_its_fused_part_is_caught(restored, monkeypatch, edits):
    """GPT-2's q, k and v share ``c_attn``: an edit of layer 0's q that also changes k's entries is an
    error, whatever other edits come with it, and the weights are restored."""
    spilled = []  # (weight, index, value before): the faulty write runs on applying and on restoring

    def spill(handle):
        if handle.layer != 0 or handle.ref.fused == "none":
            return
        outside = tuple((~handle.part_mask()).nonzero()[0])
        spilled.append((handle.weight, outside, handle.weight[outside].detach().clone()))
        with torch.no_grad():
            handle.weight[outside] += 1.0

    monkeypatch.setattr(MatrixHandle, "write", _sloppy_write(spill))
    with pytest.raises(RuntimeError, match="editing layer 0 attn_q changed other parts of its fused tensor"), apply_edits(restored, edits):
        pass
    monkeypatch.undo()
    with torch.no_grad():  # the spill is outside what apply_edits saved: undo it by hand
        for weight, outside, value in reversed(spilled):
            weight[outside] = value
    with apply_edits(restored, [Edit(0, "attn_q", "lowrank", 0.25), Edit(0, "attn_k", "lowrank", 0.25)]):
        pass  # two parts of one fused tensor, each written properly: no error


def test_a_write_into_another_tensor_is_caught(restored, monkeypatch):
    other = resolve(restored, 1, "mlp_out").weight
    value = other[0, 0].detach().clone()

    def stray(handle):  # runs on applying and on restoring
        with torch.no_grad():
            other[0, 0] += 1.0

    monkeypatch.setattr(MatrixHandle, "write", _sloppy_write(stray))
    with pytest.raises(RuntimeError, match="edit changed 2 weight tensors, expected 1: the registry entry points at the wrong tensor"), (
        apply_edits(restored, [Edit(1, "mlp_in", "lowrank", 0.25)])
    ):
        pass
    monkeypatch.undo()
    with torch.no_grad():  # the stray write is not one apply_edits saved: undo it by hand
        other[0, 0] = value


# -- spec.py ----------------------------------------------------------------------------------------


def test_rho_rules_and_their_messages():
    with pytest.raises(UsageError, match=r"rho must be a number in \(0, 1\], got 'abc'"):
        check_rho("abc")
    assert check_rho(1.0) == 1.0 and check_rho("0.5") == 0.5
    with pytest.raises(UsageError, match=r"rho must be in \(0, 1\), got 1.0"):
        check_rho(1.0, upper_inclusive=False)
    with pytest.raises(UsageError, match=r"rho must be in \(0, 1\), got 0.0"):
        check_rho(0.0, upper_inclusive=False)
    with pytest.raises(UsageError, match=r"rho must be in \(0, 1\], got 0.0"):
        check_rho(0.0)
    with pytest.raises(UsageError, match=r"\(0, 1\)"):
        Edit(0, "mlp_in", "remove_top", rho=0.0)


def test_unknown_kind_message_lists_the_kinds():
    with pytest.raises(UsageError, match="unknown edit kind 'bogus'; choose from lowrank, remove_top, random, zero, mean"):
        Edit.parse("1:mlp_in:bogus")


def test_edit_from_a_json_value():
    edit = Edit(2, "attn_v", "remove_top", k=3)
    assert Edit.from_json_value({"layer": 2, "matrix": "attn_v", "kind": "remove_top", "k": 3}) == edit
    assert Edit.from_json_value(edit.to_json_value()) == edit


def test_edit_fields_are_checked_with_their_messages():
    for layer in (True, 1.5, "1", -1):
        with pytest.raises(UsageError, match=f"layer must be an integer >= 0, got {layer!r}"):
            Edit(layer, "mlp_in", "zero")
    with pytest.raises(UsageError, match="a lowrank edit takes a rho, not a number of directions k=3"):
        Edit(0, "mlp_in", "lowrank", k=3)
    for k in (0, True, 2.5):
        with pytest.raises(UsageError, match=f"remove_top needs k >= 1 directions, got {k!r}"):
            Edit(0, "mlp_in", "remove_top", k=k)
    assert Edit(0, "mlp_in", "remove_top", k=1).label == "0:mlp_in:remove_top:1"  # one direction is allowed
    with pytest.raises(UsageError, match=r"give remove_top either k or rho, not both \(k=2, rho=0.5\)"):
        Edit(0, "mlp_in", "remove_top", rho=0.5, k=2)
    with pytest.raises(UsageError, match="unknown matrix 'mlp_up'; choose from mlp_in, mlp_gate, mlp_out, attn_q, attn_k, attn_v, attn_o"):
        Edit(0, "mlp_up", "zero")
    with pytest.raises(UsageError, match="unknown edit kind 'bogus'; choose from lowrank, remove_top, random, zero, mean"):
        Edit(0, "mlp_in", "bogus")


def test_parse_edits_names_a_wrong_type():
    from interp.edits.spec import parse_edits

    with pytest.raises(UsageError, match="an edit is a string such as '28:mlp_in:0.01' or an Edit, got int"):
        parse_edits([5])


# -- weights.py -------------------------------------------------------------------------------------


def test_a_handle_knows_its_layer_and_matrix_and_reads_any_tensor_shaped_like_its_weight(restored):
    handle = resolve(restored, 1, "attn_k")
    assert (handle.layer, handle.matrix, handle.key) == (1, "attn_k", (1, "attn_k"))
    other = torch.arange(handle.weight.numel(), dtype=torch.float32).view(handle.weight.shape)
    assert torch.equal(handle.read(other), handle._weight_part(other).reshape(handle.shape))
    assert not torch.equal(handle.read(other), handle.read())


def test_resolve_names_a_missing_or_wrong_registry_path(restored):
    from dataclasses import replace

    from interp.models.registry import WeightRef

    arch = restored.arch
    missing = replace(restored, arch=replace(arch, matrices={**arch.matrices, "mlp_in": WeightRef("mlp.nowhere.weight", layout="in_out")}))
    with pytest.raises(UsageError, match=r"layer 0 of .* has no mlp_in \(no mlp.nowhere.weight in that block\)"):
        resolve(missing, 0, "mlp_in")
    module = replace(restored, arch=replace(arch, matrices={**arch.matrices, "mlp_in": WeightRef("mlp", layout="in_out")}))
    kind = type(restored.raw_blocks[0].mlp).__name__
    with pytest.raises(TypeError, match=f"mlp in block 0 is a {kind}, not a tensor"):
        resolve(module, 0, "mlp_in")


def test_toy_per_head_matrices_act_as_the_model_does():
    """Toy models store TransformerLens per-head tensors (W_Q [heads, in, d_head], W_O [heads, d_head, out]):
    the handle's ``(out, in)`` matrix maps the attention input to q and z to the attention output."""
    from interp.models.loading import wrap_toy
    from interp.toy.configs import ModelConfig
    from interp.toy.model import ToyTransformer

    config = ModelConfig(d_model=32, n_heads=4, d_mlp=48, d_vocab=20, n_ctx=16, identity_query=False)
    toy = ToyTransformer(config, seed=0)
    model = wrap_toy(toy)
    tokens = torch.randint(0, 20, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        _, cache = toy.run_with_cache(tokens)
    x = cache["blocks.0.hook_resid_pre"]  # no LayerNorm in this config: the attention reads x itself
    q = resolve(model, 0, "attn_q").read()
    assert q.shape == (4 * 8, 32)
    torch.testing.assert_close(x @ q.T, cache["blocks.0.attn.hook_q"].flatten(2), atol=1e-5, rtol=1e-5)
    o = resolve(model, 0, "attn_o").read()
    assert o.shape == (32, 4 * 8)
    torch.testing.assert_close(cache["blocks.0.attn.hook_z"].flatten(2) @ o.T, cache["blocks.0.hook_attn_out"], atol=1e-5, rtol=1e-5)
    for name in ("attn_q", "attn_o"):  # writing the matrix back stores it where it came from
        handle = resolve(model, 0, name)
        before = handle.weight.detach().clone()
        handle.write(handle.read() * 2)
        assert torch.equal(handle.weight.detach(), before * 2)
        handle.write(before.new_zeros(handle.shape) + handle.read() / 2)
