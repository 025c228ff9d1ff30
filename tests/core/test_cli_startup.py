"""`interp --help` stays light: the CLI imports no torch-heavy module until a command runs."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_module_imports_no_heavy_library():
    code = (
        "import sys, interp.cli; "
        "heavy = [m for m in ('torch', 'transformers', 'transformer_lens', 'pandas') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"interp.cli imports {out} at start-up"


def test_constants_kept_light_match_their_sources():
    from transformer_lens.tools.model_registry.checkpoints import PYTHIA_CHECKPOINTS

    from interp.models.checkpoints import PYTHIA_STEPS
    from interp.toy import cli as toy_cli
    from interp.toy import configs

    assert list(PYTHIA_STEPS) == list(PYTHIA_CHECKPOINTS)
    assert toy_cli.PRESETS == configs.PRESETS and toy_cli.TASKS == configs.TASKS and toy_cli.ARCHS == configs.ARCHS
