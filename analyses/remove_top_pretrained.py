"""Does removing the top singular directions at the best LASER place lower P(" the"), as it removes the toy's noise?

    python analyses/remove_top_pretrained.py [--models smollm2-135m gemma-3-270m] [--k 1..8] [--n N]

For each embedded model, the place (layer, matrix) of its best LASER edit on the factual task
(``results/laser/<model>/factual-controls/best.json``) is edited with ``remove_top:k`` for
k = 1..8 (the top-k singular directions removed, the rest kept) and, for reference, with that
best LASER edit itself; every edit is scored on all the factual prompts. Writes
``results/remove_top/<model>/summary.parquet`` (one row per edit: the summary of
:func:`interp.summarize` and its ``delta_*`` against the unedited model) and prints one table per model.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import pandas as pd
import torch

from interp.edits.spec import Edit
from interp.errors import UsageError
from interp.io import now, provenance, write_json, write_parquet
from interp.models.loading import load_model
from interp.paths import REPO_ROOT
from interp.scoring.edited import evaluate_edited
from interp.scoring.evaluate import evaluate
from interp.scoring.summary import delta, summarize
from interp.tasks import build_task

MODELS = ("smollm2-135m", "gemma-3-270m")
COLUMNS = ("mean_p_answer", "mean_p_the", "ratio_of_means", "geo_mean_ratio", "top1_acc", "exact_acc", "mean_logp_answer_full")


def best_place(best_json: Path) -> Edit:
    if not best_json.is_file():
        raise UsageError(f"{best_json} not found; run `python analyses/laser_sweeps.py` for that model first")
    best = json.loads(best_json.read_text())
    return Edit.parse(best["edit"])


def run_model(name: str, ks: list[int], n: int | None, laser_root: Path, out_root: Path, device: str, model_spec: str | None) -> pd.DataFrame:
    best = best_place(laser_root / name / "factual-controls" / "best.json")
    started = now()
    model = load_model(model_spec or f"embedded:{name}", device=device)
    prompt_set = build_task("factual", model.tokenizer, n=n, seed=0)
    base = summarize(evaluate(model, prompt_set, progress=False))
    rows = [{"edit": "none", "k": 0, **base}]
    edits = [best] + [Edit(best.layer, best.matrix, "remove_top", k=k) for k in ks]
    for edit in edits:
        frame, _ = evaluate_edited(model, prompt_set, [edit], progress=False, lm_cost=False)
        edited = summarize(frame)
        rows.append({"edit": edit.label, "k": edit.k if edit.k is not None else -1, **edited, **delta(edited, base)})
    table = pd.DataFrame(rows)
    out = out_root / name
    write_parquet(out / "summary.parquet", table)
    write_json(out / "config.json", {"model": model.spec.display, "place": f"{best.layer}:{best.matrix}", "best_laser": best.label,
                                     "k": ks, "n_prompts": len(prompt_set),
                                     "provenance": provenance(started, device=model.device, dtype=model.dtype, finished=now())})
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--k", type=int, nargs="+", default=list(range(1, 9)))
    parser.add_argument("--n", type=int, default=None, help="factual prompts (default: all)")
    parser.add_argument("--laser-root", type=Path, default=REPO_ROOT / "results" / "laser")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "results" / "remove_top")
    parser.add_argument("--model-spec", default=None, help="load this spec instead of embedded:<model> (smoke tests)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        for name in args.models:
            table = run_model(name, args.k, args.n, args.laser_root, args.out, args.device, args.model_spec)
            print(f"== {name}: factual, {int(table['n_prompts'].iloc[0])} prompts")
            print(table[["edit", *COLUMNS]].to_markdown(index=False, floatfmt=".4g"))
    except UsageError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
