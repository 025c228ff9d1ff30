"""MatrixHandle: (out, in) views of Linear, Conv1D (transposed) and fused q/k/v layouts."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interp.edits.weights import MatrixHandle
from interp.models.registry import WeightRef

D_IN, HEADS, HEAD_DIM = 6, 2, 3
D_OUT = HEADS * HEAD_DIM


def _reference_part(stored: torch.Tensor, ref: WeightRef) -> torch.Tensor:
    """The (out, in) matrix of part ``ref.part``, by explicit indexing."""
    t = stored.T if ref.layout == "in_out" else stored
    if ref.fused == "concat":
        return t[ref.part * D_OUT : (ref.part + 1) * D_OUT]
    if ref.fused == "per_head":
        rows = [h * 3 * HEAD_DIM + ref.part * HEAD_DIM + i for h in range(HEADS) for i in range(HEAD_DIM)]
        return t[rows]
    return t


@pytest.mark.parametrize(
    "ref, shape",
    [
        (WeightRef("w"), (D_OUT, D_IN)),
        (WeightRef("w", layout="in_out"), (D_IN, D_OUT)),
        (WeightRef("w", layout="in_out", fused="concat", part=1, n_parts=3), (D_IN, 3 * D_OUT)),
        (WeightRef("w", fused="per_head", part=2, n_parts=3), (3 * D_OUT, D_IN)),
        (WeightRef("w", fused="per_head", part=0, n_parts=3), (3 * D_OUT, D_IN)),
    ],
)
def test_read_write_touch_only_the_part(ref, shape):
    weight = nn.Parameter(torch.randn(shape))
    bias = nn.Parameter(torch.randn(shape[1] if ref.layout == "in_out" else shape[0]))
    handle = MatrixHandle(layer=0, matrix="attn_q", ref=ref, weight=weight, bias=bias, n_heads=HEADS)
    before = weight.detach().clone()
    expected = _reference_part(before, ref)
    assert handle.shape == tuple(expected.shape)
    assert torch.equal(handle.read(), expected)
    new = torch.randn(handle.shape)
    handle.write(new)
    assert torch.equal(handle.read(), new)
    assert torch.equal(_reference_part(weight.detach(), ref), new)
    outside = ~handle.part_mask()
    assert torch.equal(weight.detach()[outside], before[outside])
    assert int(handle.part_mask().sum()) == new.numel()
    b_before = bias.detach().clone()
    handle.write_bias(torch.zeros_like(handle.read_bias()))
    assert int((bias.detach() != b_before).sum()) == handle.read_bias().numel()  # only this part's bias
