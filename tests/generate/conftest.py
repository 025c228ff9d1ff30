"""Fixtures for the generation tests: tiny models with room for few-shot prompts (n_ctx 1024),
one per architecture, and one thread per test process.

(Tests here do not ``from conftest import ...``: with this file present that name is this module.)
"""

from __future__ import annotations

import pytest
import torch

from interp.models.tiny import TINY_ARCHS, TinyConfig, make_tiny_model


def _sharpen(folder, seed: int, std: float = 0.15) -> None:
    """Redraw the matrices with a larger spread: the default initialisation (std 0.02) makes a tiny
    model repeat one token whatever the prompt, which would make generation tests vacuous."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            if param.ndim >= 2:
                param.copy_(torch.randn(param.shape, generator=generator) * std)
    model.save_pretrained(folder)


@pytest.fixture(scope="session")
def long_tiny_dirs(tmp_path_factory, tiny_tokenizer):
    """Tiny models with a 1024-token context whose greedy continuations depend on the prompt."""
    root = tmp_path_factory.mktemp("tiny-long")
    dirs = {}
    for i, arch in enumerate(TINY_ARCHS):
        dirs[arch] = make_tiny_model(root / arch, TinyConfig(arch=arch, n_ctx=1024), tiny_tokenizer)
        _sharpen(dirs[arch], seed=i)
    return dirs


@pytest.fixture(scope="session", params=TINY_ARCHS)
def long_tiny(request, long_tiny_dirs):
    """A loaded tiny model with a 1024-token context, once per architecture."""
    from interp.models.loading import load_model

    return load_model(str(long_tiny_dirs[request.param]), device="cpu")
