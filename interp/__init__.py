"""interp: a mechanistic-interpretability toolkit for pretrained language models.

The front door (a notebook session; ``docs/python.md`` walks through one)::

    import interp
    model = interp.load_model("embedded:smollm2-135m")       # hub name, Pythia step, folder, toy run
    facts = interp.build_task("factual", model, n=50)          # ioi, factual, prompts:FILE
    table = interp.evaluate(model, facts)                      # one row per prompt
    interp.summarize(table)                                     # means, top-1, both ratios
    with interp.apply_edits(model, ["28:mlp_in:0.01"]):         # LASER inside the block only
        edited = interp.evaluate(model, facts)
    best = interp.laser_sweep(model, "factual", out="runs/laser", layers="last-third")
    interp.checkpoint_sweep("runs/toy", steps="all", task="noisy-recall", out="runs/sweep")

Packages (one job each), lowest layer first: ``errors``, ``paths``, ``io``, ``plots`` (foundations);
``models`` (spec, loading, registry, embedded, tiny); ``tasks`` (prompt sets as data); ``edits``
(Edit, grid grammar, apply/restore, SVDs, ablation references); ``scoring`` (forward, metrics, the one
summary, LM loss) and ``generate`` (batched greedy generation); then the capabilities, none importing
another's internals: ``laser`` (sweeps of edits), ``checkpoint_sweeps`` (checkpoints over training),
``toy`` (toy trainer), ``lm`` (training a small language model), ``attribution`` (norm-based maps),
``gsm8k`` (chain-of-thought accuracy); ``api`` and ``cli`` on top.
Names are imported on first use, so ``import interp`` (and the CLI) stays fast.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

#: front-door name -> (module, attribute)
_EXPORTS = {
    "load_model": ("interp.models.loading", "load_model"),
    "HookedModel": ("interp.models.loading", "HookedModel"),
    "ModelSpec": ("interp.models.spec", "ModelSpec"),
    "build_task": ("interp.api", "build_task"),
    "evaluate": ("interp.api", "evaluate"),
    "summarize": ("interp.api", "summarize"),
    "Edit": ("interp.edits.spec", "Edit"),
    "parse_edits": ("interp.edits.spec", "parse_edits"),
    "apply_edits": ("interp.api", "apply_edits"),
    "laser_sweep": ("interp.api", "laser_sweep"),
    "checkpoint_sweep": ("interp.api", "checkpoint_sweep"),
    "UsageError": ("interp.errors", "UsageError"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        module, attr = _EXPORTS[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'interp' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
