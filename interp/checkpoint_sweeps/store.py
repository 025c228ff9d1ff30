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

Every file is written to a temporary name and renamed into place, the step's json before its
parquet. A run killed at any moment leaves only whole files, and a step either has its part
or is evaluated again on restart: an interrupted and restarted sweep ends with exactly the
rows of an uninterrupted one. A restart also checks what it finds: a part that cannot be read
(empty, truncated) or whose ``step{N}.json`` is missing or garbled is deleted, with a warning, and
the step is evaluated again. Shards write disjoint parts, so merging is copying parts.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from interp.checkpoint_sweeps.fingerprint import duplicate_groups
from interp.errors import UsageError
from interp.io import read_json, remove_stale_temp, temp_path, write_json, write_parquet

log = logging.getLogger(__name__)

FORMAT = "interp-checkpoint-sweep"
VERSION = 1
_PART_RE = re.compile(r"^step(\d+)\.parquet$")

#: How each defining argument is named to the user when two sweeps differ in it.
ARGUMENT_NAMES = {
    "model": "--model",
    "steps": "--steps",
    "task": "--task",
    "prompts_sha256": "the content of the --task prompts file",
    "n": "--n",
    "seed": "--seed",
    "laser": "--laser",
    "dtype": "--dtype",
}


def differing_arguments(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """``--name was X, now Y`` for each defining argument that differs."""
    out = []
    for key in sorted(set(old) | set(new), key=lambda k: list(ARGUMENT_NAMES).index(k) if k in ARGUMENT_NAMES else 99):
        if old.get(key) != new.get(key):
            out.append(f"{ARGUMENT_NAMES.get(key, key)} was {old.get(key)!r}, now {new.get(key)!r}")
    return out


def _copy_atomic(src: Path, dst: Path) -> None:
    tmp = temp_path(dst)
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


class SweepStore:
    """One sweep output folder (see the module docstring)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.parts = self.root / "parts"
        self.failures: dict[int, str] = {}  # step -> why it could not be evaluated (kept until it has a part)

    # -- paths -------------------------------------------------------------------------------
    @property
    def sweep_json(self) -> Path:
        return self.root / "sweep.json"

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
        return self.parts / f"step{step}.parquet"

    def meta_path(self, step: int) -> Path:
        return self.parts / f"step{step}.json"

    # -- the sweep's definition ----------------------------------------------------------------
    def exists(self) -> bool:
        return self.sweep_json.is_file()

    def read_definition(self) -> dict[str, Any]:
        if not self.exists():
            raise UsageError(f"{self.root} is not a checkpoint-sweep folder (no sweep.json)")
        try:
            data = read_json(self.sweep_json)
        except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            problem = f"unreadable ({type(err).__name__}: {' '.join(str(err).split())[:120]})"
        else:
            if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("arguments"), dict):
                return data
            problem = "not a checkpoint-sweep definition"
        raise UsageError(
            f"{self.sweep_json} is {problem}; to start the sweep over, remove the folder {self.root} or give another --out"
        )

    def open(self, arguments: dict[str, Any], info: dict[str, Any]) -> None:
        """Create the folder for a sweep defined by ``arguments``, or check that it holds that sweep.

        ``info`` (e.g. the resolved steps) is recorded but not compared. Leftover temporary files
        of a killed run are removed.
        """
        if self.exists():
            old = self.read_definition()["arguments"]
            diffs = differing_arguments(old, arguments)
            if diffs:
                raise UsageError(
                    f"{self.root} holds a sweep with different arguments ({'; '.join(diffs)}); "
                    f"use another --out, or the same arguments to resume it"
                )
        elif self.results_path.exists():
            raise UsageError(f"{self.root} holds other results (results.parquet but no sweep.json); use another --out")
        self.parts.mkdir(parents=True, exist_ok=True)
        self.remove_stale()
        write_json(self.sweep_json, {"format": FORMAT, "version": VERSION, "arguments": arguments, **info})
        self.failures = self._recorded_failures()

    def remove_stale(self) -> None:
        """Delete the temporary files a killed run left (``.NAME.<pid>.tmp`` whose writer is gone); a live writer's stay."""
        for folder in (self.root, self.parts):
            remove_stale_temp(folder)

    # -- parts -----------------------------------------------------------------------------------
    def done_steps(self) -> list[int]:
        if not self.parts.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.parts.iterdir() if (m := _PART_RE.match(p.name)))

    def write_step(self, step: int, frame: pd.DataFrame, meta: dict[str, Any]) -> None:
        """Write step ``step``'s facts, then its rows (the rows mark the step done)."""
        write_json(self.meta_path(step), meta)
        write_parquet(self.part_path(step), frame)

    def step_meta(self, step: int) -> dict[str, Any]:
        return read_json(self.meta_path(step))

    def _part_problem(self, step: int) -> str | None:
        """Why step ``step``'s part cannot be used (None: it can)."""
        try:
            meta = self.step_meta(step)
        except FileNotFoundError:
            return f"{self.meta_path(step).name} is missing"
        except (OSError, ValueError) as err:
            return f"{self.meta_path(step).name} is unreadable ({type(err).__name__})"
        if not isinstance(meta, dict) or not isinstance(meta.get("fingerprint"), str):
            return f"{self.meta_path(step).name} has no weights fingerprint"
        try:
            pd.read_parquet(self.part_path(step))
        except Exception as err:  # noqa: BLE001 - pyarrow has its own error types (ArrowInvalid, ...) for a damaged file
            return f"{self.part_path(step).name} is unreadable ({type(err).__name__}: {' '.join(str(err).split())[:100]})"
        return None

    def unreadable_parts(self) -> dict[int, str]:
        """{step: what is wrong} for the parts that cannot be read back (see :meth:`drop_unreadable_parts`)."""
        return {step: problem for step in self.done_steps() if (problem := self._part_problem(step)) is not None}

    def drop_unreadable_parts(self) -> dict[int, str]:
        """Delete the parts that cannot be read back (and their json), so their steps are evaluated again.

        Returns {step: what was wrong}; each is logged as a warning.
        """
        dropped = self.unreadable_parts()
        for step, problem in dropped.items():
            log.warning("step %d: %s in %s; deleted its part, the step is evaluated again", step, problem, self.parts)
            self.part_path(step).unlink(missing_ok=True)
            self.meta_path(step).unlink(missing_ok=True)
        return dropped

    def fingerprints(self) -> dict[int, str]:
        return {step: self.step_meta(step)["fingerprint"] for step in self.done_steps()}

    def read_results(self) -> pd.DataFrame:
        frames = [pd.read_parquet(self.part_path(step)) for step in self.done_steps()]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

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
        A part that cannot be read back is left out, with a warning. Returns the steps copied.
        """
        copied = []
        for source in sources:
            if source.root.resolve() == self.root.resolve():
                continue
            bad = source.unreadable_parts()
            for step, problem in bad.items():
                log.warning("step %d of %s: %s; not merged (run that shard again to redo it)", step, source.root, problem)
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
                _copy_atomic(source.meta_path(step), self.meta_path(step))
                _copy_atomic(source.part_path(step), self.part_path(step))
                copied.append(step)
        return sorted(copied)
