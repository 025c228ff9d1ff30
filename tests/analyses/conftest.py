"""Fixtures for the smoke tests of ``analyses/``: each script is imported from its file and its
``main(argv)`` run in-process on a tiny random model or tiny settings.

(Tests here do not ``from conftest import ...``: with this file present that name is this module.)
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from cli_helpers import run

ANALYSES = Path(__file__).resolve().parents[2] / "analyses"


def _load(name: str) -> ModuleType:
    path = ANALYSES / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"analyses_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses defined in a script look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def load_script():
    """``load_script("toy_birth")`` -> the script ``analyses/toy_birth.py`` as a module (its ``main`` unrun)."""
    return _load


@pytest.fixture(autouse=True)
def _one_thread_and_logging_restored():
    """Tiny models are fastest on one thread; the scripts set logger levels, which are put back."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    names = ("", "interp", "interp.checkpoint_sweeps")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    torch.set_num_threads(threads)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture(scope="session")
def laser_controls_run(tmp_path_factory, tiny_model_dirs) -> Path:
    """A ``interp laser-sweep --controls`` run folder on the tiny GPT-2 (what the LASER scripts read)."""
    out = tmp_path_factory.mktemp("analyses") / "laser" / "tiny-gpt2" / "factual-controls"
    result = run(
        "laser-sweep", "--model", str(tiny_model_dirs["gpt2"]), "--task", "factual", "--n", "8",
        "--layers", "all", "--rhos", "0.5,0.1", "--controls", "--lm-tokens", "256",
        "--out", str(out), "--device", "cpu",
    )
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def laser_run_copy(tmp_path, laser_controls_run) -> Path:
    """A private copy of the LASER run folder that a test may change."""
    copy = tmp_path / laser_controls_run.parent.name / laser_controls_run.name
    shutil.copytree(laser_controls_run, copy)
    return copy
