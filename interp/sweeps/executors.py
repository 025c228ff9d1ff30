"""Where the steps of a sweep run: here, one after another with a background prefetch, or on Ray.

Both call ``on_result`` in the driver process for each finished step, so the output folder is
written the same way whichever executor ran the steps.

``local``  loads checkpoint k+1 in a background thread while checkpoint k is evaluated; at most
           two models are in memory, and each is freed before the one after next is loaded.
``ray``    one Ray task per step on an existing cluster (``ray.init(address)``; without an address
           Ray joins the cluster named by ``RAY_ADDRESS`` or starts a local one). Each task loads,
           fingerprints, evaluates, frees and, with ``--no-keep-cache``, deletes its revision from
           the cache of the node it ran on. Needs the ``interp[ray]`` extra.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from interp.errors import UsageError
from interp.sweeps.evaluate import StepResult, TaskOptions, evaluate_checkpoint
from interp.sweeps.prefetch import prefetched
from interp.sweeps.sources import CheckpointSource, free_memory

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
OnResult = Callable[[StepResult], None]


@dataclass(frozen=True)
class StepJob:
    """Everything a worker needs to evaluate steps of one sweep (picklable)."""

    source: CheckpointSource
    options: TaskOptions
    edits: tuple[str, ...]
    device: str = "auto"
    dtype: str = "float32"


def run_local(job: StepJob, steps: Sequence[int], on_result: OnResult, *, prefetch: bool = True) -> None:
    """Evaluate ``steps`` in this process, loading the next checkpoint while the current one runs."""

    def load(step: int):
        return job.source.load(step, job.device, job.dtype)

    for loaded in prefetched(steps, load, ahead=1 if prefetch else 0):
        weights = weakref.ref(loaded.module)
        result = evaluate_checkpoint(loaded, job.options, job.edits)
        del loaded
        free_memory(weights)  # before the loop asks for the next item and the one after it is loaded
        on_result(result)


def evaluate_step(job: StepJob, step: int, delete_after: bool = False) -> StepResult:
    """Load, evaluate and free one step (a Ray task's body); optionally delete it from the hub cache."""
    loaded = job.source.load(step, job.device, job.dtype)
    weights = weakref.ref(loaded.module)
    try:
        return evaluate_checkpoint(loaded, job.options, job.edits)
    finally:
        del loaded
        free_memory(weights)
        if delete_after:
            job.source.cleanup(step)


def _import_ray():
    try:
        import ray  # optional: the ray extra, only for --executor ray
    except ImportError:
        raise UsageError("--executor ray needs Ray: pip install 'interp[ray]'") from None
    return ray


def run_ray(
    job: StepJob,
    steps: Sequence[int],
    on_result: OnResult,
    *,
    address: str | None = None,
    delete_after: bool = False,
) -> None:
    """One Ray task per step; results are handed to ``on_result`` here as they finish."""
    ray = _import_ray()
    if not steps:
        return
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    gpus = 1 if job.device != "cpu" and ray.cluster_resources().get("GPU", 0) >= 1 else 0
    task = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=1)(evaluate_step)
    job_ref = ray.put(job)
    pending = [task.remote(job_ref, step, delete_after) for step in steps]
    log.info("submitted %d steps to Ray (%s per task)", len(pending), "1 GPU" if gpus else "1 CPU")
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            try:
                result = ray.get(done[0])
            except ray.exceptions.RayTaskError as err:
                cause = err.cause if isinstance(getattr(err, "cause", None), Exception) else None
                if isinstance(cause, UsageError):
                    raise cause from None
                raise
            on_result(result)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
