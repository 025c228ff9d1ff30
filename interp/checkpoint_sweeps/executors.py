"""Where the steps of a sweep run: here, one after another with a background prefetch, or on Ray.

Both call ``on_result`` in the driver process for each finished step, and ``on_failure`` for each
step that could not be loaded (a :class:`StepFailure`: its checkpoint is missing, truncated or
corrupt, or the hub did not serve it), then go on with the other steps; so the output folder is
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

from interp.checkpoint_sweeps.prefetch import prefetched
from interp.checkpoint_sweeps.sources import CheckpointSource, free_memory
from interp.checkpoint_sweeps.step_rows import StepResult, TaskOptions, evaluate_checkpoint
from interp.errors import UsageError

log = logging.getLogger(__name__)

EXECUTORS = ("local", "ray")
OnResult = Callable[[StepResult], None]

#: The errors of loading a step that mean "this checkpoint cannot be evaluated": every loader turns a
#: missing, truncated or corrupt checkpoint (and a hub that would not serve it) into a UsageError
#: naming the file, and the file system reports its refusals as OSError. The step is recorded as
#: failed and the sweep goes on. Errors while *evaluating* a loaded checkpoint are not caught: a
#: UsageError there is about the arguments (an edit's layer out of range, a task this tokenizer
#: cannot encode) and would fail every step, so it stops the sweep at once; anything else is a bug.
STEP_ERRORS: tuple[type[BaseException], ...] = (UsageError, OSError)


@dataclass(frozen=True)
class StepFailure:
    """A step whose checkpoint could not be loaded, and why (one line)."""

    step: int
    reason: str

    @classmethod
    def from_error(cls, step: int, err: BaseException) -> StepFailure:
        text = " ".join(str(err).split())
        if isinstance(err, OSError) and not isinstance(err, UsageError):
            text = f"{type(err).__name__}: {text}" if text else type(err).__name__
        return cls(step, text or type(err).__name__)


OnFailure = Callable[[StepFailure], None]


@dataclass(frozen=True)
class StepJob:
    """Everything a worker needs to evaluate steps of one sweep (picklable)."""

    source: CheckpointSource
    options: TaskOptions
    edits: tuple[str, ...]
    device: str = "auto"
    dtype: str = "float32"


def run_local(
    job: StepJob, steps: Sequence[int], on_result: OnResult, on_failure: OnFailure, *, prefetch: bool = True
) -> None:
    """Evaluate ``steps`` in this process, loading the next checkpoint while the current one runs."""

    def load(step: int):
        try:
            return job.source.load(step, job.device, job.dtype)
        except STEP_ERRORS as err:  # a bad checkpoint: reported at its turn, the next ones still load
            return StepFailure.from_error(step, err)

    for loaded in prefetched(steps, load, ahead=1 if prefetch else 0):
        if isinstance(loaded, StepFailure):
            on_failure(loaded)
            continue
        weights = weakref.ref(loaded.module)
        result = evaluate_checkpoint(loaded, job.options, job.edits)
        del loaded
        free_memory(weights)  # before the loop asks for the next item and the one after it is loaded
        on_result(result)


def evaluate_step(job: StepJob, step: int, delete_after: bool = False) -> StepResult | StepFailure:
    """Load, evaluate and free one step (a Ray task's body); optionally delete it from the hub cache.

    A step that cannot be loaded (:data:`STEP_ERRORS`) comes back as a :class:`StepFailure`.
    """
    try:
        loaded = job.source.load(step, job.device, job.dtype)
    except STEP_ERRORS as err:
        if delete_after:
            job.source.cleanup(step)
        return StepFailure.from_error(step, err)
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
    on_failure: OnFailure,
    *,
    address: str | None = None,
    delete_after: bool = False,
) -> None:
    """One Ray task per step; results (and failures) are handed to ``on_result`` (``on_failure``) here as they finish."""
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
                if isinstance(cause, UsageError):  # about the arguments (a failed load comes back as a StepFailure)
                    raise cause from None
                raise
            if isinstance(result, StepFailure):
                on_failure(result)
            else:
                on_result(result)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
