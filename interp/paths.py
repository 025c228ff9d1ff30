"""Where interp finds its data and caches."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def prompts_dir() -> Path:
    """The prompt sets shipped with the project (``$INTERP_PROMPTS`` overrides)."""
    return Path(os.environ.get("INTERP_PROMPTS", REPO_ROOT / "prompts"))


def cache_dir() -> Path:
    """interp's user cache (dequantized embedded models): ``$INTERP_CACHE`` or ``~/.cache/interp``."""
    return Path(os.environ.get("INTERP_CACHE", Path.home() / ".cache" / "interp"))


def shared_data_dir() -> Path:
    """The team's shared data (GSM8K, Tiny Shakespeare): ``$INTERP_SHARED_DATA`` or ``../shared/data``."""
    return Path(os.environ.get("INTERP_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
