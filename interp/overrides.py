"""Dotted ``--set key=value`` overrides of a nested config, the one implementation every trainer uses.

A config is written as nested dicts (its ``to_dict``); :func:`apply_overrides` replaces fields
by dotted names (``model.d_model``, ``optim.lr``) in a copy of that dict, checking that each key
exists and that each value has the field's type, and the caller rebuilds its frozen config from
the result (whose ``__post_init__`` validates the values). Values given as strings, as the
command line gives them, are parsed as JSON where possible (``64``, ``1e-3``, ``true``,
``[0.9, 0.95]``), else kept as strings.
"""

from __future__ import annotations

import contextlib
import copy
import json
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any

from interp.errors import UsageError


def parse_sets(items: Iterable[str]) -> dict[str, str]:
    """``["model.d_model=64", ...]`` (repeated ``--set`` options) -> ``{"model.d_model": "64", ...}``."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set takes FIELD=VALUE, e.g. model.d_model=64; got {item!r}")
        out[key.strip()] = value.strip()
    return out


def _type_name(current: Any) -> tuple[tuple[type, ...], str]:
    if isinstance(current, bool):
        return (bool,), "true or false"
    if isinstance(current, int):
        return (int,), "an integer"
    if isinstance(current, float):
        return (int, float), "a number"
    if isinstance(current, (list, tuple)):
        return (list, tuple), "a JSON list such as [true, true]"
    return (type(current),), f"a {type(current).__name__}"


def _from_hint(hint: Any) -> tuple[tuple[type, ...], str] | None:
    """The types a field of type ``hint`` takes when its current value is None (``int | None`` -> int)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            inner = _from_hint(options[0])
            return None if inner is None else ((*inner[0], type(None)), f"{inner[1]} or null")
        return None
    samples = {bool: False, int: 0, float: 0.0, str: "", tuple: (), list: []}
    base = typing.get_origin(hint) or hint
    return _type_name(samples[base]) if base in samples else None


def check_type(key: str, given: Any, value: Any, current: Any, hint: Any = None) -> None:
    """UsageError naming the field, the value given and the type the field takes, when they do not match.

    The type is the current value's; the field's type ``hint``, when given, adds null where the
    field is optional (``int | None``) and says the type of a field whose current value is None.
    Without a hint a None field takes anything (its config validates it).
    """
    optional = _from_hint(hint) if hint is not None else None
    if current is None:
        if optional is None:
            return
        types_, name = optional
    else:
        types_, name = _type_name(current)
        if optional is not None and type(None) in optional[0]:
            types_, name = (*types_, type(None)), f"{name} or null"
    ok = isinstance(value, types_) and not (isinstance(value, bool) and bool not in types_)
    if not ok:
        raise UsageError(f"--set {key}={given!r}: {key} takes {name}, not {type(value).__name__} {value!r}")


def _hints(schema: Any, parts: list[str]) -> Any:
    """The type hint of the dotted field ``parts`` of dataclass ``schema`` (None when unknown)."""
    hint = schema
    for part in parts:
        if hint is None or not isinstance(hint, type):
            return None
        try:
            hint = typing.get_type_hints(hint).get(part)
        except (NameError, TypeError):
            return None
    return hint


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], *, schema: type | None = None, fixed: Iterable[str] = ("format",)
) -> dict[str, Any]:
    """A copy of the nested dict ``data`` with fields replaced by dotted names, e.g. ``{"model.d_model": 64}``.

    An unknown key, a key in ``fixed`` or a value of another type than the field's is a
    UsageError naming the key (and the type it takes). ``schema``, the dataclass ``data`` was
    written from, gives the type of fields whose value is None.
    """
    d = copy.deepcopy(dict(data))
    fixed = set(fixed)
    for key, given in overrides.items():
        value = given
        if isinstance(value, str):
            with contextlib.suppress(json.JSONDecodeError):
                value = json.loads(value)
        parts = key.split(".")
        target = d
        for i, part in enumerate(parts[:-1]):
            if not isinstance(target.get(part), dict):
                raise UsageError(f"unknown config field {key!r}{_known(target, parts[:i])}")
            target = target[part]
        if parts[-1] not in target or parts[-1] in fixed:
            raise UsageError(f"unknown config field {key!r}{_known(target, parts[:-1])}")
        check_type(key, given, value, target[parts[-1]], _hints(schema, parts) if schema is not None else None)
        target[parts[-1]] = value
    return d


def _known(target: Mapping[str, Any], prefix: list[str]) -> str:
    dot = ".".join(prefix) + "." if prefix else ""
    names = [f"{dot}{k}" for k, v in target.items() if not isinstance(v, dict) and k != "format"]
    groups = [f"{dot}{k}.*" for k, v in target.items() if isinstance(v, dict)]
    shown = names + groups
    return f"; fields here: {', '.join(shown)}" if shown else ""
