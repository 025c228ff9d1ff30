"""Writing a run's outputs (``config.json``, parquet tables, ``summary.json``) and reading configs back.

Files (and whole folders, :func:`write_folder`) are written to a temporary name and renamed
into place, so a run killed mid-write never leaves a half-written file behind. These functions
are the only place in ``interp`` that does so; :class:`interp.store.RunStore` builds the
resumable run folder on them.

Configs are frozen dataclasses holding parsed values (a :class:`~interp.models.spec.ModelSpec`,
:class:`~interp.edits.spec.Edit` s, ...). :func:`write_json` serialises them (a value with a
``to_json_value()`` method is written as what it returns), and :func:`config_from_dict` rebuilds
a config from that JSON on any machine, by the fields' type hints (a type with a
``from_json_value`` classmethod reads its own value).
"""

from __future__ import annotations

import contextvars
import dataclasses
import datetime
import functools
import hashlib
import json
import math
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from interp.errors import UsageError

if TYPE_CHECKING:  # pandas only for the hints: importing io stays light (the CLI's start-up)
    import pandas as pd


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_json_value") and not isinstance(value, type):
        return _jsonable(value.to_json_value())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    return value


_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp(?P<suffix>\.\w+)?$")
_LEGACY_TEMP = re.compile(r"^\..+\.tmp(\.\w+)?$")
LOCK_NAME = ".interp.lock"


def temp_path(path: Path) -> Path:
    """Where ``path`` is written before it is renamed into place: ``.NAME.<pid>.tmp`` (the suffix kept)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def remove_stale_temp(folder: Path) -> list[Path]:
    """Delete the temporary files and folders of writers that are gone (their PID is not running); keep a live writer's."""
    removed = []
    for path in folder.iterdir() if folder.is_dir() else []:
        match = _TEMP.match(path.name)
        stale = (match is not None and not _alive(int(match.group("pid")))) or (match is None and _LEGACY_TEMP.match(path.name))
        if not stale:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed.append(path)
    return removed


def output_dir(path: str | Path) -> Path:
    """The output folder ``path``, created and checked writable before any work starts (UsageError otherwise).

    The one check for every command that writes (``--out``, a toy run a result goes into): an
    existing file, a folder that cannot be created or written, or a full disk are one line naming
    the path and what to do.
    """
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise UsageError(f"--out {p} is an existing file; give a folder (new or existing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".interp-write-check.{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise UsageError(f"cannot write to {p} ({err.strerror or err}); choose a folder you can write to, or free space") from None
    return p


@contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold the folder's lock for a run: a second writer of the same folder fails at once (UsageError naming the holder's PID).

    The lock is a :class:`filelock.FileLock` on ``folder/.interp.lock``; the holder's PID is written
    into the lock file, and the OS releases the lock if the holder dies.
    """
    from filelock import FileLock, Timeout

    lock_path = Path(folder) / LOCK_NAME
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        holder = _read_holder(lock_path)
        raise UsageError(
            f"{folder} is being written by another interp process{f' (PID {holder})' if holder else ''}; "
            f"wait for it to finish or use another --out"
        ) from None
    try:
        (Path(folder) / f"{LOCK_NAME}.pid").write_text(str(os.getpid()))
        yield
    finally:
        (Path(folder) / f"{LOCK_NAME}.pid").unlink(missing_ok=True)
        lock.release()


def _read_holder(lock_path: Path) -> str | None:
    try:
        return lock_path.with_name(f"{LOCK_NAME}.pid").read_text().strip() or None
    except OSError:
        return None


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path`` for the block to write (a file written in pieces, a stream);
    renamed to ``path`` when the block ends normally, deleted if it raises: ``path`` is whole or untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_atomic(path: str | Path, write: Callable[[Path], object]) -> Path:
    """``write(tmp)`` a temporary file next to ``path``, then rename it into place (the temp file goes on error)."""
    with atomic_path(path) as tmp:
        write(tmp)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    return _write_atomic(path, lambda tmp: tmp.write_text(json.dumps(_jsonable(data), indent=2) + "\n"))


def write_parquet(path: str | Path, frame: pd.DataFrame) -> Path:
    return _write_atomic(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_text(path: str | Path, text: str) -> Path:
    """``text`` (UTF-8) into ``path``, atomically."""
    return _write_atomic(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def copy_file(src: str | Path, dst: str | Path) -> Path:
    """A copy of ``src`` at ``dst``, atomically."""
    return _write_atomic(dst, lambda tmp: shutil.copyfile(src, tmp))


def write_folder(path: str | Path, fill: Callable[[Path], object]) -> Path:
    """The folder ``path``, made whole or not at all: ``fill(tmp)`` fills a temporary folder next to
    it (``.NAME.<pid>.tmp``), which is then renamed to ``path``.

    A run killed while filling leaves only the temporary folder (removed by :func:`remove_stale_temp`),
    never a half folder under the final name. An existing ``path`` is replaced (moved aside, the new
    folder renamed in, the old one deleted).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        fill(tmp)
        if path.exists():
            old = path.with_name(f".{path.name}.{os.getpid()}.tmp.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's content (hex): what identifies an input file, wherever it lies."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text())


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dataclasses as dicts, ``to_json_value()`` values, paths as strings)."""
    return _jsonable(value)


T = TypeVar("T")


def _from_json(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _from_json(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_from_json(inner, v) for v in value)
    if isinstance(hint, type) and hasattr(hint, "from_json_value"):
        return hint.from_json_value(value)
    return value


def config_from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild a config dataclass from its JSON (keys that are not fields, such as ``model_display``, ignored)."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: _from_json(hints[k], v) for k, v in data.items() if k in names})  # type: ignore[call-arg]


def existing_file(path: str | Path, what: str, expected: str) -> Path:
    """``path`` if it is a readable file; else a UsageError naming ``what`` and the ``expected`` content.

    The one check for every input file option (``--lm-text``, ``prompts:FILE``, ``--data``):
    a missing path and a directory are told apart.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        raise UsageError(f"{what} {p} is a directory; give {expected}")
    if not p.is_file():
        raise UsageError(f"{what} {p} does not exist; give {expected}")
    return p


