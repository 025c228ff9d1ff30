"""Integrated gradients on the FF activation: completeness error shrinks with steps; the
elementwise limit is the closed form z_j * act(z) / z; the gated product integrates jointly."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from interp.attribution.attribute import attribute_texts
from interp.attribution.ig import gated_ig_parts, ig_parts, midpoints
from interp.models.loading import load_model


@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_ff_error_shrinks_as_ig_steps_grow(tiny_model_dirs, prompts, arch):
    model = load_model(str(tiny_model_dirs[arch]), device="cpu")
    worst = []
    for steps in (1, 4, 16, 64):
        batch, results = attribute_texts(model, prompts, layers=[0, 1], ig_steps=steps)
        real = batch.attention_mask.bool()
        worst.append(max(res.errors["ff"][real].max().item() for res in results.values()))
    assert all(a > b for a, b in zip(worst, worst[1:])), worst
    assert worst[-1] < worst[0] / 100, worst


def _random_parts(generator, B=2, T=5, d=7, scale=2.0):
    parts = torch.randn(B, T, T, d, generator=generator, dtype=torch.float64) * scale
    parts = parts * torch.tril(torch.ones(T, T, dtype=torch.float64))[None, :, :, None]
    bias = torch.randn(B, T, d, generator=generator, dtype=torch.float64)
    return parts, bias


def test_elementwise_ig_converges_to_the_closed_form():
    g = torch.Generator().manual_seed(0)
    parts, bias = _random_parts(g)
    act = nn.GELU()
    z = parts.sum(2) + bias
    exact_scale = act(z) / z  # IG with a zero baseline on an elementwise act: z_j * act(z) / z
    got_parts, got_bias = ig_parts(act, parts, bias, steps=2048)
    torch.testing.assert_close(got_parts, parts * exact_scale.unsqueeze(2), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(got_bias, bias * exact_scale, atol=1e-6, rtol=1e-5)


def test_gated_ig_is_complete_and_converges():
    g = torch.Generator().manual_seed(1)
    gate_parts, gate_bias = _random_parts(g)
    up_parts, up_bias = _random_parts(g)
    act = nn.SiLU()
    target = act(gate_parts.sum(2) + gate_bias) * (up_parts.sum(2) + up_bias)
    errors = []
    for steps in (2, 8, 32, 128):
        p, b = gated_ig_parts(act, gate_parts, gate_bias, up_parts, up_bias, steps)
        errors.append(((p.sum(2) + b - target).norm() / target.norm()).item())
    assert all(a > b for a, b in zip(errors, errors[1:])), errors
    assert errors[-1] < 1e-4
    # a token with zero gate and up parts gets nothing
    gate_parts[:, :, 0] = 0
    up_parts[:, :, 0] = 0
    p, _ = gated_ig_parts(act, gate_parts, gate_bias, up_parts, up_bias, 8)
    assert torch.all(p[:, :, 0] == 0)


def test_midpoints_need_one_step():
    assert midpoints(4, torch.device("cpu"), torch.float32).tolist() == [0.125, 0.375, 0.625, 0.875]
    with pytest.raises(ValueError):
        midpoints(0, torch.device("cpu"), torch.float32)
