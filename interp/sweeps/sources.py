"""Where a sweep's checkpoints come from, and how one is loaded (and removed from the cache).

    PythiaHub    ``EleutherAI/pythia-*`` on the Hugging Face hub, revision ``stepN`` (154 steps)
    LocalFolder  a folder of ``step{N}/`` Hugging Face model folders (``interp tiny DIR --steps``,
                 or anyone's own training run)
    ToyRun       a run directory of the toy trainer (``RUN/config.json`` with format interp-toy)

:func:`open_source` picks one from the ``--model`` string. Sources are small frozen dataclasses,
so they travel to Ray workers by pickling. ``load`` returns a :class:`LoadedCheckpoint` with its
weights' fingerprint; ``cleanup`` deletes a hub revision from the local cache (``--no-keep-cache``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import logging
import os
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch

from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS, is_pythia, local_steps
from interp.sweeps.fingerprint import model_fingerprint

log = logging.getLogger(__name__)

Kind = Literal["hf", "toy"]
DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
TOY_FORMAT = "interp-toy"
_LOCK_NAME = ".interp-sweep.lock"


@dataclass
class LoadedCheckpoint:
    """One checkpoint in memory: the model, what it is, and its weights' fingerprint."""

    step: int
    kind: Kind
    model: Any  # a HookedModel (kind "hf") or a toy ToyTransformer (kind "toy")
    display: str
    fingerprint: str
    load_seconds: float
    toy_config: Any = None  # the toy RunConfig (kind "toy")

    @property
    def module(self) -> torch.nn.Module:
        """The outermost module holding the weights (the TransformerBridge, or the toy model)."""
        return self.model.bridge if self.kind == "hf" else self.model


def free_memory(weights: weakref.ref | None = None) -> None:
    """Collect a dropped model (its modules hold reference cycles) and return cached CUDA blocks.

    With ``weights``, a weak reference to the dropped model's module, a young-generation
    collection (milliseconds) is tried first and the full one (a third of a second with
    torch and transformers loaded) only if the model is still alive.
    """
    gc.collect(1)
    if weights is None or weights() is not None:
        gc.collect()
        if weights is not None and weights() is not None:
            log.warning("a dropped checkpoint is still referenced after garbage collection; memory will grow")
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_cache_dir() -> Path:
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _cache_lock(enabled: bool):
    """A lock (across threads and processes) that keeps a cache deletion from racing a download."""
    if not enabled:
        return contextlib.nullcontext()
    from filelock import FileLock

    cache = hub_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    return FileLock(str(cache / _LOCK_NAME))


def delete_cached_revision(repo_id: str, revision: str) -> int:
    """Delete ``revision`` of ``repo_id`` from the Hugging Face cache; return the bytes freed (0 if absent).

    Files shared with other cached revisions (tokenizer, config) are kept.
    """
    from huggingface_hub import scan_cache_dir

    cache = hub_cache_dir()
    ref = cache / ("models--" + repo_id.replace("/", "--")) / "refs" / revision
    if not ref.is_file():
        return 0
    commit = ref.read_text().strip()
    info = scan_cache_dir(cache)
    # only this repo: delete_revisions takes the first repo holding the hash
    mine = frozenset(repo for repo in info.repos if repo.repo_id == repo_id and repo.repo_type == "model")
    if not any(rev.commit_hash == commit for repo in mine for rev in repo.revisions):
        return 0
    strategy = dataclasses.replace(info, repos=mine).delete_revisions(commit)
    freed = int(strategy.expected_freed_size)
    strategy.execute()
    return freed


def _step_of_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file()


