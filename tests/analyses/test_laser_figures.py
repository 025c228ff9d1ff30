"""Smoke test of analyses/laser_figures.py: the figures of a LASER run folder drawn again from its tables."""

from __future__ import annotations

import pytest

FIGURES = ("heatmap.png", "heatmap_top1.png", "p_the_vs_p_answer_best.png")
PNG = b"\x89PNG\r\n\x1a\n"


def test_redraws_the_figures(load_script, laser_run_copy):
    for name in FIGURES:
        (laser_run_copy / name).unlink()
    load_script("laser_figures").main([str(laser_run_copy)])
    for name in FIGURES:
        data = (laser_run_copy / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, name


def test_no_run_folder_is_an_error(load_script):
    with pytest.raises(SystemExit, match="laser-sweep"):
        load_script("laser_figures").main([])
