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
