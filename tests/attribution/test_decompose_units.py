"""The decomposition's building blocks on hand-made tensors (what mutation testing found untested):
the shapes of the bias term, value vectors when the heads do not span d_model and heads are
grouped, and the relative error per position."""

from __future__ import annotations

import torch

from interp.attribution.decompose import Parts, attention_parts, diagonal, relative_error, value_vectors

GEN = torch.Generator().manual_seed(0)


def test_diagonal_puts_each_token_on_its_own_part_and_a_zero_bias():
    x = torch.randn(2, 3, 5, generator=GEN)
    p = diagonal(x)
    assert p.parts.shape == (2, 3, 3, 5) and p.bias.shape == (2, 3, 5)
    assert torch.equal(p.bias, torch.zeros(2, 3, 5))
    assert torch.equal(p.total(), x)
    for i in range(3):
        for j in range(3):
            assert torch.equal(p.parts[:, i, j], x[:, i] if i == j else torch.zeros(2, 5))


def test_attention_parts_bias_term_has_the_output_shape():
    pattern = torch.softmax(torch.randn(2, 4, 3, 3, generator=GEN), -1)
    f = torch.randn(2, 3, 4, 6, generator=GEN)
    plain = attention_parts(pattern, f, None)
    assert plain.bias.shape == (2, 3, 6) and torch.equal(plain.bias, torch.zeros(2, 3, 6))
    b_O = torch.randn(6, generator=GEN)
    with_bias = attention_parts(pattern, f, b_O)
    assert with_bias.bias.shape == (2, 3, 6) and torch.equal(with_bias.bias, b_O.expand(2, 3, 6))
    expected = torch.einsum("bhij,bjhd->bid", pattern, f) + b_O
    torch.testing.assert_close(with_bias.total(), expected)


def test_value_vectors_with_grouped_heads_not_spanning_d_model():
    """4 query heads reading 2 key/value heads of size 3 (H * d_head = 12) into d_model 5, by a loop."""
    B, T, H, n_kv, d_head, d_model = 2, 3, 4, 2, 3, 5
    v = torch.randn(B, T, n_kv, d_head, generator=GEN)
    W_O = torch.randn(d_model, H * d_head, generator=GEN)
    got = value_vectors(v, W_O, H)
    assert got.shape == (B, T, H, d_model)
    for h in range(H):
        kv = h // (H // n_kv)
        expected = v[:, :, kv] @ W_O[:, h * d_head : (h + 1) * d_head].T
        torch.testing.assert_close(got[:, :, h], expected)


def test_relative_error_per_position():
    actual = torch.tensor([[[3.0, 4.0], [0.0, 10.0]]])  # norms 5 and 10
    parts = Parts(torch.zeros(1, 2, 1, 2), torch.tensor([[[3.0, 5.0], [0.0, 10.0]]]))  # off by 1 at position 0 only
    err = relative_error(parts, actual)
    assert err.shape == (1, 2)
    torch.testing.assert_close(err, torch.tensor([[1.0 / 5.0, 0.0]]))
    zero = relative_error(Parts(torch.zeros(1, 1, 1, 2), torch.ones(1, 1, 2)), torch.zeros(1, 1, 2))
    assert torch.isfinite(zero).all()  # a zero output does not divide by zero
