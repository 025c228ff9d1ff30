"""Fixtures for the toy-trainer tests: tiny configs, seeded RNGs, a module-scoped tiny model."""

from __future__ import annotations

import random

import pytest
import torch

from interp.toy.configs import RunConfig, preset, with_overrides
from interp.toy.model import ToyTransformer

TINY = {
    "model.d_model": 32,
    "model.d_mlp": 64,
    "model.n_ctx": 32,
    "data.seq_len": 32,
    "optim.batch_size": 16,
    "optim.steps": 20,
    "eval_every": 10,
    "eval_sequences": 16,
}


def tiny_config(
    name: str = "chen", task: str | None = None, n_layers: int = 2, arch: str | None = None, **overrides: object
) -> RunConfig:
    """A named preset shrunk to d_model 32, sequences of 32 tokens, batches of 16."""
    return with_overrides(preset(name, task, n_layers=n_layers, arch=arch), {**TINY, **overrides})


@pytest.fixture(autouse=True)
def _seed_everything_one_thread():
    """Seed every RNG; run on one CPU thread (tiny models are faster so, and the cores are shared)."""
    random.seed(0)
    torch.manual_seed(0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def make_config():
    """The :func:`tiny_config` factory (tests take it as a fixture rather than importing conftest)."""
    return tiny_config


@pytest.fixture
def chen_tiny() -> RunConfig:
    return tiny_config("chen")


@pytest.fixture(scope="module")
def toy_model() -> tuple[ToyTransformer, RunConfig]:
    cfg = tiny_config("chen")
    return ToyTransformer(cfg.model, seed=1), cfg
