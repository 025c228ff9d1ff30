"""Shared fixtures: tiny random models (GPT-2, GPT-NeoX, Llama) with an offline tokenizer (also
with a 1024-token context, for few-shot prompts),
a fake Hugging Face hub cache of Pythia-named checkpoints, and seeded RNGs.

Test tiers (docs/testing.md): a test that loads an embedded model (SmolLM2, Gemma) is marked
``real_model`` (a test using a fixture named in ``REAL_MODEL_FIXTURES`` is marked here), a heavy
one ``slow``; ``make test`` runs neither. A test that loads an embedded model without the marker
fails, naming the marker, so the fast tier cannot grow a real model unnoticed.

The hub is switched off and pointed at a per-session temporary cache *before* any
Hugging Face library is imported, so no test can touch the network or the user's cache.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from pathlib import Path

_SESSION_TMP = Path(tempfile.mkdtemp(prefix="interp-tests-"))
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HUB_CACHE"] = str(_SESSION_TMP / "hub")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from interp.models.embedded import EmbeddedModel  # noqa: E402
from interp.models.tiny import TINY_ARCHS, TinyConfig, build_tokenizer, make_tiny_model  # noqa: E402
from interp.paths import cache_dir  # noqa: E402

#: Fixtures that hand a test an embedded model: every test using one is marked ``real_model``.
REAL_MODEL_FIXTURES = frozenset({"smollm2", "gemma"})


def pytest_sessionfinish(session, exitstatus):  # noqa: ARG001
    shutil.rmtree(_SESSION_TMP, ignore_errors=True)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    for item in items:
        if REAL_MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.real_model)


_running: dict[str, object] = {"nodeid": None, "real_model": True}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _running.update(nodeid=item.nodeid, real_model=item.get_closest_marker("real_model") is not None)


def _only_in_real_model_tests(folder):
    def guarded(self: EmbeddedModel):
        # a cache under the temporary folder holds a tiny stand-in that a test put there, not the real model
        stand_in = cache_dir().resolve().is_relative_to(Path(tempfile.gettempdir()).resolve())
        if not _running["real_model"] and not stand_in:
            pytest.fail(f"{_running['nodeid']} loads {self.spec} but is not marked real_model: add @pytest.mark.real_model", pytrace=False)
        return folder(self)

    return guarded


EmbeddedModel.folder = _only_in_real_model_tests(EmbeddedModel.folder)  # every embedded load goes through folder()


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models: threads only add overhead (and oversubscribe a shared machine). Restored afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _fresh_task_warnings():
    """A task's "fewer prompts than asked" warning is logged once per process: once per test here."""
    from interp.tasks.base import _WARNED

    _WARNED.clear()
    yield


@pytest.fixture(autouse=True)
def _seed_everything():
    """Every test starts from the same RNG state."""
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_tokenizer():
    """The offline byte-level BPE tokenizer the tiny models use."""
    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dirs(tiny_tokenizer) -> dict[str, Path]:
    """One tiny random model folder per architecture (gpt2, gpt-neox, llama)."""
    root = _SESSION_TMP / "tiny"
    return {arch: make_tiny_model(root / arch, TinyConfig(arch=arch), tiny_tokenizer) for arch in TINY_ARCHS}


@pytest.fixture(scope="session", params=TINY_ARCHS)
def tiny_model(request, tiny_model_dirs):
    """A loaded tiny HookedModel, once per architecture (shared across tests: don't leave it edited)."""
    from interp.models.loading import load_model

    return load_model(str(tiny_model_dirs[request.param]), device="cpu")


@pytest.fixture(scope="session")
def tiny_gpt2(tiny_model_dirs):
    from interp.models.loading import load_model

    return load_model(str(tiny_model_dirs["gpt2"]), device="cpu")


def _sharpen(folder, seed: int, std: float = 0.15) -> None:
    """Redraw the matrices with a larger spread: the default initialisation (std 0.02) makes a tiny
    model repeat one token whatever the prompt, which would make generation tests vacuous."""
    from transformers import AutoModelForCausalLM  # heavy: only when a long model is built

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


TINY_STEPS = (0, 1, 2, 4, 8)


@pytest.fixture(scope="session")
def tiny_steps_dir(tmp_path_factory, tiny_tokenizer) -> Path:
    """``step{N}/`` folders of tiny random GPT-NeoX models (each step its own weights)."""
    root = tmp_path_factory.mktemp("steps") / "tiny-neox"
    for step in TINY_STEPS:
        make_tiny_model(root / f"step{step}", TinyConfig(arch="gpt-neox", seed=500 + step), tiny_tokenizer)
    return root


def make_fake_hub_repo(name: str, steps: list[int], tokenizer, arch: str = "gpt-neox") -> dict[int, str]:
    """Lay out ``models--ORG--NAME/refs/step{N}`` -> ``snapshots/<hash>/`` in the session's hub cache.

    Each step gets its own tiny random model (seeded by the step), so tests can tell which
    revision was loaded. Returns the snapshot hash of each step.
    """
    repo = Path(os.environ["HF_HUB_CACHE"]) / ("models--" + name.replace("/", "--"))
    hashes = {}
    for step in steps:
        commit = f"{abs(hash((name, step))) % (1 << 40):010x}".ljust(40, "0")
        snapshot = repo / "snapshots" / commit
        if not (snapshot / "config.json").exists():
            make_tiny_model(snapshot, TinyConfig(arch=arch, seed=1000 + step), tokenizer)
        (repo / "refs").mkdir(parents=True, exist_ok=True)
        (repo / "refs" / f"step{step}").write_text(commit)
        hashes[step] = commit
    (repo / "refs" / "main").write_text(hashes[max(steps)])
    return hashes


@pytest.fixture(scope="session")
def fake_pythia(tiny_tokenizer) -> str:
    """``EleutherAI/pythia-14m`` with revisions step0, step1, step2, step4, step1000, resolvable offline."""
    name = "EleutherAI/pythia-14m"
    make_fake_hub_repo(name, [0, 1, 2, 4, 1000], tiny_tokenizer)
    return name
