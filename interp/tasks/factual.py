"""Factual recall: curated facts from ``prompts/factual/facts.jsonl``.

Each line is ``{"relation", "subject", "prompt", "answer"}``, e.g. ``located_in`` /
"Madrid" / "Madrid is located in" / " Spain". Facts whose answer is not exactly one token
for the tokenizer are skipped and counted in ``skipped["multi_token_answer"]``. The
``located_in`` relation is the case where " the" competes with the country; the metric code
adds " the" itself, so ``distractor_ids`` are empty here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.tasks.base import PromptSet, check_n, check_prompt_answer, read_jsonl_objects, require_string, sample_rows
from interp.models.tokens import PromptTokenizer

log = logging.getLogger(__name__)

TASK = "factual"
FIELDS = ("relation", "subject", "prompt", "answer")


def facts_path() -> Path:
    return prompts_dir() / "factual" / "facts.jsonl"


def load_facts(path: Path | None = None) -> list[dict[str, str]]:
    """The facts file as a list of {relation, subject, prompt, answer}; UsageError on a malformed line."""
    path = path or facts_path()
    facts = []
    for line_no, obj in read_jsonl_objects(path):
        fact = {key: require_string(path, line_no, obj, key) for key in FIELDS}
        check_prompt_answer(path, line_no, fact["prompt"], fact["answer"])
        facts.append(fact)
    return facts


def build_factual(tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """All single-token-answer facts, or a seeded random ``n`` of them (in file order)."""
    check_n(n)
    facts = load_facts()
    kept, answer_ids = [], []
    for fact in facts:
        answer_id = tokenizer.single_token_id(fact["answer"])
        if answer_id is not None:
            kept.append(fact)
            answer_ids.append(answer_id)
    n_dropped = len(facts) - len(kept)
    if n_dropped:
        log.info("factual: skipped %d of %d facts whose answer is not one token", n_dropped, len(facts))
    if not kept:
        raise UsageError(f"none of the {len(facts)} facts has a single-token answer for this tokenizer")
    rows = sample_rows(len(kept), n, seed)
    return PromptSet(
        task=TASK,
        prompts=tuple(kept[i]["prompt"] for i in rows),
        answers=tuple(kept[i]["answer"] for i in rows),
        answer_ids=tuple(answer_ids[i] for i in rows),
        distractor_ids=tuple(() for _ in rows),
        n_skipped=n_dropped,
        skipped={"multi_token_answer": n_dropped},
        columns={
            "relation": tuple(kept[i]["relation"] for i in rows),
            "subject": tuple(kept[i]["subject"] for i in rows),
        },
    )
