"""Every argument that defines a checkpoint sweep is part of its resume identity, ``--laser``
included: resuming a folder with other edits would report rows that were never evaluated for
them (every step is already done), so it is refused in one line naming ``--laser``, and the
folder's tables are left as they were. Through the command, as a user resumes.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


def _sweep(model_dir, out, *extra: str):
    return runner.invoke(app, ["checkpoint-sweep", "--model", str(model_dir), "--steps", "0", "--task", "factual",
                               "--n", "2", "--device", "cpu", "--out", str(out), *extra])


def _refused(result, *needles: str) -> None:
    assert result.exit_code == 2, result.output
    text = (result.stderr or result.output).strip()
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text, text


@pytest.mark.parametrize(
    "first, second",
    [
        (("--laser", "1:mlp_in:0.1"), ("--laser", "1:mlp_in:0.2")),  # another rho
        (("--laser", "1:mlp_in:0.1"), ("--laser", "0:mlp_in:0.1")),  # another layer
        (("--laser", "1:mlp_in:0.1"), ()),  # the edit dropped
        ((), ("--laser", "1:mlp_in:0.1")),  # an edit added
        (("--laser", "1:mlp_in:0.1"), ("--laser", "1:mlp_in:0.1", "--laser", "1:mlp_out:zero")),  # one more
    ],
    ids=["rho", "layer", "dropped", "added", "one-more"],
)
def test_resume_with_other_laser_edits_is_refused(tiny_steps_dir, tmp_path, first, second):
    out = tmp_path / "sweep"
    done = _sweep(tiny_steps_dir, out, *first)
    assert done.exit_code == 0, done.output
    before = {name: (out / name).read_bytes() for name in ("results.parquet", "summary.parquet", "sweep.json")}
    _refused(_sweep(tiny_steps_dir, out, *second), "--laser")
    assert {name: (out / name).read_bytes() for name in before} == before  # nothing rewritten
    again = _sweep(tiny_steps_dir, out, *first)  # the same edits still resume it
    assert again.exit_code == 0, again.output
    edits = set(pd.read_parquet(out / "results.parquet")["edit"])
    assert edits == {"none"} | {e.replace(":0.1", ":lowrank:0.1") for e in first[1::2]}
