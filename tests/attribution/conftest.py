"""Fixtures for the attribution tests: one thread (tiny matrices), a few prompts, a one-layer GPT-2.

(Tests here do not ``from conftest import ...``: with this file present that name is this module.)
"""

from __future__ import annotations

import pytest

PROMPTS = (
    "When the morning came, the travellers went to the market in Dunmorrow.",
    "A letter arrived from the capital; it said",
)


@pytest.fixture
def prompts() -> tuple[str, ...]:
    return PROMPTS


@pytest.fixture(scope="session")
def one_layer_gpt2_dir(tmp_path_factory, tiny_tokenizer):
    from interp.models.tiny import TinyConfig, make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("one-layer") / "gpt2", TinyConfig(arch="gpt2", n_layers=1), tiny_tokenizer)
