"""``interp tiny --n-ctx``: the context length of the written model."""

from __future__ import annotations

import json

from cli_helpers import assert_one_line_error, run


def test_tiny_n_ctx(tmp_path):
    result = run("tiny", str(tmp_path / "m"), "--arch", "llama", "--n-ctx", "2048")
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m" / "config.json").read_text())["max_position_embeddings"] == 2048
    assert run("tiny", str(tmp_path / "g"), "--arch", "gpt2").exit_code == 0
    assert json.loads((tmp_path / "g" / "config.json").read_text())["n_positions"] == 256  # default as before
    assert_one_line_error(run("tiny", str(tmp_path / "x"), "--n-ctx", "0"), "--n-ctx must be >= 1")
