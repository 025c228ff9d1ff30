"""The Python front door: the few calls a notebook session needs, each taking plain strings.

    model = interp.load_model("embedded:smollm2-135m")
    facts = interp.build_task("factual", model, n=50)
    table = interp.evaluate(model, facts)                       # one row per prompt
    interp.summarize(table)                                      # means, top-1, both ratios
    with interp.apply_edits(model, ["28:mlp_in:0.01"]):          # edited inside the block only
        edited = interp.evaluate(model, facts)
    best = interp.laser_sweep(model, "factual", out="runs/laser", layers="last-third")
    report = interp.checkpoint_sweep("runs/toy", steps="all", task="noisy-recall", out="runs/toy-sweep")

Everything here is a thin layer over the library (:mod:`interp.models`, :mod:`interp.tasks`,
:mod:`interp.scoring`, :mod:`interp.edits`, :mod:`interp.laser`, :mod:`interp.checkpoint_sweeps`): it
parses the strings once and calls the same code the command line calls.

Every argument is checked first, by :func:`_arguments` and the rule of the argument's name
(:data:`_RULES`): a wrong type or value is a :class:`~interp.errors.UsageError` naming the call,
the argument and what it takes. A list of edits, rhos, matrices, kinds or relations may also be
given as one string, read by the command line's own parser (``rhos="0.5,0.1"`` is
``rhos=[0.5, 0.1]``; ``laser="28:mlp_in:0.01"`` is ``laser=["28:mlp_in:0.01"]``). Calls that
write a run folder start it in one place, :func:`_start_run`.
"""

from __future__ import annotations

import dataclasses
import numbers
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from interp.checkpoint_sweeps.run import SweepConfig, run_sweep
from interp.edits.apply import EditReport
from interp.edits.apply import apply_edits as _apply_edits
from interp.edits.grid import LayerSpec, parse_floats, parse_names
from interp.edits.spec import Edit, parse_edits
from interp.errors import UsageError, check_positive
from interp.io import called_as
from interp.laser.run import LaserSweep, run_laser_sweep
from interp.models.loading import HookedModel
from interp.models.spec import ModelSpec
from interp.models.tokens import PromptTokenizer
from interp.scoring.edited import evaluate_edited
from interp.scoring.evaluate import evaluate as _evaluate
from interp.scoring.lm_loss import check_lm_text
from interp.scoring.summary import summarize as _summarize
from interp.tasks import build_task as _build
from interp.tasks.base import PromptSet
from interp.tasks.options import parse_relations

T = TypeVar("T")

# ---------------------------------------------------------------------------------------------
# Argument rules: each takes the argument's name and value and returns the value the library takes,
# or raises _Refused with what the argument takes (or a parser's own UsageError).


class _Refused(Exception):
    def __init__(self, takes: str) -> None:
        super().__init__(takes)
        self.takes = takes


Rule = Callable[[str, Any], Any]


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _count(minimum: int, *, optional: bool = False) -> Rule:
    """An integer >= ``minimum`` (the bound is :func:`~interp.errors.check_positive`, the CLI's rule)."""
    takes = f"an integer >= {minimum}" + (" or None" if optional else "")

    def rule(name: str, value: Any) -> int | None:
        if value is None and optional:
            return None
        if not _is_integer(value):
            raise _Refused(takes)
        try:
            check_positive(int(value), name, minimum)
        except UsageError:
            raise _Refused(takes) from None
        return int(value)

    return rule


def _number(*, optional: bool = False) -> Rule:
    """A real number (its range is the config's check)."""
    takes = "a number" + (" or None" if optional else "")

    def rule(name: str, value: Any) -> float | None:  # noqa: ARG001
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _Refused(takes)
        return float(value)

    return rule


def _flag(name: str, value: Any) -> bool:  # noqa: ARG001
    if not isinstance(value, (bool, np.bool_)):
        raise _Refused("True or False")
    return bool(value)


def _text(*, optional: bool = False) -> Rule:
    takes = "a string" + (" or None" if optional else "")

    def rule(name: str, value: Any) -> str | None:  # noqa: ARG001
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise _Refused(takes)
        return value

    return rule


def _folder(name: str, value: Any) -> str:  # noqa: ARG001
    if not isinstance(value, (str, os.PathLike)) or not str(os.fspath(value)).strip():
        raise _Refused("a folder path (a non-empty str or pathlib.Path)")
    return str(os.fspath(value))


