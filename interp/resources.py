"""What a run will cost, checked before it starts: memory against this machine's, time against a day.

The one estimate helper every command uses: :func:`check_memory` refuses a size whose estimate
exceeds the machine's physical memory, :func:`check_time` a run whose estimate exceeds a day
(unless the user passes ``--force``); each message states the estimate and what the machine has,
e.g. ``--n-sequences 1000000000 needs ~528 GB; this machine has 24 GB``.
"""

from __future__ import annotations

import math
from pathlib import Path

from interp.errors import UsageError

DAY_S = 24 * 3600.0  # runs estimated longer than this need --force


def total_memory() -> int | None:
    """This machine's physical memory in bytes (psutil if installed, else /proc/meminfo); None when unknown."""
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return int(psutil.virtual_memory().total)
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def format_bytes(n: float) -> str:
    """``528 GB``, ``25.6 GB``, ``310 MB``: three significant digits, decimal units."""
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            value = n / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{n:.0f} B"


def format_duration(seconds: float) -> str:
    """``~690 h``, ``~3.2 days``, ``~45 min``."""
    if seconds >= 10 * DAY_S:
        days = seconds / DAY_S
        return f"{days:.3g} days" if days < 1000 else f"{days:,.0f} days"
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:.3g} min"
    return f"{seconds:.3g} s"


def check_memory(need_bytes: float, what: str, fix: str) -> None:
    """UsageError when ``need_bytes`` (an estimate of what ``what`` allocates) exceeds this machine's memory.

    ``what`` names the option and value (``--n-sequences 1000000000``), ``fix`` says what to do.
    """
    total = total_memory()
    if total is not None and (not math.isfinite(need_bytes) or need_bytes > total):
        raise UsageError(f"{what} needs ~{format_bytes(need_bytes)}; this machine has {format_bytes(total)}; {fix}")


def check_time(seconds: float, what: str, *, force: bool, fix: str) -> None:
    """UsageError when ``seconds`` (an estimate of ``what``'s run time) exceeds a day, unless ``force``."""
    if (seconds > DAY_S or not math.isfinite(seconds)) and not force:
        raise UsageError(f"{what} would take ~{format_duration(seconds)} (over a day); {fix}, or pass --force to run it anyway")
