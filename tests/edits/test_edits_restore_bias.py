"""Every edit kind restores every parameter bit-identically, biases included, on a tiny model whose
biases are nonzero (the stock tiny models have all-zero biases, so a forgotten bias restore would
pass unnoticed there), after a normal exit and after an exception inside the block."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.weights import resolve
from interp.models.loading import load_model

D_MODEL = 64  # interp.models.tiny.TinyConfig's default

#: (arch, edits applied together); the GPT-2 attention edits share the fused c_attn weight and bias
CASES = [
    ("gpt2", ["0:mlp_in:zero"]),
    ("gpt2", ["1:mlp_out:zero"]),
    ("gpt2", ["0:attn_q:zero", "0:attn_k:zero"]),
    ("gpt2", ["1:attn_o:zero", "1:mlp_in:lowrank:0.25", "0:attn_v:remove_top:2", "0:mlp_out:random:0.5"]),
    ("gpt2", ["1:mlp_in:mean", "0:attn_q:mean", "0:mlp_in:zero"]),
    ("gpt-neox", ["0:mlp_in:zero"]),
    ("gpt-neox", ["1:attn_k:zero", "1:attn_v:zero"]),
    ("gpt-neox", ["0:attn_o:zero", "1:mlp_out:lowrank:0.1", "0:attn_q:remove_top:0.25", "1:mlp_in:random:0.5"]),
]


@pytest.fixture(scope="module")
def biased_models(tiny_model_dirs):
    """Fresh tiny GPT-2 and GPT-NeoX models (not the shared session ones) with seeded random biases."""
    gen = torch.Generator().manual_seed(1234)
    models = {}
    for arch in ("gpt2", "gpt-neox"):
        model = load_model(str(tiny_model_dirs[arch]), device="cpu")
        n_bias = 0
        with torch.no_grad():
            for name, param in model.raw_model.named_parameters():
                if name.endswith(".bias"):
                    param.copy_(torch.randn(param.shape, generator=gen, dtype=torch.float32).to(param.dtype))
                    n_bias += 1
        assert n_bias > 0, f"the tiny {arch} model has no bias parameters"
        models[arch] = model
    return models


def _snapshot(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.raw_model.named_parameters()}


def _assert_restored(model, before: dict[str, torch.Tensor]) -> None:
    after = dict(model.raw_model.named_parameters())
    assert set(after) == set(before)
    differ = [name for name in before if not torch.equal(after[name].detach(), before[name])]
    assert not differ, f"not restored bit-identically: {differ}"


def _means(edits: list[str]) -> dict[tuple[int, str], torch.Tensor]:
    gen = torch.Generator().manual_seed(7)
    keys = {(int(e.split(":")[0]), "attn" if e.split(":")[1].startswith("attn_") else "mlp") for e in edits}
    return {key: torch.randn(D_MODEL, generator=gen) for key in sorted(keys)}


def _zero_edit_biases(model, edits: list[str]) -> list[tuple[str, torch.Tensor | None]]:
    """The bias part of each ``zero`` edit's matrix, read inside the block."""
    out = []
    for text in edits:
        layer, matrix, *rest = text.split(":")
        if rest == ["zero"]:
            out.append((text, resolve(model, int(layer), matrix).read_bias()))
    return out


@pytest.mark.parametrize(("arch", "edits"), CASES, ids=[f"{a}-{'+'.join(e)}" for a, e in CASES])
def test_every_parameter_restored_with_nonzero_biases(biased_models, arch, edits):
    model = biased_models[arch]
    before = _snapshot(model)
    zero_biases = []
    with apply_edits(model, edits, means=_means(edits)) as report:
        zero_biases = _zero_edit_biases(model, edits)
        changed = [name for name, p in model.raw_model.named_parameters() if not torch.equal(p.detach(), before[name])]
        assert changed, "the edits changed nothing: the restore check below would be empty"
    for label, bias in zero_biases:  # the zero edits really overwrote a nonzero bias inside the block
        assert bias is not None and torch.count_nonzero(bias) == 0, label
    assert report.n_matrices_edited == sum(not e.endswith(":mean") for e in edits)
    assert report.n_hooks == sum(e.endswith(":mean") for e in edits)
    _assert_restored(model, before)


@pytest.mark.parametrize(("arch", "edits"), CASES[:4], ids=[f"{a}-{'+'.join(e)}" for a, e in CASES[:4]])
def test_restored_after_an_exception_inside_the_block(biased_models, arch, edits):
    model = biased_models[arch]
    before = _snapshot(model)
    with pytest.raises(KeyError, match="inside the block"), apply_edits(model, edits, means=_means(edits)):
        assert any(not torch.equal(p.detach(), before[n]) for n, p in model.raw_model.named_parameters())
        raise KeyError("inside the block")
    _assert_restored(model, before)


def test_zero_edit_bias_is_the_nonzero_original_again(biased_models):
    """A direct look at one bias: nonzero before, zero inside, the same values bit for bit after."""
    model = biased_models["gpt2"]
    handle = resolve(model, 1, "mlp_in")
    original = handle.read_bias()
    assert original is not None and torch.count_nonzero(original) == original.numel()
    with apply_edits(model, ["1:mlp_in:zero"]):
        assert torch.count_nonzero(handle.read_bias()) == 0
    assert torch.equal(handle.read_bias(), original)
