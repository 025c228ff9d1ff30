"""Fixtures for the reliability tests: another process holding an output folder's lock."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture
def lock_holder(tmp_path):
    """Another process holding the output lock of ``tmp_path / 'held'`` (yields (folder, pid))."""
    folder = tmp_path / "held"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from interp.io import output_lock; from pathlib import Path\n"
         "with output_lock(Path(sys.argv[1])):\n    print('locked', flush=True); time.sleep(120)", str(folder)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield folder, holder.pid
    finally:
        holder.kill()
        holder.wait()
