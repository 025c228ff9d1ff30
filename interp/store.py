"""The one run-folder store: every resumable command writes its folder through :class:`RunStore`
and decides "may I resume?" by one rule.

    DIR/<definition file>   {"format": "interp-run", "version", "command", "defining": {field: value},
                            "inputs": {name: sha256 of the file's content}, ...recorded info}
    DIR/parts/NAME.json     a table part's facts (written first)
    DIR/parts/NAME.parquet  the part's rows; its presence marks the part done (NAME may hold "/")
    DIR/NAME/               a folder part (a checkpoint ``step{N}/``): renamed into place whole

**The rule.** A new or empty folder starts a run. A folder holding a run of the same command with
equal defining fields and the same content (sha256) in every input file is resumed: its finished
parts are kept and only the rest is made. Anything else is refused with one line, before any work:
the first field that differs (``--seed was 0, now 1; use another --out, or the same options to
resume it``), another command's run, or files that are not a run's. What only says *how* to run
(device, batch size, ``--out`` itself) is not a defining field; inputs are compared by content,
so a moved file still resumes and an edited one does not.

Every file goes to a temporary name and is renamed into place (:mod:`interp.io`), the part's json
before its parquet: a run killed at any moment leaves whole files only. On opening, temp files of
writers that are gone are removed; :meth:`RunStore.drop_damaged_parts` deletes, with a warning, the
parts that cannot be read back (or fail the command's own check), so they are made again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from interp.errors import UsageError
from interp.io import (
    copy_file,
    file_sha256,
    now,
    output_dir,
    output_lock,
    provenance,
    read_json,
    remove_stale_temp,
    to_jsonable,
    write_folder,
    write_json,
    write_parquet,
)

log = logging.getLogger(__name__)

FORMAT = "interp-run"
VERSION = 1
PARTS = "parts"
_RESERVED = ("format", "version", "command", "defining", "inputs")
_NAME = re.compile(r"^[\w+=-][\w.+=-]*(/[\w+=-][\w.+=-]*)*$")  # no hidden or empty components, no ".."


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples as lists, dataclasses as dicts), for comparing."""
    return json.loads(json.dumps(to_jsonable(value)))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class RunDefinition:
    """What defines a run: the command, its defining fields, and the sha256 of each input file's content.

    ``inputs`` may map a name to None: a folder written before content hashes were recorded
    (its input is then not compared). ``info`` is what the file records besides (not compared).
    """

    command: str
    defining: dict[str, Any]
    inputs: dict[str, str | None] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        clash = set(self.info) & set(_RESERVED)
        if clash:
            raise ValueError(f"info may not use the keys {sorted(clash)}")
        return {"format": FORMAT, "version": VERSION, "command": self.command, "defining": self.defining,
                "inputs": self.inputs, **self.info}

    def differences(self, new: RunDefinition, field_names: Mapping[str, str] = {}) -> list[str]:
        """``NAME was X, now Y`` for each defining field of ``new`` that differs from this one's, then the inputs."""
        out = []
        for key in _ordered(field_names, self.defining, new.defining):
            old_value, new_value = self.defining.get(key), new.defining.get(key)
            if old_value != new_value:
                out.append(f"{field_names.get(key, key)} was {_show(old_value)}, now {_show(new_value)}")
        for name in _ordered(field_names, self.inputs, new.inputs):
            label = field_names.get(name, name)
            if name not in self.inputs:
                out.append(f"{label} was not given, now given")
            elif name not in new.inputs:
                out.append(f"{label} was given, now not")
            elif None not in (old := self.inputs[name], now := new.inputs[name]) and old != now:
                out.append(f"the content of {label} differs (sha256 {old[:12]} before, {now[:12]} now)")
        return out


def _ordered(first: Mapping[str, str], *dicts: Mapping[str, Any]) -> list[str]:
    keys = [k for d in dicts for k in d]
    return [k for k in first if k in keys] + [k for k in dict.fromkeys(keys) if k not in first]


