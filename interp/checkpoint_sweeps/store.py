"""The output folder of a sweep: what defines it, one part per finished step, and the merged tables.

    DIR/sweep.json            the arguments that define the sweep (compared on every restart) and
                              the steps they resolved to
    DIR/parts/step{N}.json    facts about step N's checkpoint (fingerprint, timings, skipped prompts)
    DIR/parts/step{N}.parquet step N's rows, every edit; its presence marks the step done
    DIR/results.parquet       all parts, in step order (rebuilt after each step and at the end)
    DIR/summary.parquet       one row per step and edit
    DIR/summary_by_relation.parquet  (factual) one row per step, edit and relation
    DIR/warnings.json         checkpoints with identical weights ("duplicate_weights") and the
                              steps that could not be evaluated, with the reason ("failed_steps")

The folder is a :class:`~interp.store.RunStore` (command ``checkpoint-sweep``, definition
``sweep.json``, one part ``step{N}`` per step), so it resumes by the store's one rule: the same
defining arguments and the same content of the ``--task`` prompts file. Every file is written to a
temporary name and renamed into place, the step's json before its parquet. A run killed at any
moment leaves only whole files, and a step either has its part or is evaluated again on restart:
an interrupted and restarted sweep ends with exactly the rows of an uninterrupted one. A restart
also checks what it finds: a part that cannot be read (empty, truncated) or whose ``step{N}.json``
is missing, garbled or without a weights fingerprint, or that holds another step's rows (the step
column, or the json's step, differs from its name), is deleted, with a warning, and the step is
evaluated again. Parts of steps outside ``sweep.json``'s ``steps_resolved`` are ignored, with a
warning. Shards write disjoint parts, so merging is copying parts; a merge that ends without some
steps (a shard not given, a damaged part left out) says which (the CLI exits 2).

``sweep.json`` also keeps the sweep's ``"arguments"`` (the defining ones, with ``prompts_sha256``)
as the folders written before the store had them; those folders resume and merge as they are.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from interp.checkpoint_sweeps.fingerprint import duplicate_groups
from interp.errors import UsageError
from interp.io import read_json, write_json, write_parquet
from interp.store import RunDefinition, RunStore

log = logging.getLogger(__name__)

COMMAND = "checkpoint-sweep"
LEGACY_FORMAT = "interp-checkpoint-sweep"  # sweep.json before the run-folder store
_PART_RE = re.compile(r"^step(\d+)$")
_PROMPTS = "prompts"  # the input: the --task prompts file

#: How each defining argument (and the input) is named to the user when two sweeps differ in it.
ARGUMENT_NAMES = {
    "model": "--model",
    "steps": "--steps",
    "task": "--task",
    _PROMPTS: "the --task prompts file",
    "n": "--n",
    "seed": "--seed",
    "laser": "--laser",
    "dtype": "--dtype",
}


def split_arguments(arguments: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(defining fields, input hashes) of a sweep's arguments: ``prompts_sha256`` is the prompts file's content."""
    defining = {k: v for k, v in arguments.items() if k != "prompts_sha256"}
    sha = arguments.get("prompts_sha256")
    return defining, ({_PROMPTS: sha} if sha else {})


def arguments_of(definition: RunDefinition) -> dict[str, Any]:
    """The sweep's arguments as ``sweep.json`` records them: the defining fields, ``prompts_sha256`` after ``task``."""
    out: dict[str, Any] = {}
    for key, value in definition.defining.items():
        out[key] = value
        if key == "task":
            out["prompts_sha256"] = definition.inputs.get(_PROMPTS)
    return out


def _legacy(data: dict[str, Any]) -> RunDefinition | None:
    """A ``sweep.json`` written before the store: ``{"format": "interp-checkpoint-sweep", "arguments": ...}``."""
    if data.get("format") != LEGACY_FORMAT or not isinstance(data.get("arguments"), dict):
        return None
    defining, hashes = split_arguments(data["arguments"])
    info = {k: v for k, v in data.items() if k not in ("format", "version")}
    return RunDefinition(COMMAND, defining, hashes, info)


def _has_fingerprint(name: str, meta: dict[str, Any]) -> str | None:
    if not isinstance(meta.get("fingerprint"), str):
        return f"{name}.json has no weights fingerprint"
    step = int(name.removeprefix("step"))
    if "step" in meta and meta["step"] != step:
        return f"{name}.json describes step {meta['step']!r}"
    return None