def _text_file(name: str, value: Any) -> str | None:  # noqa: ARG001
    """``lm_text``: None (the default text) or a file, checked and resolved as the CLI does."""
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)):
        raise _Refused("a text file path (str or pathlib.Path) or None")
    return str(check_lm_text(os.fspath(value)).resolve())


def _joined(name: str, value: Any, item_types: tuple[type, ...], takes: str) -> str:
    """A list given as one comma-separated string (as typed after the CLI option), or a list of items."""
    if isinstance(value, str):
        return value
    if isinstance(value, item_types) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, (list, tuple, np.ndarray)) or not all(isinstance(v, (str, *item_types)) and not isinstance(v, bool) for v in value):
        raise _Refused(takes)
    return ",".join(v if isinstance(v, str) else str(float(v)) for v in value)


def _rhos(name: str, value: Any) -> tuple[float, ...]:
    return parse_floats(_joined(name, value, (numbers.Real,), "a list of numbers in (0, 1] or a string such as '0.5,0.1'"), name)


def _names(example: str) -> Rule:
    def rule(name: str, value: Any) -> tuple[str, ...]:
        return parse_names(_joined(name, value, (), f"a list of names or a string such as {example!r}"), name)

    return rule


def _relations(name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return parse_relations(_joined(name, value, (), "a list of relations or a string such as 'located_in,capital_of' (None: all)"))


def _layers(name: str, value: Any) -> LayerSpec:  # noqa: ARG001
    if isinstance(value, LayerSpec):
        return value
    if _is_integer(value) or (isinstance(value, (list, tuple)) and value and all(_is_integer(v) for v in value)):
        value = ",".join(str(int(v)) for v in np.atleast_1d(value))
    if not isinstance(value, str):
        raise _Refused("all, last-third, 'A:B', a layer number or a list of layer numbers")
    return LayerSpec.parse(value)


def _edit_list(value: Any) -> list[Edit | str]:
    if value is None:
        return []
    if isinstance(value, (str, Edit)):
        return [value]
    if isinstance(value, (list, tuple)):
        return list(value)
    raise _Refused("an edit such as '28:mlp_in:0.01', an Edit, or a list of them")


def _edits(name: str, value: Any) -> tuple[Edit, ...]:  # noqa: ARG001
    """Edits applied together (``evaluate``, ``apply_edits``): one per matrix (:func:`parse_edits`)."""
    return parse_edits(_edit_list(value))


def _sweep_edits(name: str, value: Any) -> tuple[Edit, ...]:  # noqa: ARG001
    """``checkpoint_sweep``'s ``laser``: edits each evaluated on its own, parsed as ``--laser`` is."""
    return tuple(e if isinstance(e, Edit) else Edit.parse(e) if isinstance(e, str) else _refuse_edit() for e in _edit_list(value))


def _refuse_edit() -> Edit:
    raise _Refused("an edit such as '28:mlp_in:0.01', an Edit, or a list of them")


def _model_spec(name: str, value: Any) -> ModelSpec:  # noqa: ARG001
    if isinstance(value, ModelSpec):
        return value
    if not isinstance(value, (str, os.PathLike)):
        raise _Refused("a model spec string such as 'embedded:smollm2-135m' or a model folder")
    return ModelSpec.parse(os.fspath(value))


def _model_or_spec(name: str, value: Any) -> HookedModel | ModelSpec:
    if isinstance(value, HookedModel):
        return value
    try:
        return _model_spec(name, value)
    except _Refused:
        raise _Refused("a loaded model (interp.load_model(...)) or a model spec string such as 'embedded:smollm2-135m'") from None


def _loaded_model(name: str, value: Any) -> HookedModel:  # noqa: ARG001
    if not isinstance(value, HookedModel):
        raise _Refused("a loaded model (interp.load_model(...))")
    return value


def _tokenizer(name: str, value: Any) -> PromptTokenizer:  # noqa: ARG001
    tokenizer = value.tokenizer if isinstance(value, HookedModel) else value
    if not isinstance(tokenizer, PromptTokenizer):
        raise _Refused("a loaded text model (interp.load_model(...))")
    return tokenizer


def _task_or_set(name: str, value: Any) -> PromptSet | str:  # noqa: ARG001
    if not isinstance(value, (str, PromptSet)):
        raise _Refused("a task name (ioi, factual, prompts:FILE, gsm8k, gsm8k:FILE) or a prompt set from interp.build_task")
    return value


def _table(name: str, value: Any) -> Mapping[str, Any]:  # noqa: ARG001
    if not isinstance(value, Mapping | pd.DataFrame) or "p_answer" not in value:
        raise _Refused("a per-prompt table (a DataFrame or dict of columns) with a p_answer column, as interp.evaluate returns")
    return value


def _indices(name: str, value: Any) -> np.ndarray | None:  # noqa: ARG001
    if value is None:
        return None
    array = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray, pd.Index, pd.Series)) else None
    if array is None or array.ndim != 1 or (array.size and not np.issubdtype(array.dtype, np.integer)):
        raise _Refused("a list of row positions (integers) or None")
    return array.astype(np.int64)


