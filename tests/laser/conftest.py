"""Fixtures for the LASER tests: a few prompts, and helpers that snapshot weights and check them
bit for bit (one torch thread per test module comes from the root conftest).

(Tests here do not ``from conftest import ...``: with this file present that name is this module.)
"""

from __future__ import annotations

import pytest
import torch

PROMPTS = (
    "The city is located in",
    "When the morning came, the",
    "A letter arrived from the",
    "the king had gone to the sea and",
    "In the evening, the children played in",
)


@pytest.fixture
def prompts() -> tuple[str, ...]:
    return PROMPTS


def snapshot(model) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.raw_model.named_parameters()}


def assert_bit_identical(model, before: dict[str, torch.Tensor]) -> None:
    after = dict(model.raw_model.named_parameters())
    assert set(after) == set(before)
    changed = [name for name, p in after.items() if not torch.equal(p, before[name])]
    assert not changed, f"weights not restored: {changed[:5]}"


@pytest.fixture
def weights_guard():
    """``guard(model)`` snapshots the weights; at teardown every snapshot is checked bit for bit."""
    taken = []

    def guard(model):
        taken.append((model, snapshot(model)))
        return taken[-1][1]

    yield guard
    for model, before in taken:
        assert_bit_identical(model, before)
