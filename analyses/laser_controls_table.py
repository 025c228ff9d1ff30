"""Print, for LASER runs made with ``--controls``, the best edit next to its controls at the same place.

    python analyses/laser_controls_table.py results/laser/*/*-controls

One line per run and edit kind at the chosen (layer, matrix): LASER at the chosen rho, the zero
ablation, and the random-directions control at the same rho. Changes are against the unedited
model: mean log P(answer)/P(" the") on the held-out prompts, and over all prompts P(answer),
P(" the"), top-1 accuracy and the LM loss on the reference text.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from interp.io import read_json

COLUMNS = ("heldout_delta_log_ratio", "delta_p_answer", "delta_p_the", "delta_top1_acc", "delta_lm_loss")


def rows(run: Path) -> pd.DataFrame:
    best = read_json(run / "best.json")
    summary = pd.read_parquet(run / "summary.parquet")
    place = summary[(summary["layer"] == best["layer"]) & (summary["matrix"] == best["matrix"])]
    picked = place[
        ((place["kind"] == "lowrank") & (place["rho"] == best["rho"]))
        | (place["kind"] == "zero")
        | ((place["kind"] == "random") & (place["rho"] == best["rho"]))
    ]
    out = picked[["config", *COLUMNS]].copy()
    out.insert(0, "run", f"{run.parent.name}/{run.name}")
    return out


def main(argv: list[str] | None = None) -> None:
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        raise SystemExit("give run folders written by interp laser-sweep --controls")
    table = pd.concat([rows(Path(p)) for p in paths], ignore_index=True)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.float_format", "{:+.3f}".format):
        print(table.to_string(index=False))


if __name__ == "__main__":
    main(sys.argv[1:])
