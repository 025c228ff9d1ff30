"""Redraw a LASER sweep's figures from its run folder (no model needed).

    python analyses/laser_figures.py results/laser/smollm2-135m/factual [more run folders]

Reads ``summary.parquet``, ``results.parquet``, ``best.json`` and ``config.json`` and writes the
heatmaps and ``p_the_vs_p_answer_best.png`` again (e.g. after a change to the plotting code).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from interp.io import read_json
from interp.laser.plots import before_after, laser_heatmaps


def redraw(run: Path) -> None:
    config, best = read_json(run / "config.json"), read_json(run / "best.json")
    summary = pd.read_parquet(run / "summary.parquet")
    results = pd.read_parquet(run / "results.parquet")
    title = f"{config['model_display']} · {config['task'].split(':')[0]} (n={config['n_prompts']})"
    laser_heatmaps(summary, run, title=title)
    held = results[results["split"] == "heldout"]
    before = held[held["layer"] == -1].sort_values("prompt_index")
    after = held[held["config"] == best["edit"]].sort_values("prompt_index")
    before_after(before, after, run / "p_the_vs_p_answer_best.png", title=f"{title} · {len(before)} held-out prompts", after_label=best["edit"])


def main(argv: list[str] | None = None) -> None:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        raise SystemExit("give one or more run folders written by interp laser-sweep")
    for path in paths:
        redraw(Path(path))


if __name__ == "__main__":
    main(sys.argv[1:])
