"""`interp eval`: evaluate a task on a model and write the run folder.

    DIR/config.json          the :class:`EvalRun` (+ the model's display name and the skip report)
    DIR/results.parquet      one row per prompt (the task's metric columns; with edits also the
                             unedited values as ``baseline_*`` columns)
    DIR/summary.json         :func:`interp.scoring.summary.summarize` of the table, ``n_skipped``;
                             with edits also ``baseline`` and the ``delta_*`` changes; for the
                             factual task ``by_relation`` (the same summary per relation)
    DIR/p_the_vs_p_answer.png

The folder follows the one output-folder rule (:mod:`interp.store`, command ``eval``): a new or
empty folder, or one holding an eval with the same defining options (everything but ``--out``,
``--device``, ``--batch-size``; the ``--lm-text`` and task files by content), which is evaluated
again and its files replaced. Anything else (a model folder, another command's run, an eval of
another model or task, other files) is one line before the model loads. ``config.json`` is
written with the results, so a run whose model fails to load leaves no definition behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from interp.edits.spec import Edit, check_distinct, edits_label
from interp.errors import UsageError, check_positive, check_seed
from interp.io import config_from_dict, to_jsonable, write_json, write_parquet
from interp.models.loading import load_model
from interp.models.spec import DEFAULT_SPEC, ModelSpec
from interp.scoring.edited import evaluate_edited
from interp.scoring.evaluate import evaluate
from interp.scoring.plots import p_the_vs_p_answer
from interp.scoring.summary import summarize, summarize_by
from interp.store import RunStore, flat_config_reader
from interp.tasks import build_task, check_task_source, task_file

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalRun:
    """Everything that defines one evaluation run (written to ``config.json``, read back by :meth:`from_dict`)."""

    out: str
    model: ModelSpec = DEFAULT_SPEC
    task: str = "factual"
    n: int | None = None
    seed: int = 0
    batch_size: int = 32
    device: str = "auto"
    edits: tuple[Edit, ...] = ()  # edits applied during the evaluation (see interp.edits.spec)
    lm_text: str | None = None  # reference text for the edits' LM cost and mean ablations
    lm_cost: bool = True  # with edits: also the language-modelling cost on the reference text
    relations: tuple[str, ...] = ()  # factual: keep only these relations (all when empty)

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelSpec):
            raise UsageError(f"EvalRun.model must be a ModelSpec (ModelSpec.parse('...')), got {type(self.model).__name__}")
        if not all(isinstance(e, Edit) for e in self.edits):
            raise UsageError("EvalRun.edits must be parsed edits (interp.edits.spec.parse_edits)")
        check_distinct(self.edits)
        check_positive(self.n, "--n")
        check_positive(self.batch_size, "--batch-size")
        check_seed(self.seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EvalRun:
        return config_from_dict(cls, data)


COMMAND = "eval"
HOW_TO_RUN = ("out", "device", "batch_size")  # not defining: a rerun with other values replaces the run
_INPUTS = ("task_file", "lm_text")
FIELD_NAMES = {**{f.name: "--" + f.name.replace("_", "-") for f in fields(EvalRun)}, "task_file": "the --task file"}


def defining_fields(config: EvalRun) -> dict[str, Any]:
    """What the folder's eval is: every option but :data:`HOW_TO_RUN` (a task file by its name; its content is an input)."""
    defining = {k: v for k, v in to_jsonable(config).items() if k not in HOW_TO_RUN and k not in _INPUTS}
    if (file := task_file(config.task)) is not None:
        defining["task"] = config.task.split(":", 1)[0] + ":" + file.name
    return defining


def _input_files(config: EvalRun) -> dict[str, Path]:
    files = {"task_file": task_file(config.task), "lm_text": None if config.lm_text is None else Path(config.lm_text)}
    return {k: v for k, v in files.items() if v is not None}


#: A ``config.json`` an eval wrote before the run-folder store (the flat config).
_legacy = flat_config_reader(COMMAND, EvalRun.from_dict, ("task", "model", "edits", "lm_cost"),
                             defining_fields, _input_files)


def run_store(out: str | Path) -> RunStore:
    """The run folder of ``interp eval`` at ``out``."""
    return RunStore(out, command=COMMAND, field_names=FIELD_NAMES, legacy=_legacy)


def run_eval(config: EvalRun) -> dict[str, Any]:
    """Evaluate, then write config.json, results.parquet, summary.json and the scatter plot.

    The output folder is checked writable, locked (one writer) and checked by the output-folder
    rule (see the module doc) before the model is loaded.
    """
    check_task_source(config.task, config.relations)
    store = run_store(config.out)
    with store.hold():
        store.check(defining_fields(config), _input_files(config))
        return _run_eval(config, store)


def _run_eval(config: EvalRun, store: RunStore) -> dict[str, Any]:
    out = store.root
    model = load_model(config.model, device=config.device)
    prompt_set = build_task(config.task, model.tokenizer, n=config.n, seed=config.seed, relations=config.relations)
    if config.edits:
        frame, extras = evaluate_edited(
            model, prompt_set, config.edits, batch_size=config.batch_size,
            lm_text=config.lm_text, lm_cost=config.lm_cost, seed=config.seed,
        )
        summary = {**summarize(frame), "n_skipped": prompt_set.n_skipped, **extras}
    else:
        frame = evaluate(model, prompt_set, batch_size=config.batch_size)
        summary = {**summarize(frame), "n_skipped": prompt_set.n_skipped}
    by_relation = summarize_by(frame, "relation")
    if by_relation:
        summary["by_relation"] = by_relation
    store.start(defining_fields(config), _input_files(config),
                {**to_jsonable(config), "model_display": model.spec.display, "skipped": prompt_set.skipped})
    store.ran_on(model.device, model.dtype)
    write_parquet(out / "results.parquet", frame)
    write_json(out / "summary.json", summary)
    title = f"{model.spec.display} · {prompt_set.task} (n={len(frame)})"
    if config.edits:
        title += f" · edited: {edits_label(config.edits)}"
    p_the_vs_p_answer(frame, out / "p_the_vs_p_answer.png", title=title)
    store.finish()
    return summary
