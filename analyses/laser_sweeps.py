"""The LASER sweeps whose figures and best.json are committed under ``results/laser/<model>/<run>/``.

    python analyses/laser_sweeps.py                     # every run below
    python analyses/laser_sweeps.py smollm2-135m/factual smollm2-135m/ioi

Part 1 runs (lowrank only, every layer): ``smollm2-135m/{factual,ioi}``.
Control runs (``--controls``: zero and random edits at every place, LM cost; the last third of
the layers, to bound the cost of the extra edits and the LM-loss passes):
``{smollm2-135m,gemma-3-270m}/{factual,ioi}-controls``.
"""

from __future__ import annotations

import logging
import sys

from interp.laser.cli import format_best
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.paths import REPO_ROOT

OUT = REPO_ROOT / "results" / "laser"

RUNS: dict[str, dict] = {
    "smollm2-135m/factual": dict(model="embedded:smollm2-135m", task="factual", layers="all"),
    "smollm2-135m/ioi": dict(model="embedded:smollm2-135m", task="ioi", layers="all"),
    "smollm2-135m/factual-controls": dict(model="embedded:smollm2-135m", task="factual", layers="last-third", controls=True, lm_tokens=1024),
    "smollm2-135m/ioi-controls": dict(model="embedded:smollm2-135m", task="ioi", layers="last-third", controls=True, lm_tokens=1024),
    "gemma-3-270m/factual-controls": dict(model="embedded:gemma-3-270m", task="factual", layers="last-third", controls=True, lm_tokens=512),
    "gemma-3-270m/ioi-controls": dict(model="embedded:gemma-3-270m", task="ioi", layers="last-third", controls=True, lm_tokens=512),
}


def main(names: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("interp").setLevel(logging.INFO)
    for name in names or list(RUNS):
        if name not in RUNS:
            raise SystemExit(f"unknown run {name!r}; choose from {', '.join(RUNS)}")
        config = LaserSweep(out=str(OUT / name), device="cpu", **RUNS[name])
        best = run_laser_sweep(config)
        print(f"== {name}\n{format_best(best)}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
