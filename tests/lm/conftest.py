"""Tiny training runs for the ``interp lm`` tests: the ``tiny`` preset on the rendered corpus sources only
(no shared data files needed), a few dozen steps of a 2-layer d_model-32 model (seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
#: ``--set`` options of every test run: the corpus rendered from the project's own prompt data
TINY_SETS: dict[str, object] = {"corpus.sources": ["facts", "ioi"]}
#: steps of a tiny test run: checkpoints 0, 1, 2, 4, 8, 16 and then 24, 32
TINY_STEPS = 32


def tiny_config(steps: int = TINY_STEPS, seed: int = 0, **sets: object):
    """The tiny preset with the test corpus (:data:`TINY_SETS`) and ``sets`` (dotted names with ``__`` for dots)."""
    from interp.lm.config import preset, with_overrides

    overrides = {**TINY_SETS, **{k.replace("__", "."): v for k, v in sets.items()}}
    return with_overrides(preset("tiny", steps=steps, seed=seed), overrides)


def cli_sets() -> list[str]:
    """:data:`TINY_SETS` as command-line options."""
    import json

    out: list[str] = []
    for key, value in TINY_SETS.items():
        out += ["--set", f"{key}={json.dumps(value)}"]
    return out


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """One tiny run trained to the end (shared by the tests that only read it)."""
    from interp.lm.train import train

    out = tmp_path_factory.mktemp("lm") / "run"
    train(tiny_config(), out, device="cpu", progress=False)
    return out
