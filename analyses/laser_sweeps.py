"""The LASER sweeps whose figures and best.json are committed under ``results/laser/<model>/<run>/``.

    python analyses/laser_sweeps.py                     # every run below
    python analyses/laser_sweeps.py smollm2-135m/factual smollm2-135m/ioi

Part 1 runs (lowrank only, every layer): ``smollm2-135m/{factual,ioi}``.
Control runs (``--controls``: zero and random edits at every place, LM cost; the last third of
the layers, to bound the cost of the extra edits and the LM-loss passes):
``{smollm2-135m,gemma-3-270m}/{factual,ioi}-controls``.

``--model``, ``--n`` and ``--out`` run the same grids on another model, fewer prompts or into
another folder (the smoke test uses a tiny random model); without them the runs are the committed ones.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from interp.edits.grid import LayerSpec
from interp.laser.cli import format_best
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.models.spec import ModelSpec
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="*", help=f"runs to make (default: all): {', '.join(RUNS)}")
    parser.add_argument("--model", default=None, help="run every grid on this model instead of the run's own")
    parser.add_argument("--n", type=int, default=None, help="prompts per run (default: all of the task's)")
    parser.add_argument("--out", type=Path, default=OUT, help="folder holding the run folders (default: results/laser)")
    args = parser.parse_args(argv)
    unknown = [name for name in args.runs if name not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {', '.join(map(repr, unknown))}; choose from {', '.join(RUNS)}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger().setLevel(logging.ERROR)
    logging.getLogger("interp").setLevel(logging.INFO)
    overrides = {key: value for key, value in (("model", args.model), ("n", args.n)) if value is not None}
    for name in args.runs or list(RUNS):
        run = {**RUNS[name], **overrides}
        model, layers = ModelSpec.parse(run.pop("model")), LayerSpec.parse(run.pop("layers"))
        config = LaserSweep(out=str(args.out / name), device="cpu", model=model, layers=layers, **run)
        best = run_laser_sweep(config)
        print(f"== {name}\n{format_best(best)}", flush=True)


if __name__ == "__main__":
    main()
