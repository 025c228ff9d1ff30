"""Fixtures for the task tests: the tiny tokenizer wrapped with a BOS policy; on it half of
the IOI names are one token and the other half split (the filter has work to do).
"""

from __future__ import annotations

import pytest

from interp.models.tokens import PromptTokenizer


@pytest.fixture(scope="session")
def prompt_tokenizer(tiny_tokenizer) -> PromptTokenizer:
    return PromptTokenizer(tiny_tokenizer, prepend_bos=True)


@pytest.fixture(scope="session")
def ioi_tokenizer(prompt_tokenizer) -> PromptTokenizer:
    """The tiny tokenizer has seen half of the IOI names in running text (see
    ``interp.models.tiny._training_text``): those are one token, the rest stay split."""
    return prompt_tokenizer
