"""User-facing errors.

Anything the user can fix (a wrong model name, a bad option, a malformed file) raises
:class:`UsageError` with a one-line message that says what is wrong and what would be
right. The CLI (``interp.cli``) prints it as one line on stderr and exits with code 2,
without a traceback; library callers catch it as a ``ValueError``.
"""


class UsageError(ValueError):
    """Bad input from the user: reported as one line, exit code 2."""


def check_positive(value: int | None, option: str, minimum: int = 1) -> None:
    """The one rule for count options (``--n``, ``--batch-size``, ...): None (the default) or an integer >= ``minimum``."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < minimum):
        raise UsageError(f"{option} must be >= {minimum}, got {value!r}")


def check_seed(value: int, option: str = "--seed") -> None:
    """The one rule for seeds: an integer in [0, 2**63) (numpy and torch generators take no negative seed)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise UsageError(f"{option} must be an integer from 0 to 2**63-1, got {value!r}")
