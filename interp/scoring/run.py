"""`interp eval`: evaluate a task on a model and write the run folder."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interp.scoring.evaluate import evaluate
from interp.scoring.summary import summarize
from interp.errors import UsageError
from interp.models.embedded import DEFAULT_MODEL
from interp.models.loading import ModelSpec, load_model
from interp.io import write_json, write_parquet
from interp.tasks import build_task

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalRun:
    """Everything that defines one evaluation run (written to ``config.json``)."""

    out: str
    model: str = DEFAULT_MODEL
    checkpoint: str | None = None
    task: str = "factual"
    n: int | None = None
    seed: int = 0
    batch_size: int = 32
    device: str = "auto"
    edits: tuple[str, ...] = ()  # LASER / control edits applied during the evaluation (interp.laser spellings)
    lm_text: str | None = None  # reference text for the edits' LM cost and mean ablations

    def __post_init__(self) -> None:
        if self.n is not None and self.n < 1:
            raise UsageError(f"--n must be >= 1, got {self.n}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")
        if self.edits:
            from interp.edits.spec import parse_edits

            parse_edits(self.edits)  # fail fast on a malformed edit
        if self.lm_text is not None and not Path(self.lm_text).expanduser().is_file():
            raise UsageError(f"--lm-text {self.lm_text} does not exist; give a plain-text file (a few thousand words)")
        ModelSpec.parse(self.model, self.checkpoint)  # fail fast on a bad model or checkpoint


def run_eval(config: EvalRun) -> dict[str, Any]:
    """Evaluate, then write config.json, results.parquet, summary.json and the scatter plot."""
    from interp.scoring.plots import p_the_vs_p_answer

    model = load_model(config.model, config.checkpoint, device=config.device)
    prompt_set = build_task(config.task, model.tokenizer, n=config.n, seed=config.seed)
    if config.edits:
        from interp.edits.spec import parse_edits
        from interp.scoring.edited import evaluate_edited

        frame, extras = evaluate_edited(
            model, prompt_set, parse_edits(config.edits), batch_size=config.batch_size,
            lm_text=config.lm_text, seed=config.seed,
        )
        summary = {**summarize(frame), "n_skipped": prompt_set.n_skipped, **extras}
    else:
        frame = evaluate(model, prompt_set, batch_size=config.batch_size)
        summary = {**summarize(frame), "n_skipped": prompt_set.n_skipped}
    out = Path(config.out)
    write_json(out / "config.json", {**config.__dict__, "model_display": model.spec.display, "skipped": prompt_set.skipped})
    write_parquet(out / "results.parquet", frame)
    write_json(out / "summary.json", summary)
    p_the_vs_p_answer(frame, out / "p_the_vs_p_answer.png", title=f"{model.spec.display} · {prompt_set.task} (n={len(frame)})")
    return summary