def check_out_value(root: str | Path | None, option: str = "--out") -> Path:
    """``root`` as a path; an empty value (``--out ""``, which would mean the working directory) is a UsageError."""
    if root is None or not str(root).strip():
        raise UsageError(f'{option} is empty (""); give the folder to write: a new or empty one, or a run of the same command to resume')
    return Path(root).expanduser()


def out_folder(text: str) -> Path | str:
    """The typer ``parser`` of every output-folder option: the text as a path, but an empty value
    kept as ``""`` (typer would turn it into ``.``, the working directory) so that the command
    refuses it by name (:func:`check_out_value`)."""
    return Path(text) if text.strip() else text


# -- provenance: which code, libraries and machine made a run -------------------------------------

_LIBRARIES = ("torch", "transformers", "transformer_lens", "tokenizers", "numpy", "pandas")
_CALL: contextvars.ContextVar[str | None] = contextvars.ContextVar("interp_call", default=None)


def now() -> str:
    """The current time, UTC, as ISO 8601 to the second (what provenance records)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


@contextmanager
def called_as(call: str) -> Iterator[None]:
    """Within the block, runs record ``call`` (e.g. ``interp.laser_sweep(model='...', ...)``) as the
    command that made them, instead of the process's command line: the Python front door's calls."""
    token = _CALL.set(call)
    try:
        yield
    finally:
        _CALL.reset(token)


def invocation() -> str:
    """What started the current run: the command line or Python call set by :func:`called_as` (the
    CLI sets ``interp ...``, the Python front door its call), else the process's own command line."""
    call = _CALL.get()
    if call is not None:
        return call
    return shlex.join([Path(sys.executable).name, *sys.argv]) if sys.argv and sys.argv[0] else ""


#: the paths whose uncommitted changes make a checkout "dirty" for provenance: the code that makes
#: numbers (results, docs and tests being edited or regenerated do not change what a run computes)
CODE_PATHS = ("interp", "analyses", "bench", "prompts", "pyproject.toml")


@functools.cache
def _git_state() -> dict[str, Any]:
    """{commit, dirty} of the checkout ``interp`` is imported from (dirty: uncommitted changes to
    :data:`CODE_PATHS`); {} outside a git checkout. Read once per process: the code a process runs
    is what it imported, and a run stamps its provenance several times (start, device, end)."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return {}
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {}
    if commit.returncode != 0:
        return {}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip()) if status.returncode == 0 else None}


@functools.cache
def _version(distribution: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(distribution.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def provenance(started: str, *, device: Any = None, dtype: Any = None, finished: str | None = None) -> dict[str, Any]:
    """What made a run, for its ``config.json`` (every command that writes a run folder records it
    under the key ``"provenance"``; ``interp show DIR`` reads it back).

    interp's version, the git commit and whether the tree was dirty (when run from a checkout),
    Python and the libraries' versions, the platform, ``device`` and ``dtype`` as the run used
    them, torch's thread count, ``started`` and ``finished`` (None while running; :func:`now`)
    and the command line or API call (:func:`invocation`).
    """
    from interp import __version__

    torch = sys.modules.get("torch")
    return {
        "interp_version": __version__,
        **_git_state(),
        "python": platform.python_version(),
        "libraries": {name: _version(name) for name in _LIBRARIES},
        "platform": platform.platform(),
        "device": None if device is None else str(device),
        "dtype": None if dtype is None else str(dtype).removeprefix("torch."),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "started": started,
        "finished": finished,
        "command": invocation(),
    }


def read_text_file(path: str | Path, what: str, expected: str, *, max_line_chars: int | None = None, line_limit_reason: str = "") -> str:
    """The content of a UTF-8 text file; UsageError (one line) for a missing path, binary data
    (a NUL byte or bytes that are not UTF-8) or, with ``max_line_chars``, a line longer than that.

    The one check for every option that takes text (``--lm-text``, ``--prompts``). The file is read
    in blocks and refused at the first bad block, so a huge binary or one-line file costs no memory.
    """
    import codecs

    p = existing_file(path, what, expected)
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces: list[str] = []
    line_no, line_chars, offset = 1, 0, 0
    with p.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            nul = block.find(b"\0")
            if nul >= 0:
                raise UsageError(f"{what} {p} is not a text file (a NUL byte at byte {offset + nul}); give {expected}")
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as err:
                raise UsageError(f"{what} {p} is not UTF-8 text (byte {offset + err.start} is not); give {expected}") from None
            offset += len(block)
            if max_line_chars is not None:
                lines = text.split("\n")
                for i, part in enumerate(lines):
                    if (line_chars if i == 0 else 0) + len(part) > max_line_chars:
                        raise UsageError(
                            f"{what} {p}: line {line_no + i} is longer than {max_line_chars:,} characters{line_limit_reason}; give {expected}"
                        )
                line_chars = (line_chars if len(lines) == 1 else 0) + len(lines[-1])
                line_no += len(lines) - 1
            pieces.append(text)
        try:
            pieces.append(decoder.decode(b"", final=True))
        except UnicodeDecodeError:
            raise UsageError(f"{what} {p} is not UTF-8 text (it ends inside a character); give {expected}") from None
    return "".join(pieces)
