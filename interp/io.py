"""Writing a run's outputs (``config.json``, parquet tables, ``summary.json``) and reading configs back.

Files are written to a temporary name and renamed into place, so a run killed mid-write
never leaves a half-written file behind.

Configs are frozen dataclasses holding parsed values (a :class:`~interp.models.spec.ModelSpec`,
:class:`~interp.edits.spec.Edit` s, ...). :func:`write_json` serialises them (a value with a
``to_json_value()`` method is written as what it returns), and :func:`config_from_dict` rebuilds
a config from that JSON on any machine, by the fields' type hints (a type with a
``from_json_value`` classmethod reads its own value).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from interp.errors import UsageError


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


def write_json(path: str | Path, data: Any) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(_jsonable(data), indent=2) + "\n")
    os.replace(tmp, path)
    return path


def write_parquet(path: str | Path, frame: pd.DataFrame) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


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