@dataclass(frozen=True)
class PythiaHub:
    """``EleutherAI/pythia-*`` revisions ``stepN`` from the hub (or its local cache)."""

    name: str
    keep_cache: bool = True
    retry_delays_s: tuple[float, ...] = (10.0, 30.0)
    kind: Kind = field(default="hf", init=False)

    @property
    def identity(self) -> str:
        return self.name

    @property
    def description(self) -> str:
        return self.name

    def steps(self) -> list[int]:
        return list(PYTHIA_STEPS)

    def load(self, step: int, device: str, dtype: str) -> LoadedCheckpoint:
        from interp.models.loading import ModelSpec, load_model

        spec = ModelSpec("hub", self.name, step)
        delays = () if _offline() else self.retry_delays_s
        start = time.perf_counter()
        for attempt in range(len(delays) + 1):
            try:
                with _cache_lock(not self.keep_cache):
                    model = load_model(spec, device=device, dtype=DTYPES[dtype])
                break
            except UsageError as err:
                if attempt == len(delays):
                    raise
                log.warning("%s: %s; retrying in %.0f s", spec.display, err, delays[attempt])
                time.sleep(delays[attempt])
        seconds = time.perf_counter() - start
        return LoadedCheckpoint(step, "hf", model, spec.display, model_fingerprint(model.hf_model), seconds)

    def cleanup(self, step: int) -> int:
        with _cache_lock(True):
            freed = delete_cached_revision(self.name, f"step{step}")
        if freed:
            log.info("deleted %s revision step%d from the cache (%.1f MB)", self.name, step, freed / 1e6)
        return freed


@dataclass(frozen=True)
class LocalFolder:
    """A folder of ``step{N}/`` Hugging Face model folders."""

    path: str
    kind: Kind = field(default="hf", init=False)

    @property
    def identity(self) -> str:
        return self.path

    @property
    def description(self) -> str:
        return self.path

    def steps(self) -> list[int]:
        return [step for step, folder in local_steps(self.path).items() if _step_of_folder(folder)]

    def load(self, step: int, device: str, dtype: str) -> LoadedCheckpoint:
        from interp.models.loading import ModelSpec, load_model

        spec = ModelSpec("local", self.path, step)
        start = time.perf_counter()
        model = load_model(spec, device=device, dtype=DTYPES[dtype])
        seconds = time.perf_counter() - start
        return LoadedCheckpoint(step, "hf", model, spec.display, model_fingerprint(model.hf_model), seconds)

    def cleanup(self, step: int) -> int:
        return 0  # the user's own files are never deleted


@dataclass(frozen=True)
class ToyRun:
    """A toy trainer run directory (``interp toy train``)."""

    path: str
    kind: Kind = field(default="toy", init=False)

    @property
    def identity(self) -> str:
        return self.path

    @property
    def description(self) -> str:
        return f"toy run {self.path}"

    def steps(self) -> list[int]:
        from interp.toy.checkpoint import list_steps

        return list_steps(self.path)

    def load(self, step: int, device: str, dtype: str) -> LoadedCheckpoint:
        from interp.models.loading import resolve_device
        from interp.toy.checkpoint import load_checkpoint

        start = time.perf_counter()
        model, config = load_checkpoint(Path(self.path) / f"step{step}", resolve_device(device), DTYPES[dtype])
        seconds = time.perf_counter() - start
        display = f"{self.path}@step{step}"
        return LoadedCheckpoint(step, "toy", model, display, model_fingerprint(model), seconds, toy_config=config)

    def cleanup(self, step: int) -> int:
        return 0


Source = PythiaHub | LocalFolder | ToyRun


def _is_toy_folder(path: Path) -> bool:
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(config, dict) and config.get("format") == TOY_FORMAT


def open_source(model: str, *, keep_cache: bool = True) -> Source:
    """The checkpoint source ``--model`` names: a Pythia hub name, a step*/ folder or a toy run."""
    text = model.strip()
    if not text:
        raise UsageError("--model is empty; give EleutherAI/pythia-SIZE or a local folder of step*/ models")
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise UsageError(f"{text} is a file; --model takes a folder of step*/ model folders or a Pythia hub name")
        resolved = str(path.resolve())
        if _is_toy_folder(path):
            try:
                import interp.toy.checkpoint  # noqa: F401
            except ImportError:
                raise UsageError(f"{text} is a toy run, but the toy trainer (interp.toy) is not available") from None
            source: Source = ToyRun(resolved)
        else:
            source = LocalFolder(resolved)
        if not source.steps():
            raise UsageError(
                f"{text} holds no step*/ models; a checkpoint sweep needs a folder of step{{N}}/ model folders "
                f"(e.g. from `interp tiny DIR --steps 0,1,2,4`) or a Pythia hub name"
            )
        return source
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise UsageError(f"model folder {text} does not exist")
    if not is_pythia(text):
        raise UsageError(
            f"--model {text}: checkpoint sweeps take an EleutherAI/pythia-* hub name (revisions stepN) "
            f"or a local folder of step*/ models"
        )
    return PythiaHub(text, keep_cache=keep_cache)
