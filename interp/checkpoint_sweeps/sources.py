"""Where a sweep's checkpoints come from, and how one is loaded (and removed from the cache).

A :class:`CheckpointSource` wraps a parsed model spec (:class:`~interp.models.spec.ModelSpec`)
whose steps are checkpoints: ``EleutherAI/pythia-*`` on the Hugging Face hub (revision ``stepN``,
154 steps), a local folder of ``step{N}/`` model folders (``interp tiny DIR --steps``, or anyone's
training run), or a toy trainer run. Every step loads through the one loader
(:func:`interp.models.loading.load_model`) into a :class:`~interp.models.loading.HookedModel`.
Sources are small frozen dataclasses, so they travel to Ray workers by pickling. ``load``
returns a :class:`LoadedCheckpoint` with its weights' fingerprint; ``cleanup`` deletes a hub
revision from the local cache (``--no-keep-cache``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import os
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from interp.checkpoint_sweeps.fingerprint import model_fingerprint
from interp.errors import UsageError
from interp.models.checkpoints import is_pythia
from interp.models.loading import load_model
from interp.models.spec import ModelSpec, available_steps

log = logging.getLogger(__name__)

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
_LOCK_NAME = ".interp-sweep.lock"


@dataclass
class LoadedCheckpoint:
    """One checkpoint in memory: the model, what it is, and its weights' fingerprint."""

    step: int
    model: Any  # interp.models.loading.HookedModel
    display: str
    fingerprint: str
    load_seconds: float

    @property
    def module(self) -> torch.nn.Module:
        """The outermost module holding the weights (the TransformerBridge, or the toy model)."""
        return self.model.bridge


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


@dataclass(frozen=True)
class CheckpointSource:
    """The checkpoints of one model: its spec (without a step) and how to fetch hub revisions."""

    spec: ModelSpec
    keep_cache: bool = True
    retry_delays_s: tuple[float, ...] = (10.0, 30.0)  # hub downloads only

    @property
    def identity(self) -> str:
        return self.spec.name

    @property
    def description(self) -> str:
        return self.spec.display

    def steps(self) -> list[int]:
        return available_steps(self.spec)

    def load(self, step: int, device: str, dtype: str) -> LoadedCheckpoint:
        spec = self.spec.at_step(step)
        delays = self.retry_delays_s if spec.source == "hub" and not _offline() else ()
        start = time.perf_counter()
        for attempt in range(len(delays) + 1):
            try:
                with _cache_lock(spec.source == "hub" and not self.keep_cache):
                    model = load_model(spec, device=device, dtype=DTYPES[dtype])
                break
            except UsageError as err:
                if attempt == len(delays):
                    raise
                log.warning("%s: %s; retrying in %.0f s", spec.display, err, delays[attempt])
                time.sleep(delays[attempt])
        seconds = time.perf_counter() - start
        return LoadedCheckpoint(step, model, model.spec.display, model_fingerprint(model.raw_model), seconds)

    def cleanup(self, step: int) -> int:
        """Delete a downloaded hub revision from the cache; the user's own files are never deleted."""
        if self.spec.source != "hub":
            return 0
        with _cache_lock(True):
            freed = delete_cached_revision(self.spec.name, f"step{step}")
        if freed:
            log.info("deleted %s revision step%d from the cache (%.1f MB)", self.spec.name, step, freed / 1e6)
        return freed


def open_source(spec: ModelSpec, *, keep_cache: bool = True) -> CheckpointSource:
    """The checkpoint source of ``--model``: a Pythia hub name, a folder of step*/ models or a toy run."""
    if spec.step is not None:
        raise UsageError(f"--model {spec.display} names one checkpoint; a sweep takes the model and --steps")
    if spec.source == "embedded" or (spec.source == "hub" and not is_pythia(spec.name)):
        raise UsageError(
            f"--model {spec.display}: checkpoint sweeps take an EleutherAI/pythia-* hub name (revisions stepN), "
            f"a local folder of step*/ models or a toy run"
        )
    source = CheckpointSource(spec, keep_cache=keep_cache)
    if not source.steps():
        raise UsageError(
            f"{spec.name} holds no step*/ models; a checkpoint sweep needs a folder of step{{N}}/ model folders "
            f"(e.g. from `interp tiny DIR --steps 0,1,2,4`), a toy run or a Pythia hub name"
        )
    return source
