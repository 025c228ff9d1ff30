"""Fixtures for the GSM8K command tests: small GSM8K-format jsonl files and a tiny Llama with a
1024-token context (room for a 2-shot prompt)."""

from __future__ import annotations

import json

import pytest

from interp.models.tiny import TinyConfig, make_tiny_model

TEST_ROWS = [
    {"question": "Tom has 3 apples and buys 4 more. How many apples does he have?", "answer": "3 + 4 = <<3+4=7>>7\n#### 7"},
    {"question": "A box holds 12 pens. How many pens are in 2 boxes?", "answer": "12 * 2 = <<12*2=24>>24\n#### 24"},
    {"question": "Ann had $1,500 and spent $500. How much is left?", "answer": "1500 - 500 = <<1500-500=1000>>1000\n#### 1,000"},
]
TRAIN_ROWS = [
    {"question": f"Sam has {i} cards and gets {i + 1} more. How many cards now?", "answer": f"{i} + {i + 1} = <<{i}+{i + 1}={2 * i + 1}>>{2 * i + 1} cards.\n#### {2 * i + 1}"}
    for i in range(1, 7)
]


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def gsm_rows() -> list[dict]:
    return TEST_ROWS


@pytest.fixture
def gsm_files(tmp_path):
    """(test.jsonl, train.jsonl) side by side, as in the shared data folder."""
    folder = tmp_path / "gsm8k"
    folder.mkdir()
    return write_jsonl(folder / "test.jsonl", TEST_ROWS), write_jsonl(folder / "train.jsonl", TRAIN_ROWS)


@pytest.fixture(scope="session")
def tiny_llama_1k(tmp_path_factory, tiny_tokenizer) -> str:
    return str(make_tiny_model(tmp_path_factory.mktemp("gsm-tiny") / "llama", TinyConfig(arch="llama", n_ctx=1024), tiny_tokenizer))