class RunStore:
    """One resumable run folder (see the module docstring).

    ``command`` names the command that owns the folder (``"gsm8k"``); ``definition_file`` is where
    the definition lives; ``field_names`` maps a defining field or input to how the user names it
    (``{"seed": "--seed"}``). ``legacy`` reads a definition file written before this store (a dict
    without ``"format": "interp-run"``): it returns the :class:`RunDefinition` it stands for, or
    None when the file is not this command's. ``noun`` and ``options`` word the messages ("the
    sweep", "arguments").
    """

    def __init__(
        self,
        root: str | Path,
        *,
        command: str,
        definition_file: str = "config.json",
        field_names: Mapping[str, str] | None = None,
        legacy: Callable[[dict[str, Any]], RunDefinition | None] | None = None,
        noun: str = "run",
        options: str = "options",
    ) -> None:
        self.root = Path(root).expanduser()
        self.command = command
        self.definition_file = definition_file
        self.field_names = dict(field_names or {})
        self.legacy = legacy
        self.noun = noun
        self.options = options
        self.parts = self.root / PARTS
        self.previous: RunDefinition | None = None  # what the folder held when it was opened
        self.definition: RunDefinition | None = None  # what it holds now
        self.started: str | None = None  # when this session began (provenance)
        self.device: Any = None  # what the run ran on (provenance; :meth:`ran_on`)
        self.dtype: Any = None

    # -- the definition --------------------------------------------------------------------------
    @property
    def definition_path(self) -> Path:
        return self.root / self.definition_file

    def exists(self) -> bool:
        return self.definition_path.is_file()

    def read_definition(self) -> RunDefinition | None:
        """The folder's definition (None when it has no definition file); UsageError when the file is
        garbled, another command's or not a run definition, saying how to start over."""
        path = self.definition_path
        if not path.is_file():
            return None
        start_over = f"to start the {self.noun} over, remove the folder {self.root} or give another --out"
        try:
            data = read_json(path)
        except (OSError, ValueError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise UsageError(f"{path} is unreadable ({type(err).__name__}: {' '.join(str(err).split())[:120]}); {start_over}") from None
        if isinstance(data, dict) and data.get("format") == FORMAT:
            command = data.get("command")
            if command != self.command:
                raise UsageError(f"{self.root} holds an interp {command} run, not {self.command}; use another --out")
            if isinstance(data.get("defining"), dict) and isinstance(data.get("inputs"), dict):
                info = {k: v for k, v in data.items() if k not in _RESERVED}
                return RunDefinition(command, data["defining"], data["inputs"], info)
        elif isinstance(data, dict) and self.legacy is not None and (definition := self.legacy(data)) is not None:
            return definition
        raise UsageError(f"{path} is not a {self.command} definition; {start_over}")

    @contextmanager
    def open(
        self,
        defining: Mapping[str, Any],
        inputs: Mapping[str, str | Path] = {},
        info: Mapping[str, Any] = {},
        *,
        hashes: Mapping[str, str] = {},
    ) -> Iterator[RunStore]:
        """Hold the folder (created and checked writable, then locked: one writer) for a run defined by
        ``defining`` and the content of the ``inputs`` files; see :meth:`start`."""
        with output_lock(output_dir(self.root)):
            self.start(defining, inputs, info, hashes=hashes)
            yield self
            self.finish()

    def start(
        self,
        defining: Mapping[str, Any],
        inputs: Mapping[str, str | Path] = {},
        info: Mapping[str, Any] = {},
        *,
        hashes: Mapping[str, str] = {},
    ) -> None:
        """Begin or resume the run in the folder (the caller holds its lock; :meth:`open` takes it).

        A new or empty folder is begun; one holding this command's run with equal ``defining`` fields
        and inputs of the same content is resumed; anything else is one UsageError line. Stale temp
        files are removed and the definition (with ``info``, recorded not compared) is written.
        ``hashes`` gives inputs by their sha256 directly (a merge copies another folder's).
        """
        new = RunDefinition(
            self.command, _plain(dict(defining)),
            {**{name: file_sha256(path) for name, path in inputs.items()}, **dict(hashes)}, _plain(dict(info)),
        )
        self.root.mkdir(parents=True, exist_ok=True)
        old = self.read_definition()
        if old is None:
            others = sorted(p.name + ("/" if p.is_dir() else "") for p in self.root.iterdir() if not p.name.startswith("."))
            if others:
                shown = ", ".join(others[:4]) + (", ..." if len(others) > 4 else "")
                raise UsageError(
                    f"{self.root} holds other results ({shown}) and no {self.definition_file}; use another --out, or an empty folder"
                )
        else:
            diffs = old.differences(new, self.field_names)
            if diffs:
                raise UsageError(
                    f"{self.root} holds a {self.noun} with different {self.options} ({'; '.join(diffs)}); "
                    f"use another --out, or the same {self.options} to resume it"
                )
        self.previous = old
        self.remove_stale()
        self.started = now()
        self._write_definition(RunDefinition(new.command, new.defining, new.inputs, {**new.info, "provenance": self._provenance()}))

    def ran_on(self, device: Any, dtype: Any) -> None:
        """Record the device and dtype the run uses (in the provenance; call once the model is loaded)."""
        self.device, self.dtype = device, dtype
        self.record(provenance=self._provenance())

    def finish(self) -> None:
        """Stamp the run's end time into its provenance (:meth:`open` does it when its block ends normally)."""
        self.record(provenance=self._provenance(finished=now()))

    def _provenance(self, finished: str | None = None) -> dict[str, Any]:
        """This session's provenance (:func:`interp.io.provenance`), with the earlier sessions of a resumed run."""
        record = provenance(self.started or now(), device=self.device, dtype=self.dtype, finished=finished)
        if self.previous is None:
            return record
        earlier = self.previous.info.get("provenance") or {}
        keys = ("interp_version", "git_commit", "git_dirty", "started", "finished", "command")
        # a session before provenance was kept is listed as unknown, so the record never claims the whole run
        record["earlier_sessions"] = [*earlier.get("earlier_sessions", []), {k: earlier.get(k) for k in keys}]
        return record

    def record(self, **info: Any) -> None:
        """Add ``info`` to what the definition file records (not compared on resume)."""
        if self.definition is None:
            raise RuntimeError("record() before start()")
        self._write_definition(RunDefinition(self.command, self.definition.defining, self.definition.inputs,
                                             {**self.definition.info, **_plain(info)}))

    def _write_definition(self, definition: RunDefinition) -> None:
        write_json(self.definition_path, definition.to_json())
        self.definition = definition

    def remove_stale(self) -> None:
        """Delete the temp files and folders a killed writer left (a live writer's stay), in the folder and its parts."""
        folders = [self.root]
        if self.parts.is_dir():
            folders += [self.parts, *(p for p in self.parts.rglob("*") if p.is_dir() and not p.name.startswith("."))]
        for folder in folders:
            remove_stale_temp(folder)

    # -- table parts ---------------------------------------------------------------------------------
    def part_path(self, name: str) -> Path:
        if not _NAME.match(name):
            raise ValueError(f"part name {name!r}: use letters, digits, _ . + = - and / between folders")
        return self.parts / f"{name}.parquet"

    def meta_path(self, name: str) -> Path:
        return self.part_path(name).with_suffix(".json")

    def write_part(self, name: str, frame: pd.DataFrame, meta: Mapping[str, Any] | None = None) -> None:
        """Write part ``name``: its facts (``meta``), then its rows (the rows mark it done)."""
        write_json(self.meta_path(name), dict(meta or {}))
        write_parquet(self.part_path(name), frame)

    def part_names(self, under: str = "") -> list[str]:
        """The finished parts (sorted by name), those in the folder ``under`` of parts/ when given."""
        folder = self.parts / under if under else self.parts
        if not folder.is_dir():
            return []
        names = (p.relative_to(self.parts).with_suffix("").as_posix() for p in folder.rglob("*.parquet"))
        return sorted(n for n in names if _NAME.match(n))

    def has_part(self, name: str) -> bool:
        return self.part_path(name).is_file()

    def read_part(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.part_path(name))

    def read_meta(self, name: str) -> dict[str, Any]:
        return read_json(self.meta_path(name))

    def read_parts(self, names: list[str] | None = None) -> pd.DataFrame:
        """The rows of ``names`` (default: every part, by name) in one frame (empty parts left out)."""
        frames = [self.read_part(n) for n in (self.part_names() if names is None else names)]
        frames = [f for f in frames if not f.empty]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def part_problem(
        self,
        name: str,
        check: Callable[[str, dict[str, Any]], str | None] | None = None,
        rows: Callable[[str, pd.DataFrame], str | None] | None = None,
    ) -> str | None:
        """Why part ``name`` cannot be used (None: it can): its json missing, garbled or not an object,
        ``check(name, meta)``'s complaint, a parquet that cannot be read, or ``rows(name, frame)``'s
        complaint about the rows it holds (e.g. another part's)."""
        meta_name = self.meta_path(name).name
        try:
            meta = self.read_meta(name)
        except FileNotFoundError:
            return f"{meta_name} is missing"
        except (OSError, ValueError) as err:
            return f"{meta_name} is unreadable ({type(err).__name__})"
        if not isinstance(meta, dict):
            return f"{meta_name} is not a JSON object"
        if check is not None and (problem := check(name, meta)) is not None:
            return problem
        try:
            frame = self.read_part(name)
        except Exception as err:  # noqa: BLE001 - pyarrow has its own error types (ArrowInvalid, ...) for a damaged file
            return f"{self.part_path(name).name} is unreadable ({type(err).__name__}: {' '.join(str(err).split())[:100]})"
        return rows(name, frame) if rows is not None else None

    def damaged_parts(self, check: Callable[[str, dict[str, Any]], str | None] | None = None) -> dict[str, str]:
        """{name: what is wrong} for the parts that cannot be used (see :meth:`part_problem`)."""
        return {name: problem for name in self.part_names() if (problem := self.part_problem(name, check)) is not None}

    def delete_part(self, name: str) -> None:
        self.part_path(name).unlink(missing_ok=True)
        self.meta_path(name).unlink(missing_ok=True)

    def drop_damaged_parts(self, check: Callable[[str, dict[str, Any]], str | None] | None = None) -> dict[str, str]:
        """Delete the parts that cannot be used, each with a logged warning, so they are made again; {name: what was wrong}."""
        dropped = self.damaged_parts(check)
        for name, problem in dropped.items():
            log.warning("part %s: %s in %s; deleted it, it is made again", name, problem, self.parts)
            self.delete_part(name)
        return dropped

    def copy_part(self, source: RunStore, name: str) -> None:
        """Copy part ``name`` of ``source`` here (json, then parquet; each atomically)."""
        copy_file(source.meta_path(name), self.meta_path(name))
        copy_file(source.part_path(name), self.part_path(name))

    # -- folder parts ----------------------------------------------------------------------------------
    def write_folder(self, name: str, fill: Callable[[Path], object]) -> Path:
        """The folder part ``DIR/name``: ``fill(tmp)`` fills a temporary folder, renamed into place whole."""
        if "/" in name or not _NAME.match(name) or name == PARTS:
            raise ValueError(f"folder part name {name!r}: one plain name (not {PARTS!r})")
        return write_folder(self.root / name, fill)

    def folders(self, pattern: str = "*") -> list[Path]:
        """The finished folder parts matching ``pattern`` (a glob, e.g. ``step*``), sorted by name."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.glob(pattern) if p.is_dir() and not p.name.startswith(".") and p.name != PARTS)
