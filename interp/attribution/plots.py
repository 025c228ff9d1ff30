"""Figures of an attribution run: per-scope heatmaps, the summary across layers, a circuitsvis view."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from interp.attribution.scores import CATEGORIES, shares
from interp.io import write_text
from interp.plots import MATPLOTLIB, SEQUENTIAL_CMAP, new_figure, save_figure, themed

log = logging.getLogger(__name__)


def _label(token: str) -> str:
    text = token.replace("\n", "\\n")
    return text if len(text) <= 12 else text[:11] + "…"


@themed(MATPLOTLIB)
def heatmap(path: Path, share: np.ndarray, tokens: list[str], title: str) -> None:
    """One map (row shares) with token labels; the upper triangle (j > i) is blank."""
    T = len(tokens)
    size = max(3.5, 0.32 * T + 1.5)
    fig = new_figure((size + 1.0, size))
    ax = fig.subplots()
    labels = [_label(t) for t in tokens]
    sns.heatmap(share, mask=np.triu(np.ones_like(share, dtype=bool), k=1), cmap=SEQUENTIAL_CMAP, vmin=0.0,
                square=True, xticklabels=labels, yticklabels=labels, cbar_kws={"label": "share of row"}, ax=ax)
    ax.set_xlabel("input token j")
    ax.set_ylabel("output position i")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    save_figure(fig, path, dpi=110, tight=False)


def scope_heatmaps(out: Path, tokens: list[str], maps: dict[int, dict[str, np.ndarray]]) -> list[Path]:
    """``layer{L}_{scope}.png`` for every layer and scope of one prompt."""
    paths = []
    for layer, by_scope in maps.items():
        for scope, m in by_scope.items():
            path = out / f"layer{layer}_{scope}.png"
            heatmap(path, shares(m), tokens, f"layer {layer}, {scope} (row shares)")
            paths.append(path)
    return paths


@themed(MATPLOTLIB)
def summary_figure(path: Path, summary: dict[str, Any]) -> None:
    """Spearman between scopes by layer, and FF amplification (vs ATB) by category and layer."""
    per_layer = summary["per_layer"]
    layers = [int(k) for k in per_layer]
    fig = new_figure((12, 8.5))
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    for pair in summary["scope_pairs"]:
        ys = [per_layer[str(layer)]["spearman"][pair]["mean"] for layer in layers]
        ax.plot(layers, [np.nan if y is None else y for y in ys], marker="o", ms=3, label=pair)
    ax.set_title("Spearman between scopes (mean over prompts)")
    ax.set_xlabel("layer")
    ax.set_ylabel("Spearman's rho")
    ax.legend(fontsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax, scope in zip([axes[0, 1], axes[1, 0], axes[1, 1]], summary["amplified_scopes"]):
        for cat in CATEGORIES:
            ys = [per_layer[str(layer)]["amplification"][scope][cat]["mean_log2_ratio"] for layer in layers]
            ax.plot(layers, [np.nan if y is None else y for y in ys], marker="o", ms=3, label=cat)
        ax.axhline(0.0, color="grey", lw=0.8)
        ax.set_title(f"{scope} vs ATB: mean log2 share ratio by pair category")
        ax.set_xlabel("layer")
        ax.set_ylabel("log2(share / share in ATB)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=7)
    fig.suptitle(f"{summary['model']}: {summary['n_prompts']} prompts, IG steps {summary['ig_steps']}", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, dpi=120, tight=False)


def maps_html(path: Path, tokens: list[str], maps: dict[int, dict[str, np.ndarray]]) -> None:
    """A circuitsvis ``attention_heads`` view: every (layer, scope) row-share map is one "head".

    The page carries circuitsvis's JavaScript inline, so it opens offline."""
    import circuitsvis as cv

    names, stack = [], []
    for layer, by_scope in maps.items():
        for scope, m in by_scope.items():
            names.append(f"L{layer} {scope}")
            stack.append(shares(m).astype(np.float32))
    view = cv.attention.attention_heads(
        attention=np.stack(stack), tokens=list(tokens), attention_head_names=names, mask_upper_tri=True
    )
    body = view.local_src
    write_text(
        path,
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>interp attribution</title></head>\n"
        f"<body>\n<p>Row shares of each scope's map (output position i, input token j), "
        f"one panel per layer and scope.</p>\n{body}\n</body></html>\n",
    )


def write_figures(out: Path, summary: dict[str, Any], tokens: list[str], maps: dict[int, dict[str, np.ndarray]]) -> None:
    scope_heatmaps(out, tokens, maps)
    summary_figure(out / "summary.png", summary)
    maps_html(out / "maps.html", tokens, maps)
