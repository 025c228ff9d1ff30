"""The one run-folder store: every resumable command writes its folder through :class:`RunStore`
and decides "may I resume?" by one rule.

    DIR/<definition file>   {"format": "interp-run", "version", "command", "defining": {field: value},
                            "inputs": {name: sha256 of the file's content}, ...recorded info}
    DIR/parts/NAME.json     a table part's facts (written first)
    DIR/parts/NAME.parquet  the part's rows; its presence marks the part done (NAME may hold "/")
    DIR/NAME/               a folder part (a checkpoint ``step{N}/``): renamed into place whole
    DIR/step{N}/trainer_state.pt  a training run's state (optimizer, RNG, data position, history), in
                            its newest checkpoint only (:meth:`RunStore.latest_state`): what a resume reads

**The rule** (every command that writes a folder follows it: the resumable ones through
:meth:`RunStore.open`, ``eval`` and ``attribution`` through :meth:`RunStore.check` then
:meth:`RunStore.start`, ``tiny``, which only starts, through :func:`new_run_folder`).
A new or empty folder starts a run. A folder holding a run of the same command with
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

Hidden files (the lock, temp files) do not count: a folder holding only those is empty. A refusal
names what is there (:func:`folder_contents`): a model folder, a toy run, model checkpoints,
another command's run, or the files themselves; an empty ``--out ""`` is refused before it can
mean the working directory.
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
    LOCK_NAME,
    check_out_value,
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
#: the files that hold a run's definition (``config.json``; ``sweep.json`` of checkpoint sweeps, ``train.json`` of ``lm train``)
DEFINITION_FILES = ("config.json", "sweep.json", "train.json")
_LEGACY_FORMATS = {"interp-checkpoint-sweep": "checkpoint-sweep"}  # definitions written before this store
TOY_FORMAT = "interp-toy"  # interp.models.registry.TOY_FAMILY (tested equal; the store sits below the models)
_WEIGHTS = re.compile(r"^(model|pytorch_model|adapter_model)(-\d+-of-\d+)?\.(safetensors|bin)(\.index\.json)?$")
_STEP_DIR = re.compile(r"^step\d+$")
STATE_FILE = "trainer_state.pt"  # a training run's state, in its newest step{N}/ (RunStore.latest_state)


def _json_object(path: Path) -> dict[str, Any] | None:
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _visible(root: Path) -> list[str]:
    """The names in ``root`` that count (hidden ones, the lock and temp files, do not), folders with a ``/``."""
    if not root.is_dir():
        return []
    return sorted(p.name + ("/" if p.is_dir() else "") for p in root.iterdir() if not p.name.startswith("."))


def _shown(names: list[str], at_most: int = 4) -> str:
    return ", ".join(names[:at_most]) + (", ..." if len(names) > at_most else "")


def run_command(root: str | Path) -> tuple[str, str] | None:
    """(command, definition file) of the interp run ``root`` holds, None when it holds none."""
    for name in DEFINITION_FILES:
        data = _json_object(Path(root) / name)
        if data is None:
            continue
        if data.get("format") == FORMAT and isinstance(data.get("command"), str):
            return data["command"], name
        if data.get("format") in _LEGACY_FORMATS:
            return _LEGACY_FORMATS[data["format"]], name
    return None


def folder_contents(root: str | Path) -> str | None:
    """What ``root`` holds, as the end of a sentence ``f"{root} {what}"``, or None when it is empty.

    In this order: an interp run (``holds an interp eval run``), a toy run or checkpoint, a model
    folder (``config.json`` of a Hugging Face model, or weights), model checkpoints (``step*/``
    folders with a ``config.json``), else the files themselves (``holds other results (a, b)``).
    """
    root = Path(root)
    names = _visible(root)
    if not names:
        return None
    if (run := run_command(root)) is not None:
        return f"holds an interp {run[0]} run ({run[1]})"
    config = _json_object(root / "config.json")
    steps = [n for n in names if _STEP_DIR.match(n.rstrip("/")) and (root / n / "config.json").is_file()]
    weights = [n for n in names if _WEIGHTS.match(n)]
    if config is not None and config.get("format") == TOY_FORMAT:
        what = "a toy training run" if steps else "a toy model checkpoint"
        return f"is {what} ({_shown(['config.json', *(steps or weights)], 3)})"
    if weights or (config is not None and ("model_type" in config or "architectures" in config)):
        return f"is a model folder ({_shown([n for n in ('config.json', *weights) if n in names], 3)})"
    if steps:
        return f"holds model checkpoints ({_shown(steps, 3)})"
    return f"holds other results ({_shown(names)})"


def refuse_unless_empty(root: str | Path, command: str, *, definition_file: str | None = None, option: str = "--out") -> None:
    """The rule's refusal when ``root`` holds no run of ``command``: nothing visible may be there.

    One UsageError line naming what is there (:func:`folder_contents`). ``definition_file``: the
    command resumes its runs (the message says which file a run of it has); None: it only starts.
    """
    root = Path(root)
    what = folder_contents(root)
    if what is None:
        return
    run = run_command(root)
    if run is not None and run[0] != command:
        raise UsageError(f"{root} holds an interp {run[0]} run, not {command}; use another {option}")
    if what.startswith("holds other results") and definition_file is not None:
        raise UsageError(f"{root} {what} and no {definition_file}; use another {option}, or an empty folder")
    if what.startswith("holds other results"):
        raise UsageError(f"{root} exists and is not an empty folder (it {what}); choose a new {option}")
    raise UsageError(f"{root} {what}; {command} writes only into a new or empty folder{' or its own run' if definition_file else ''}: "
                     f"use another {option}")


@contextmanager
def new_run_folder(root: str | Path, command: str, option: str = "--out") -> Iterator[Path]:
    """The rule for a command that only starts runs (``tiny``): ``root`` created (or
    empty), writable and locked for the block; anything already there is refused, naming it."""
    folder = check_out_value(root, option)
    refuse_unless_empty(folder, command, option=option)  # before anything is written into it
    output_dir(folder)
    lock_file = folder / LOCK_NAME
    created = not lock_file.exists()
    held = False
    try:
        with output_lock(folder):
            held = True
            refuse_unless_empty(folder, command, option=option)  # again, holding the lock: another writer may have been first
            yield folder
    finally:
        if created and held:  # the folder is left as the model or run alone; a later writer finds it not empty, lock or no lock
            lock_file.unlink(missing_ok=True)


def dotted_fields(config: Mapping[str, Any], skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """A nested config as ``{dotted name: value}`` (top-level keys in ``skip`` left out), the defining
    fields of a run whose config nests (``optim.lr``), so a refusal names the one field that differs."""

    def flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in d.items():
            name = f"{prefix}{key}"
            out.update(flatten(value, f"{name}.") if isinstance(value, Mapping) else {name: value})
        return out

    return flatten({k: v for k, v in config.items() if k not in skip})


def flat_config_reader(
    command: str,
    from_dict: Callable[[dict[str, Any]], Any],
    required: tuple[str, ...],
    defining: Callable[[Any], dict[str, Any]],
    inputs: Callable[[Any], Mapping[str, Path]],
) -> Callable[[dict[str, Any]], RunDefinition | None]:
    """The ``legacy`` reader of a command whose ``config.json`` was its flat config before this store:
    a dict with the ``required`` keys that ``from_dict`` reads stands for the run ``defining`` and
    ``inputs`` give (its inputs by name only: their content was not recorded); anything else is None."""

    def read(data: dict[str, Any]) -> RunDefinition | None:
        if "format" in data or not set(required) <= set(data):
            return None
        try:
            config = from_dict(data)
        except (UsageError, TypeError, ValueError, KeyError):
            return None
        return RunDefinition(command, defining(config), dict.fromkeys(inputs(config)), data)

    return read


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
    sweep", "arguments"). ``render`` writes the definition in the command's own file format (the
    toy run's ``config.json``), which ``legacy`` reads back; default: the store's format.
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
        render: Callable[[RunDefinition], dict[str, Any]] | None = None,
    ) -> None:
        self.root = check_out_value(root)
        self.command = command
        self.definition_file = definition_file
        self.field_names = dict(field_names or {})
        self.legacy = legacy
        self.noun = noun
        self.options = options
        self.render = render
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
        if isinstance(data, dict) and (folder_contents(self.root) or "").startswith("is "):
            refuse_unless_empty(self.root, self.command, definition_file=self.definition_file)  # a model folder, a toy run
        raise UsageError(f"{path} is not a {self.command} definition; {start_over}")

    def check_folder(self) -> RunDefinition | None:
        """The rule's first half, before the options are known: UsageError unless the folder is new,
        empty (hidden files aside) or holds a run of this command, whose definition is returned."""
        old = self.read_definition()
        if old is None:
            refuse_unless_empty(self.root, self.command, definition_file=self.definition_file)
        return old

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
        with self.hold():
            self.start(defining, inputs, info, hashes=hashes)
            yield self
            self.finish()

    @contextmanager
    def hold(self, *, leave_lock: bool = True) -> Iterator[RunStore]:
        """The folder created, checked writable and locked (one writer) for the block, once
        :meth:`check_folder` passes: a folder the rule refuses is left as it was, not even locked.
        ``leave_lock=False``: a lock file this call created is removed at the end (the folder then
        lists as the run alone, as :func:`new_run_folder` leaves it)."""
        self.check_folder()
        lock_file = output_dir(self.root) / LOCK_NAME
        created = not lock_file.exists()
        held = False
        try:
            with output_lock(self.root):
                held = True
                yield self
        finally:
            if created and held and not leave_lock:
                lock_file.unlink(missing_ok=True)

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
        new = self.check(defining, inputs, info, hashes=hashes)
        self.remove_stale()
        self._write_definition(RunDefinition(new.command, new.defining, new.inputs, {**new.info, "provenance": self._provenance()}))

    def check(
        self,
        defining: Mapping[str, Any],
        inputs: Mapping[str, str | Path] = {},
        info: Mapping[str, Any] = {},
        *,
        hashes: Mapping[str, str] = {},
    ) -> RunDefinition:
        """The rule's check alone, writing nothing: UsageError unless the folder is new, empty or holds
        this command's run with equal ``defining`` fields and inputs (see :meth:`start`); sets
        :attr:`previous` and returns the definition :meth:`start` would write.

        A command that must not leave a definition behind when its model fails to load (``eval``)
        checks before loading and starts after.
        """
        new = RunDefinition(
            self.command, _plain(dict(defining)),
            {**{name: file_sha256(path) for name, path in inputs.items()}, **dict(hashes)}, _plain(dict(info)),
        )
        self.root.mkdir(parents=True, exist_ok=True)
        old = self.check_folder()
        if old is not None:
            diffs = old.differences(new, self.field_names)
            if diffs:
                raise UsageError(
                    f"{self.root} holds a {self.noun} with different {self.options} ({'; '.join(diffs)}); "
                    f"use another --out, or the same {self.options} to resume it"
                )
        self.previous = old
        self.started = self.started or now()  # the session began when its folder was first checked
        return new

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
        write_json(self.definition_path, definition.to_json() if self.render is None else self.render(definition))
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

    # -- a training run's checkpoints and state ---------------------------------------------------------
    def step_folders(self) -> dict[int, Path]:
        """The finished ``step{N}/`` folder parts, by step (ascending)."""
        found = {}
        for folder in self.folders("step*"):
            suffix = folder.name.removeprefix("step")
            if suffix.isdigit():
                found[int(suffix)] = folder
        return dict(sorted(found.items()))

    def latest_state(self, name: str = STATE_FILE) -> tuple[int, Path] | None:
        """The newest checkpoint that holds a training state: (step, its state file ``name``), or None."""
        for step, folder in reversed(self.step_folders().items()):
            if (folder / name).is_file():
                return step, folder / name
        return None

    def drop_older_states(self, keep: int, name: str = STATE_FILE) -> None:
        """Delete the training state of every checkpoint but step ``keep`` (a resume reads the newest only)."""
        for step, folder in self.step_folders().items():
            if step != keep:
                (folder / name).unlink(missing_ok=True)


def save_state(path: str | Path, state: dict[str, Any]) -> None:
    """A training state (tensors, numbers, lists and dicts of them) for :func:`load_state`."""
    import torch  # only the training commands save states

    torch.save(state, path)


def load_state(path: str | Path) -> dict[str, Any]:
    """A training state saved by :func:`save_state` (UsageError when it cannot be read)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - a truncated or foreign file: the user's to remove
        raise UsageError(
            f"{path} is unreadable ({type(err).__name__}: {str(err)[:120]}); delete that checkpoint folder to resume from the one before"
        ) from None
