"""User-facing errors.

Anything the user can fix (a wrong model name, a bad option, a malformed file) raises
:class:`UsageError` with a one-line message that says what is wrong and what would be
right. The CLI prints it as one line on stderr and exits with code 2, no traceback.
It derives from click's ``ClickException`` so that typer (and its test runner) handles it
the same way as its own bad-parameter errors, and from ``ValueError`` for library callers.
"""

from __future__ import annotations

import click


class UsageError(click.ClickException, ValueError):
    """Bad input from the user: reported as one line, exit code 2."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
