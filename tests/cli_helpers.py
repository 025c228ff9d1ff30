"""Running the `interp` CLI in-process (typer's runner) and checking its one-line errors."""

from __future__ import annotations

from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


def run(*args: str):
    """Invoke ``interp ARGS...``; returns typer's Result."""
    return runner.invoke(app, list(args))


def assert_one_line_error(result, *needles: str) -> None:
    """Exit code 2, no traceback, one line on stderr containing every needle."""
    assert result.exit_code == 2, result.output
    text = result.stderr.strip() if result.stderr else result.output.strip()
    assert "Traceback" not in result.output
    assert len(text.splitlines()) == 1, text
    for needle in needles:
        assert needle in text, text


def assert_provenance(definition: dict, command: str) -> dict:
    """The run definition ``definition`` records a finished run's provenance, made by ``interp COMMAND``
    (or its API call) in this process; returns the provenance."""
    import sys

    stamp = definition["provenance"]
    from interp import __version__

    assert stamp["interp_version"] == __version__
    assert stamp["python"] == ".".join(map(str, sys.version_info[:3]))
    assert stamp["libraries"]["torch"] and stamp["libraries"]["transformers"]
    assert stamp["device"] == "cpu" and stamp["dtype"] == "float32"
    assert isinstance(stamp["torch_threads"], int) and stamp["torch_threads"] >= 1
    assert stamp["started"] and stamp["finished"] and stamp["started"] <= stamp["finished"]
    assert command in stamp["command"], stamp["command"]
    return stamp
