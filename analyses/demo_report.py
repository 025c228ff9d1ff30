"""Print the table of `make demo`: one row per task from each run's summary.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path, help="folder holding one run folder per task (results/demo)")
    args = parser.parse_args(argv)
    rows = []
    for summary_path in sorted(args.root.glob("*/summary.json")):
        config = json.loads((summary_path.parent / "config.json").read_text())
        s = json.loads(summary_path.read_text())
        rows.append((config["task"], config.get("model_display", config["model"]), s))
    if not rows:
        raise SystemExit(f"no */summary.json under {args.root}; run `make demo` first")
    header = "| task | model | prompts | skipped | mean P(answer) | mean P(the) | mean log P(ans)/P(the) | top-1 acc | mean logit diff (IO-S) |"
    print(header)
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for task, model, s in rows:
        ld = f"{s['mean_logit_diff']:.3f}" if "mean_logit_diff" in s else "–"
        print(
            f"| {task} | {model} | {s['n_prompts']} | {s['n_skipped']} | {s['mean_p_answer']:.3f} | "
            f"{s['mean_p_the']:.3f} | {s['mean_log_ratio']:.3f} | {s['top1_acc']:.3f} | {ld} |"
        )
    for best_path in sorted(args.root.glob("*/best.json")):
        best = json.loads(best_path.read_text())
        print(f"\nLASER sweep {best_path.parent.name}: best edit {best['edit']} (chosen on {best['n_select']} prompts)")
        print(f"  {best['headline']}")


if __name__ == "__main__":
    main()
