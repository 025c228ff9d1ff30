"""Smoke test of ``bench/bench_train.py --quick`` at the tiny size: it runs, both loops train the same weights, the last line is the ratio."""

from __future__ import annotations

import importlib.util
import re

from tests.lm.conftest import REPO_ROOT, cli_sets


def test_bench_train_quick_runs_and_ends_with_the_ratio(capsys):
    spec = importlib.util.spec_from_file_location("bench_train", REPO_ROOT / "bench" / "bench_train.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--quick", "--size", "tiny", "--task", "factual", "--n", "4", "--device", "cpu", *cli_sets()])
    lines = capsys.readouterr().out.strip().splitlines()
    assert "same final weights: largest difference 0" in lines
    assert any(re.search(r"3 checkpoints in [\d.]+ s, [\d.]+ s per checkpoint", line) for line in lines)
    assert re.fullmatch(r"trainer_vs_plain_loop: \d+\.\d\dx", lines[-1])