#: argument name -> its rule, for every argument of every call here (and every option they pass on)
_RULES: dict[str, Rule] = {
    "n": _count(1, optional=True),
    "seed": _count(0),
    "batch_size": _count(1),
    "compose": _count(1),
    "lm_tokens": _count(1),
    "svd_cache_mb": _count(0),
    "select_frac": _number(),
    "max_lm_loss_increase": _number(optional=True),
    "progress": _flag,
    "controls": _flag,
    "lm_cost": _flag,
    "keep_cache": _flag,
    "prefetch": _flag,
    "verify": _flag,
    "name": _text(),
    "task": _text(),
    "steps": _text(),
    "select_by": _text(),
    "device": _text(),
    "dtype": _text(),
    "executor": _text(),
    "shard": _text(optional=True),
    "ray_address": _text(optional=True),
    "out": _folder,
    "lm_text": _text_file,
    "rhos": _rhos,
    "matrices": _names("mlp_in,mlp_out"),
    "kinds": _names("lowrank,zero"),
    "relations": _relations,
    "layers": _layers,
    "edits": _edits,
    "laser": _sweep_edits,
    "model": _model_spec,
    "table": _table,
    "idx": _indices,
}


def _shown(value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return text if value is None or isinstance(value, (bool, str)) else f"{text} ({type(value).__name__})"


def _arguments(function: str, values: Mapping[str, Any], rules: Mapping[str, Rule] | None = None) -> dict[str, Any]:
    """``values`` checked and converted, each by the rule of its name (``rules`` first, then :data:`_RULES`).

    A refused value is a UsageError ``"FUNCTION: NAME needs WHAT, got VALUE"``; the parsers' own
    UsageErrors (an unknown matrix, a malformed edit) pass through as they are.
    """
    checked = {}
    for name, value in values.items():
        rule = (rules or {}).get(name) or _RULES[name]
        try:
            checked[name] = rule(name, value)
        except _Refused as refused:
            raise UsageError(f"{function}: {name} needs {refused.takes}, got {_shown(value)}") from None
    return checked


def _options(function: str, options: Mapping[str, Any], config: type, explicit: Sequence[str]) -> dict[str, Any]:
    """The keyword ``options`` a call passes on to ``config``: each one of its fields (not named explicitly), checked."""
    allowed = [f.name for f in dataclasses.fields(config) if f.name not in explicit]
    unknown = [key for key in options if key not in allowed]
    if unknown:
        raise UsageError(f"{function}: unknown option {unknown[0]!r}; it takes {', '.join(allowed)}")
    return _arguments(function, options)


def _call_text(function: str, values: Mapping[str, Any]) -> str:
    """The call as given, e.g. ``interp.laser_sweep(model='embedded:smollm2-135m', task='factual', out='runs/x')``."""
    shown = {k: f"<{v.spec.display}>" if isinstance(v, HookedModel) else repr(v) for k, v in values.items()}
    return f"interp.{function}({', '.join(f'{k}={v}' for k, v in shown.items())})"


def _start_run(function: str, call: Mapping[str, Any], run: Callable[[], T]) -> T:
    """The one place a call here starts a run that writes a folder (``laser_sweep``, ``checkpoint_sweep``).

    ``call`` holds the arguments as the caller gave them (:func:`_call_text` spells them);
    every argument has been checked by then. The run folder's provenance records the call
    (:func:`interp.io.called_as`) instead of the Python process's command line.
    """
    with called_as(_call_text(function, call)):
        return run()


# ---------------------------------------------------------------------------------------------
# The calls.


def build_task(name: str, model: HookedModel | PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """The prompt set of task ``name`` (``ioi``, ``factual``, ``prompts:FILE``, ``gsm8k``, ``gsm8k:FILE``) tokenised for ``model``."""
    a = _arguments("build_task", {"name": name, "model": model, "n": n, "seed": seed}, {"model": _tokenizer})
    return _build(a["name"], a["model"], n=a["n"], seed=a["seed"])


def evaluate(
    model: HookedModel,
    task: PromptSet | str,
    *,
    edits: Sequence[Edit | str] | Edit | str = (),
    n: int | None = None,
    seed: int = 0,
    batch_size: int = 32,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per prompt of ``task`` (a prompt set, or a task name built with ``n`` and ``seed``).

    With ``edits`` the rows are the edited model's, with each prompt's unedited values beside them
    (``baseline_p_answer``, ...); the model is restored afterwards.
    """
    a = _arguments(
        "evaluate",
        {"model": model, "task": task, "edits": edits, "n": n, "seed": seed, "batch_size": batch_size, "progress": progress},
        {"model": _loaded_model, "task": _task_or_set},
    )
    if isinstance(a["task"], PromptSet) and a["n"] is not None:
        raise UsageError(f"evaluate: n={a['n']} applies to a task name; this prompt set is built already (build_task(..., n=...))")
    prompt_set = a["task"] if isinstance(a["task"], PromptSet) else build_task(a["task"], model, n=a["n"], seed=a["seed"])
    if not a["edits"]:
        return _evaluate(model, prompt_set, batch_size=a["batch_size"], progress=a["progress"])
    frame, _ = evaluate_edited(
        model, prompt_set, a["edits"], batch_size=a["batch_size"], progress=a["progress"], lm_cost=False, seed=a["seed"]
    )
    return frame


def summarize(table: Mapping[str, Any], idx: Sequence[int] | None = None) -> dict[str, float]:
    """The one summary (:func:`interp.scoring.summary.summarize`) of a per-prompt table, or of its rows ``idx``."""
    a = _arguments("summarize", {"table": table, "idx": idx})
    return _summarize(a["table"], a["idx"])


def apply_edits(
    model: HookedModel, edits: Sequence[Edit | str] | Edit | str, *, seed: int = 0, verify: bool = True, **options: Any
) -> AbstractContextManager[EditReport]:
    """``with interp.apply_edits(model, edits) as report:`` the model runs edited inside the block
    (:func:`interp.edits.apply.apply_edits`, which checks ``model`` on entering; ``options``:
    ``svd_cache``, ``means``)."""
    a = _arguments("apply_edits", {"edits": edits, "seed": seed, "verify": verify})
    unknown = [key for key in options if key not in ("svd_cache", "means")]
    if unknown:
        raise UsageError(f"apply_edits: unknown option {unknown[0]!r}; it takes seed, verify, svd_cache, means")
    return _apply_edits(model, a["edits"], seed=a["seed"], verify=a["verify"], **options)


def laser_sweep(model: HookedModel | str, task: str, *, out: str, layers: str = "all", **options: Any) -> dict[str, Any]:
    """Run ``interp laser-sweep`` on ``model`` (loaded, or a spec string) and return ``best.json``'s content.

    ``options`` are the :class:`~interp.laser.run.LaserSweep` fields (``matrices``, ``rhos``, ``n``,
    ``controls``, ...); the run folder ``out`` is written as by the command.
    """
    call = {"model": model, "task": task, "out": out, "layers": layers, **options}
    a = _arguments("laser_sweep", {"model": model, "task": task, "out": out, "layers": layers}, {"model": _model_or_spec})
    a.update(_options("laser_sweep", options, LaserSweep, ("out", "model", "task", "layers")))
    loaded = a.pop("model")
    config = LaserSweep(model=loaded.spec if isinstance(loaded, HookedModel) else loaded, **a)

    hooked = loaded if isinstance(loaded, HookedModel) else None  # else loaded once the folder is checked
    return _start_run("laser_sweep", call, lambda: run_laser_sweep(config, model=hooked))


def checkpoint_sweep(model: str, *, steps: str, task: str, out: str, laser: Sequence[str | Edit] | str = (), **options: Any):
    """Run ``interp checkpoint-sweep`` (resumable) on the checkpoints of ``model``; returns its report.

    ``laser``: edits each evaluated on its own at every step; ``options`` are the other
    :class:`~interp.checkpoint_sweeps.run.SweepConfig` fields (``n``, ``seed``, ``device``, ...).
    """
    call = {"model": model, "steps": steps, "task": task, "out": out, "laser": laser, **options}
    a = _arguments("checkpoint_sweep", {"model": model, "steps": steps, "task": task, "out": out, "laser": laser})
    a.update(_options("checkpoint_sweep", options, SweepConfig, ("out", "model", "steps", "task", "laser")))
    config = SweepConfig(**a)
    return _start_run("checkpoint_sweep", call, lambda: run_sweep(config))


__all__ = ["apply_edits", "build_task", "checkpoint_sweep", "evaluate", "laser_sweep", "summarize"]
