"""Smoke test of analyses/make_bigram_table.py: counts on a small text, and the committed table reproduced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from interp.paths import REPO_ROOT, shared_data_dir

COMMITTED = REPO_ROOT / "interp" / "toy" / "shakespeare_bigram.json"


def test_counts_of_a_small_text(load_script, tmp_path):
    text = tmp_path / "input.txt"
    text.write_text("abab ba\nab", encoding="utf-8")
    out = tmp_path / "bigram.json"
    load_script("make_bigram_table").main(["--input", str(text), "--out", str(out)])
    table = json.loads(out.read_text())
    assert table["chars"] == ["\n", " ", "a", "b"]
    assert table["n_chars"] == 10
    assert table["unigram_counts"] == [1, 1, 4, 4]
    index = {c: i for i, c in enumerate(table["chars"])}
    counts = table["bigram_counts"]
    assert counts[index["a"]][index["b"]] == 3 and counts[index["b"]][index["a"]] == 2
    assert sum(map(sum, counts)) == table["n_chars"] - 1


def test_a_missing_input_is_an_error(load_script, tmp_path):
    with pytest.raises(SystemExit, match="not found"):
        load_script("make_bigram_table").main(["--input", str(tmp_path / "absent.txt"), "--out", str(tmp_path / "x.json")])
    assert not (tmp_path / "x.json").exists()


def test_reproduces_the_committed_table(load_script, tmp_path):
    source = shared_data_dir() / "tinyshakespeare" / "input.txt"
    if not source.is_file():
        pytest.skip(f"{source} not here")
    out = tmp_path / "bigram.json"
    load_script("make_bigram_table").main(["--input", str(source), "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(Path(COMMITTED).read_text())
