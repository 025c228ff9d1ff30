"""Checks the analyses smoke tests share (imported as ``analyses_checks``)."""

from __future__ import annotations

import math
from collections.abc import Iterable


def assert_finite(values: Iterable) -> None:
    """At least one value, and every value a finite number (NaN or inf means a script computed garbage)."""
    values = list(values)
    assert values, "no values"
    bad = [v for v in values if not math.isfinite(float(v))]
    assert not bad, f"non-finite values: {bad[:5]}"


def assert_one_line_exit_2(excinfo, capsys, *needles: str) -> None:
    """A script's user error: SystemExit(2), one ``error: ...`` line on stderr naming every needle."""
    assert excinfo.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith("error: "), err
    for needle in needles:
        assert needle in err, err


def assert_provenance_of(path) -> None:
    """The json file ``path`` records a finished run's provenance (:func:`interp.io.provenance`)."""
    import json
    from pathlib import Path

    stamp = json.loads(Path(path).read_text())["provenance"]
    assert stamp["interp_version"] and stamp["libraries"]["torch"] and stamp["command"]
    assert stamp["started"] <= stamp["finished"], stamp
