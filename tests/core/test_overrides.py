"""The one dotted-override implementation (``--set key=value``) shared by ``toy train`` and ``lm train``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from interp.errors import UsageError
from interp.overrides import apply_overrides, parse_sets


def test_parse_sets_splits_at_the_first_equals_sign():
    assert parse_sets(["a.b=1", " c = [1, 2] ", "d=x=y"]) == {"a.b": "1", "c": "[1, 2]", "d": "x=y"}
    for bad in ("a.b", "=1"):
        with pytest.raises(UsageError, match="--set takes FIELD=VALUE"):
            parse_sets([bad])


@dataclass
class Inner:
    width: int = 4
    limit: int | None = None


@dataclass
class Outer:
    inner: Inner = field(default_factory=Inner)
    name: str = "x"


def test_apply_overrides_copies_parses_json_and_checks_types():
    data = {"inner": {"width": 4, "limit": None}, "name": "x"}
    new = apply_overrides(data, {"inner.width": "8", "name": "y", "inner.limit": "3"}, schema=Outer)
    assert new == {"inner": {"width": 8, "limit": 3}, "name": "y"}
    assert data == {"inner": {"width": 4, "limit": None}, "name": "x"}  # the input is not changed
    with pytest.raises(UsageError, match="inner.limit takes an integer or null, not str 'many'"):
        apply_overrides(data, {"inner.limit": "many"}, schema=Outer)
    assert apply_overrides(data, {"inner.limit": "many"})["inner"]["limit"] == "many"  # no schema: the config validates it
    with pytest.raises(UsageError, match=r"unknown config field 'inner.depth'; fields here: inner.width, inner.limit"):
        apply_overrides(data, {"inner.depth": "1"})
    with pytest.raises(UsageError, match="unknown config field 'name'"):
        apply_overrides(data, {"name": "z"}, fixed=("name",))
