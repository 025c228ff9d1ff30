"""Print per-layer tables of an `interp attribution` run from its summary.json (markdown).

    python analyses/attribution_report.py results/attribution/smollm2-135m

Table 1: Spearman between scopes per layer. Table 2: FF amplification per layer, mean
log2(share / share in ATB) by pair category for ATBFF, and the excess of same-word pairs over
previous-token pairs (same distance, different words) at ATBFF, ATBFFRES and ATBFFRESLN, with
its standard error (pairs treated as independent: a rough guide, pairs share prompts).
Last, the layer counts behind the README's statements.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

CATS = ("same_word", "previous_token", "same_distance", "other")
SCOPES = ("ATBFF", "ATBFFRES", "ATBFFRESLN")


def _f(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def _pm(x: tuple[float, float] | None) -> str:
    return "–" if x is None else f"{x[0]:+.3f} ± {x[1]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="an interp attribution output folder")
    args = parser.parse_args()
    s = json.loads((args.run / "summary.json").read_text())
    per_layer = s["per_layer"]
    pairs = s["scope_pairs"]
    print(f"{s['model']}: {s['n_prompts']} prompts, {s['n_tokens']} tokens, IG steps {s['ig_steps']}, "
          f"worst completeness error {s['worst_completeness_error']['value']:.3g} "
          f"(layer {s['worst_completeness_error']['layer']}, {s['worst_completeness_error']['component']})\n")
    print("| layer | " + " | ".join(pairs) + " |")
    print("|---:|" + "---:|" * len(pairs))
    for layer, v in per_layer.items():
        print(f"| {layer} | " + " | ".join(_f(v["spearman"][p]["mean"]) for p in pairs) + " |")
    print()
    n_pairs = {c: per_layer[next(iter(per_layer))]["amplification"]["ATBFF"][c]["n_pairs"] for c in CATS}
    print("pairs per layer: " + ", ".join(f"{c} {n}" for c, n in n_pairs.items()) + "\n")
    head = [f"ATBFF {c}" for c in CATS] + [f"{sc}: same_word - previous_token" for sc in SCOPES]
    print("| layer | " + " | ".join(head) + " | ATBFF off-diagonal share |")
    print("|---:|" + "---:|" * (len(head) + 1))
    excess = {sc: [] for sc in SCOPES}
    top = 0
    for layer, v in per_layer.items():
        amp = v["amplification"]
        row = [amp["ATBFF"][c]["mean_log2_ratio"] for c in CATS]
        for sc in SCOPES:
            a, b = amp[sc]["same_word"], amp[sc]["previous_token"]
            if a["mean_log2_ratio"] is None or b["mean_log2_ratio"] is None:
                excess[sc].append(None)
            else:  # difference of means and its standard error (pairs treated as independent)
                se = (a["std_log2_ratio"] ** 2 / a["n_pairs"] + b["std_log2_ratio"] ** 2 / b["n_pairs"]) ** 0.5
                excess[sc].append((a["mean_log2_ratio"] - b["mean_log2_ratio"], se))
        if row[0] is not None and all(row[0] > x for x in row[1:] if x is not None):
            top += 1
        cells = [_f(x) for x in row] + [_pm(excess[sc][-1]) for sc in SCOPES]
        print(f"| {layer} | " + " | ".join(cells) + f" | {v['ff_offdiag_share']['mean']:.3f} |")
    n = len(per_layer)
    print()
    print(f"layers where same_word has the highest ATBFF amplification of the four categories: {top}/{n}")
    for sc in SCOPES:
        vals = [x for x in excess[sc] if x is not None]
        pos = sum(d > 0 for d, _ in vals)
        above = sum(d > 2 * se for d, se in vals)
        below = sum(d < -2 * se for d, se in vals)
        mean = sum(d for d, _ in vals) / len(vals) if vals else float("nan")
        mean_abs = sum(abs(d) for d, _ in vals) / len(vals) if vals else float("nan")
        print(f"{sc}: same_word - previous_token > 0 in {pos}/{len(vals)} layers "
              f"(> 2 s.e. in {above}, < -2 s.e. in {below}), mean {mean:+.3f}, mean |.| {mean_abs:.3f}")
    offd = s["across_layers"].get("offdiag_share", {})
    if offd:
        print("share outside the diagonal, mean over layers: " + ", ".join(f"{k} {v:.3f}" for k, v in offd.items()))


if __name__ == "__main__":
    main()