def _holds_its_step(name: str, frame: pd.DataFrame) -> str | None:
    """A part's rows must all be of the step its name says (a part copied or renamed by hand is not)."""
    if frame.empty:
        return None
    if "step" not in frame.columns:
        return f"{name}.parquet has no step column"
    others = sorted({int(s) for s in frame["step"].unique()} - {int(name.removeprefix("step"))})
    if others:
        shown = ", ".join(map(str, others[:3])) + (", ..." if len(others) > 3 else "")
        return f"{name}.parquet holds rows of step {shown}"
    return None


class SweepStore:
    """One sweep output folder (see the module docstring): a :class:`RunStore` with steps as parts."""

    def __init__(self, root: str | Path) -> None:
        self.store = RunStore(
            root, command=COMMAND, definition_file="sweep.json", field_names=ARGUMENT_NAMES, legacy=_legacy,
            noun="sweep", options="arguments",
        )
        self.root = self.store.root
        self.parts = self.store.parts
        self.failures: dict[int, str] = {}  # step -> why it could not be evaluated (kept until it has a part)
        self.not_merged: dict[int, str] = {}  # step -> why a source's part of it was left out (merge_from)
        self._schedule: list[int] | None = None

    # -- paths -------------------------------------------------------------------------------
    @property
    def sweep_json(self) -> Path:
        return self.store.definition_path

    @property
    def results_path(self) -> Path:
        return self.root / "results.parquet"

    @property
    def summary_path(self) -> Path:
        return self.root / "summary.parquet"

    @property
    def warnings_path(self) -> Path:
        return self.root / "warnings.json"

    def part_path(self, step: int) -> Path:
        return self.store.part_path(f"step{step}")

    def meta_path(self, step: int) -> Path:
        return self.store.meta_path(f"step{step}")

    # -- the sweep's definition ----------------------------------------------------------------
    def exists(self) -> bool:
        return self.store.exists()

    def read_definition(self) -> RunDefinition:
        """The sweep's definition (UsageError when the folder has none, or it cannot be read)."""
        definition = self.store.read_definition()
        if definition is None:
            raise UsageError(f"{self.root} is not a checkpoint-sweep folder (no sweep.json)")
        return definition

    def open(self, arguments: dict[str, Any], info: dict[str, Any]) -> None:
        """Begin the folder for a sweep defined by ``arguments``, or check that it holds that sweep
        (the caller holds the folder's lock).

        ``info`` (e.g. the resolved steps) is recorded but not compared. Leftover temporary files
        of a killed run are removed.
        """
        defining, hashes = split_arguments(arguments)
        self.store.start(defining, hashes=hashes, info={"arguments": arguments, **info})
        self._schedule = None
        self.failures = self._recorded_failures()
        self.warn_stray()

    def remove_stale(self) -> None:
        """Delete the temporary files a killed run left (``.NAME.<pid>.tmp`` whose writer is gone); a live writer's stay."""
        self.store.remove_stale()

    # -- parts -----------------------------------------------------------------------------------
    @property
    def schedule(self) -> list[int] | None:
        """The steps the sweep resolved to (``sweep.json``'s ``steps_resolved``; None when it does not say)."""
        if self._schedule is None:
            definition = self.store.definition or self.store.read_definition()
            steps = definition.info.get("steps_resolved") if definition is not None else None
            self._schedule = [int(s) for s in steps] if isinstance(steps, list) else None
        return self._schedule

    def _part_steps(self) -> list[int]:
        return sorted(int(m.group(1)) for name in self.store.part_names() if (m := _PART_RE.match(name)))

    def done_steps(self) -> list[int]:
        """The steps with a part, those of the sweep's schedule only (see :meth:`stray_steps`)."""
        schedule = self.schedule
        return [s for s in self._part_steps() if schedule is None or s in schedule]

    def stray_steps(self) -> list[int]:
        """Steps with a part that are not in the sweep's schedule (put there by hand): never read or merged."""
        schedule = self.schedule
        return [] if schedule is None else [s for s in self._part_steps() if s not in schedule]

    def warn_stray(self) -> list[int]:
        """Log a warning naming the parts outside the schedule (they are ignored); returns their steps."""
        stray = self.stray_steps()
        if stray:
            log.warning(
                "%s holds parts of steps %s, which are not in the sweep's steps; ignored (remove them)",
                self.parts, ", ".join(map(str, stray)),
            )
        return stray

    def write_step(self, step: int, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Write step ``step``'s facts, then its rows (the rows mark the step done)."""
        self.store.write_part(f"step{step}", frame, meta)

    def step_meta(self, step: int) -> dict[str, Any]:
        return self.store.read_meta(f"step{step}")

    def unreadable_parts(self) -> dict[int, str]:
        """{step: what is wrong} for the parts that cannot be read back (see :meth:`drop_unreadable_parts`)."""
        return {
            step: problem for step in self.done_steps()
            if (problem := self.store.part_problem(f"step{step}", _has_fingerprint, _holds_its_step)) is not None
        }

    def drop_unreadable_parts(self) -> dict[int, str]:
        """Delete the parts that cannot be read back (and their json), so their steps are evaluated again.

        Returns {step: what was wrong}; each is logged as a warning.
        """
        dropped = self.unreadable_parts()
        for step, problem in dropped.items():
            log.warning("step %d: %s in %s; deleted its part, the step is evaluated again", step, problem, self.parts)
            self.store.delete_part(f"step{step}")
        return dropped

    def fingerprints(self) -> dict[int, str]:
        return {step: self.step_meta(step)["fingerprint"] for step in self.done_steps()}

    def read_results(self) -> pd.DataFrame:
        return self.store.read_parts([f"step{step}" for step in self.done_steps()])

    # -- merged tables -----------------------------------------------------------------------------
    def duplicate_warnings(self) -> list[dict[str, Any]]:
        prints = self.fingerprints()
        return [
            {"steps": group, "fingerprint": prints[group[0]],
             "message": f"steps {', '.join(map(str, group))} have identical weights (sha256 {prints[group[0]][:12]})"}
            for group in duplicate_groups(prints)
        ]

    def record_failure(self, step: int, reason: str) -> None:
        """Note that ``step`` could not be evaluated (written to warnings.json until the step has a part)."""
        self.failures[step] = reason

    def failed_steps(self) -> list[dict[str, Any]]:
        """[{step, reason}] for the recorded failures of steps that still have no part."""
        done = set(self.done_steps())
        return [{"step": step, "reason": reason} for step, reason in sorted(self.failures.items()) if step not in done]

    def _recorded_failures(self) -> dict[int, str]:
        """The failures an earlier run wrote to warnings.json (a derived file: an unreadable one is rebuilt)."""
        try:
            entries = read_json(self.warnings_path).get("failed_steps", [])
            return {int(e["step"]): str(e["reason"]) for e in entries}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            return {}

    def consolidate(self, summarize: Callable[[pd.DataFrame], pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Rebuild results.parquet, summary.parquet and warnings.json from the parts (atomically)."""
        results = self.read_results()
        summary = summarize(results) if not results.empty else pd.DataFrame()  # no step done yet
        write_parquet(self.results_path, results)
        write_parquet(self.summary_path, summary)
        write_json(self.warnings_path, {"duplicate_weights": self.duplicate_warnings(), "failed_steps": self.failed_steps()})
        return results, summary

    # -- merging -------------------------------------------------------------------------------------
    def merge_from(self, sources: Iterable[SweepStore]) -> list[int]:
        """Copy the finished steps of ``sources`` (sweeps with this sweep's arguments) into this folder.

        A step present in two folders must carry the same weights' fingerprint; it is copied once.
        A part that cannot be read back (or holds another step's rows) is left out, with a warning,
        and recorded in :attr:`not_merged`; parts outside a source's schedule are ignored, with a
        warning. Returns the steps copied.
        """
        copied = []
        for source in sources:
            if source.root.resolve() == self.root.resolve():
                continue
            source.warn_stray()
            bad = source.unreadable_parts()
            for step, problem in bad.items():
                log.warning("step %d of %s: %s; not merged (run that shard again to redo it)", step, source.root, problem)
                self.not_merged.setdefault(step, f"{problem} in {source.root}")
            for step in source.done_steps():
                if step in bad:
                    continue
                meta = source.step_meta(step)
                if self.part_path(step).is_file():
                    mine = self.step_meta(step)["fingerprint"]
                    if mine != meta["fingerprint"]:
                        raise UsageError(
                            f"step {step} was evaluated with different weights in {source.root} and another "
                            f"merged folder (fingerprints {meta['fingerprint'][:12]} and {mine[:12]})"
                        )
                    continue
                self.store.copy_part(source.store, f"step{step}")
                copied.append(step)
        return sorted(copied)
