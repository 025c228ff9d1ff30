"""``interp checkpoint-sweep``: evaluate a task on many training checkpoints, resumably.

:class:`SweepConfig` holds the command's options one to one. :func:`run_sweep` resolves the
steps, takes this shard's share, skips the steps already in the output folder, evaluates the
rest (each without and with every ``--laser`` edit), writes each step's part as soon as it is
done, and finally rebuilds ``results.parquet``, ``summary.parquet``, ``warnings.json`` and the
two plots. A step whose checkpoint cannot be loaded or evaluated (missing, truncated, corrupt)
is logged and recorded with its reason in ``warnings.json``; the other steps go on, and the
report's ``failed`` names it (the CLI then exits with code 2). It has no part, so a rerun
retries it. :func:`merge_sweeps` merges the folders of several shards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from interp.checkpoint_sweeps.executors import EXECUTORS, StepFailure, StepJob, run_local, run_ray
from interp.checkpoint_sweeps.sources import DTYPES, CheckpointSource, open_source
from interp.checkpoint_sweeps.step_rows import TOY_TASK, StepResult, TaskOptions, check_task, summarize_steps, summarize_steps_by_relation
from interp.checkpoint_sweeps.steps import Shard, resolve_steps
from interp.checkpoint_sweeps.store import ARGUMENT_NAMES, SweepStore, arguments_of
from interp.edits.spec import Edit
from interp.errors import UsageError, check_seed
from interp.io import config_from_dict, existing_file, file_sha256, write_parquet
from interp.models.loading import resolve_device
from interp.models.spec import ModelSpec
from interp.tasks import PREFIX

log = logging.getLogger(__name__)




@dataclass(frozen=True)
class SweepConfig:
    """The options of ``interp checkpoint-sweep`` (see ``interp checkpoint-sweep --help``).

    ``model`` (a parsed spec), ``steps``, ``task``, ``laser`` (parsed edits, each evaluated on its own),
    ``n``, ``seed`` and ``dtype`` define the sweep and
    are recorded in ``sweep.json``; a restart must repeat them. ``shard``, ``executor``,
    ``device``, ``batch_size``, ``keep_cache`` and ``prefetch`` only say how to run it.
    """

    out: str
    model: ModelSpec
    steps: str
    task: str
    laser: tuple[Edit, ...] = ()
    n: int | None = None
    seed: int = 0
    batch_size: int = 32
    device: str = "auto"
    dtype: str = "float32"
    shard: str | None = None
    keep_cache: bool = True
    executor: str = "local"
    ray_address: str | None = None
    prefetch: bool = True
    relations: tuple[str, ...] = ()  # factual: keep only these relations

    def __post_init__(self) -> None:
        if not self.steps.strip():
            raise UsageError("--steps is empty; give all, log or a list like 0,512,1000")
        if not self.task.strip():
            raise UsageError("--task is empty; give ioi, factual, prompts:FILE or (toy runs) noisy-recall")
        if not isinstance(self.model, ModelSpec):
            raise UsageError(f"SweepConfig.model must be a ModelSpec (ModelSpec.parse('...')), got {type(self.model).__name__}")
        if not isinstance(self.laser, tuple) or not all(isinstance(e, Edit) for e in self.laser):
            raise UsageError("SweepConfig.laser must be a tuple of parsed edits (interp.edits.spec.parse_edits)")
        labels = [e.label for e in self.laser]
        if len(set(labels)) != len(labels):
            raise UsageError(f"--laser lists the same edit twice: {', '.join(labels)}")
        if self.executor not in EXECUTORS:
            raise UsageError(f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}")
        if self.dtype not in DTYPES:
            raise UsageError(f"--dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        check_seed(self.seed)
        Shard.parse(self.shard)
        self.task_options  # noqa: B018 - building the task options validates them

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepConfig:
        return config_from_dict(cls, data)

    @property
    def task_options(self) -> TaskOptions:
        return TaskOptions(task=self.task, n=self.n, seed=self.seed, batch_size=self.batch_size, relations=self.relations)

    @property
    def shard_spec(self) -> Shard:
        return Shard.parse(self.shard)


@dataclass
class SweepReport:
    """What a run or merge did (the CLI prints it)."""

    out: Path
    steps: list[int]  # every step the sweep covers (all shards)
    shard_steps: list[int]  # this shard's steps
    evaluated: list[int] = field(default_factory=list)  # evaluated by this run
    already_done: list[int] = field(default_factory=list)  # found in the folder and skipped
    missing: list[int] = field(default_factory=list)  # steps of the sweep still without results
    duplicates: list[str] = field(default_factory=list)  # identical-weights warnings
    failed: dict[int, str] = field(default_factory=dict)  # steps this run could not evaluate -> why
    reevaluated: dict[int, str] = field(default_factory=dict)  # unreadable parts found, deleted and evaluated again -> what was wrong
    n_rows: int = 0
    merge_gaps: str | None = None  # a merge: what the missing steps lack (None when the merge is whole)

    @property
    def failure_message(self) -> str | None:
        """One line naming the failed steps (None when every step worked)."""
        if self.merge_gaps is not None:
            return self.merge_gaps
        if not self.failed:
            return None
        steps = sorted(self.failed)
        first = steps[0]
        which = f"step {first}" if len(steps) == 1 else f"steps {', '.join(map(str, steps))}"
        why = self.failed[first] if len(steps) == 1 else f"step {first}: {self.failed[first]}"
        return (
            f"{which} could not be evaluated ({why}); the other steps are written, the reasons are in "
            f"{self.out / 'warnings.json'}; rerun the same command to retry {'it' if len(steps) == 1 else 'them'}"
        )


def _task_identity(task: str) -> tuple[str, str | None]:
    """The task as recorded in sweep.json; for prompts:FILE the file's name and a hash of its content
    (so a moved file still resumes its sweep, and an edited one does not)."""
    if not task.startswith(PREFIX):
        return task, None
    from interp.tasks.custom import resolve_path  # the file the task will read (cwd, else prompts/)

    path = existing_file(resolve_path(task[len(PREFIX):]), "prompts file", 'a jsonl file with one {"prompt", "answer"} object per line')
    return PREFIX + path.name, file_sha256(path)


def _steps_identity(spec: str, resolved: Sequence[int]) -> str:
    text = spec.strip().lower()
    return text if text in ("all", "log") else ",".join(map(str, resolved))


def defining_arguments(config: SweepConfig, source: CheckpointSource, resolved: Sequence[int]) -> dict[str, Any]:
    """The arguments that define a sweep (compared when a folder is reused or merged)."""
    task, sha = _task_identity(config.task)
    return {
        "model": source.identity,
        "steps": _steps_identity(config.steps, resolved),
        "task": task,
        "prompts_sha256": sha,
        "n": config.n,
        "seed": config.seed,
        "laser": [e.label for e in config.laser],
        **({"relations": list(config.relations)} if config.relations else {}),
        "dtype": config.dtype,
    }


def _plot(store: SweepStore, summary, arguments: dict[str, Any]) -> None:
    if summary.empty:
        return
    from interp.checkpoint_sweeps.plots import ratio_plot, training_dynamics  # plotting (matplotlib): only when figures are written

    model = Path(arguments["model"]).name if arguments["model"].startswith("/") else arguments["model"]
    task = arguments["task"].split("/")[-1]
    the_label = "P(noise token)" if arguments["task"] == TOY_TASK else 'P(" the")'
    title = f"{model} · {task}"
    training_dynamics(summary, store.root / "training_dynamics.png", title=title, the_label=the_label)
    ratio_plot(summary, store.root / "ratio.png", title=title, the_label=the_label)


def _finish(store: SweepStore, arguments: dict[str, Any], report: SweepReport) -> SweepReport:
    results, summary = store.consolidate(summarize_steps)
    by_relation = summarize_steps_by_relation(results)
    if not by_relation.empty:
        write_parquet(store.root / "summary_by_relation.parquet", by_relation)
    _plot(store, summary, arguments)
    done = set(store.done_steps())
    report.missing = [s for s in report.steps if s not in done]
    report.duplicates = [w["message"] for w in store.duplicate_warnings()]
    report.n_rows = int(len(results))
    store.store.finish()
    return report


def run_sweep(config: SweepConfig, *, on_step: Callable[[StepResult], None] | None = None) -> SweepReport:
    """Run (or resume) the sweep ``config`` describes; see the module docstring.

    The output folder is checked writable and locked for the run: a second process sweeping into
    it stops at once, naming the holder's PID.
    """
    check_task(config.task, config.model, config.relations)  # before anything is made or loaded
    store = SweepStore(config.out)
    with store.store.hold():  # new, empty or a sweep (its arguments compared once the steps are known), locked
        return _run_sweep(config, on_step)


def _run_sweep(config: SweepConfig, on_step: Callable[[StepResult], None] | None) -> SweepReport:
    source = open_source(config.model, keep_cache=config.keep_cache)
    if config.executor == "local":  # (Ray workers may have a GPU the driver lacks)
        resolve_device(config.device)  # a missing device is the arguments' fault, not every step's
    edits = config.laser
    steps = resolve_steps(config.steps, source.steps(), source.description)
    shard = config.shard_spec
    mine = shard.select(steps)
    store = SweepStore(config.out)
    arguments = defining_arguments(config, source, steps)
    store.open(arguments, {"source": config.model.source, "steps_resolved": steps, "shard": str(shard)})
    local = config.executor == "local"  # each step loads its own model there; Ray workers resolve their own device
    store.store.ran_on(resolve_device(config.device) if local else config.device, config.dtype)
    reevaluated = store.drop_unreadable_parts()
    done = set(store.done_steps())
    pending = [s for s in mine if s not in done]
    report = SweepReport(store.root, steps, mine, already_done=[s for s in mine if s in done], reevaluated=reevaluated)
    log.info(
        "sweep %s: %d steps, shard %s has %d, %d already done, %d to evaluate (%d edits each)",
        source.description, len(steps), shard, len(mine), len(report.already_done), len(pending), len(edits),
    )
    known = store.fingerprints()
    delete_here = not config.keep_cache and config.executor == "local"

    def on_result(result: StepResult) -> None:
        fingerprint = result.meta["fingerprint"]
        same = sorted(s for s, fp in known.items() if fp == fingerprint and s != result.step)
        if same:
            log.warning(
                "step %d has the same weights as step %s (sha256 %s): duplicated checkpoint",
                result.step, ", ".join(map(str, same)), fingerprint[:12],
            )
        store.write_step(result.step, result.frame, result.meta)
        known[result.step] = fingerprint
        report.evaluated.append(result.step)
        log.info(
            "step %d done (%d/%d): %d rows, loaded in %.2f s, evaluated in %.2f s",
            result.step, len(report.evaluated), len(pending), len(result.frame),
            result.meta["load_seconds"], result.meta["eval_seconds"],
        )
        if delete_here:
            source.cleanup(result.step)
        store.consolidate(summarize_steps)
        if on_step is not None:
            on_step(result)

    def on_failure(failure: StepFailure) -> None:
        log.warning("step %d failed: %s; going on with the other steps (a rerun retries it)", failure.step, failure.reason)
        store.record_failure(failure.step, failure.reason)
        report.failed[failure.step] = failure.reason
        if delete_here:
            source.cleanup(failure.step)
        store.consolidate(summarize_steps)  # warnings.json names the step at once

    job = StepJob(source, config.task_options, edits, config.device, config.dtype)
    if config.executor == "ray":
        run_ray(job, pending, on_result, on_failure, address=config.ray_address, delete_after=not config.keep_cache)
    else:
        run_local(job, pending, on_result, on_failure, prefetch=config.prefetch)
    return _finish(store, arguments, report)


def merge_sweeps(dirs: Sequence[str | Path], out: str | Path) -> SweepReport:
    """Merge the folders of shards of one sweep (same arguments) into ``out``."""
    if not dirs:
        raise UsageError("--merge needs the sweep folders to merge: --merge DIR1 DIR2 ... --out DIR")
    stores = [SweepStore(d) for d in dirs]
    definitions = [s.read_definition() for s in stores]
    for store, definition in zip(stores[1:], definitions[1:]):
        diffs = definitions[0].differences(definition, ARGUMENT_NAMES)
        if diffs:
            raise UsageError(f"cannot merge {store.root} with {stores[0].root}: {'; '.join(diffs)}")
    steps = sorted({s for d in definitions for s in d.info.get("steps_resolved", [])})
    base = arguments_of(definitions[0])
    target = SweepStore(out)
    with target.store.hold():  # the output-folder rule first: a folder it refuses is left as it was
        return _merge_into(target, stores, definitions[0].info, base, steps)


def _merge_into(target: SweepStore, stores: list[SweepStore], info: dict, base: dict, steps: list[int]) -> SweepReport:
    target.open(base, {k: v for k, v in info.items() if k in ("source",)} | {"steps_resolved": steps})
    target.drop_unreadable_parts()  # a damaged part of the target is copied again from a source that has it
    copied = target.merge_from(stores)
    log.info("merged %d steps from %d folders into %s", len(copied), len(stores), target.root)
    report = _finish(target, base, SweepReport(target.root, steps, steps, evaluated=[], already_done=copied))
    if report.missing:
        report.merge_gaps = _merge_gaps(report, stores, target.not_merged)
    return report


def _steps_text(steps: Sequence[int], limit: int = 8) -> str:
    return ", ".join(map(str, steps[:limit])) + (f", ... ({len(steps) - limit} more)" if len(steps) > limit else "")


def _merge_gaps(report: SweepReport, stores: list[SweepStore], not_merged: dict[int, str]) -> str:
    """One line naming the steps a merge lacks: the shards they belong to, or the damaged parts left out."""
    missing = report.missing
    shards = {s.read_definition().info.get("shard") for s in stores}
    counts = {Shard.parse(text).count for text in shards if isinstance(text, str)}
    why = ""
    if len(counts) == 1 and None not in shards and (count := counts.pop()) > 1:
        given = {Shard.parse(text).index for text in shards}
        absent = [f"{i}/{count}" for i in range(count) if i not in given and set(Shard(i, count).select(report.steps)) & set(missing)]
        if absent:
            why = f"; the folder{'s' if len(absent) > 1 else ''} of shard {', '.join(absent)} {'were' if len(absent) > 1 else 'was'} not given"
    damaged = [step for step in missing if step in not_merged]
    if damaged:
        why += f"; step {damaged[0]}: {not_merged[damaged[0]]}" + (f" (and {len(damaged) - 1} more damaged)" if len(damaged) > 1 else "")
    return (
        f"the merge is incomplete: {len(missing)} of {len(report.steps)} steps have no results "
        f"({'step' if len(missing) == 1 else 'steps'} {_steps_text(missing)}){why}; the {len(report.steps) - len(missing)} others are written to {report.out}; "
        f"merge again with the missing shard folders, after rerunning the shard of a damaged step"
    )
