"""Factual recall: curated facts from ``prompts/factual/facts.jsonl``.

Each line is ``{"relation", "subject", "prompt", "answer"}``, e.g. ``located_in`` /
"Madrid" / "Madrid is located in" / " Spain". Every fact is kept whatever its answer's length
(" Buenos Aires" is scored token by token, see :mod:`interp.scoring.metrics`). The
``located_in`` relation is the case where " the" competes with the country; the metric code
adds " the" itself, so ``distractor_ids`` are empty here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from interp.errors import UsageError
from interp.models.tokens import PromptTokenizer
from interp.paths import prompts_dir
from interp.tasks.base import (
    PromptSet,
    check_n,
    check_prompt_answer,
    read_jsonl_objects,
    require_string,
    sample_rows,
    warn_fewer_prompts,
)

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
        if not check_prompt_answer(path, line_no, fact["prompt"], fact["answer"]):
            raise UsageError(f"{path}:{line_no}: the prompt must end at its last word and the answer start with a space (\" Spain\")")
        facts.append(fact)
    return facts


def build_factual(
    tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0, relations: tuple[str, ...] = ()
) -> PromptSet:
    """Every fact (of ``relations``, when given), or a seeded random ``n`` of them (in file order)."""
    check_n(n)
    path = facts_path()
    facts = load_facts(path)
    if not facts:
        raise UsageError(f"{path} holds no facts")
    if relations:
        known = sorted({f["relation"] for f in facts})
        unknown = [r for r in relations if r not in known]
        if unknown:
            raise UsageError(f"unknown relation(s) {', '.join(unknown)}; the facts have {', '.join(known)}")
        facts = [f for f in facts if f["relation"] in relations]
    tokens = [tuple(tokenizer.encode_answer(f["answer"], where=f"{path}: {f['subject']}")) for f in facts]
    rows = sample_rows(len(facts), n, seed)
    of = f" of relation(s) {', '.join(relations)}" if relations else ""
    warn_fewer_prompts(TASK, n, len(rows), f"the task has {len(facts)} facts{of}")
    return PromptSet(
        task=TASK,
        prompts=tuple(facts[i]["prompt"] for i in rows),
        answers=tuple(facts[i]["answer"] for i in rows),
        answer_ids=tuple(tokens[i][0] for i in rows),
        distractor_ids=tuple(() for _ in rows),
        columns={
            "relation": tuple(facts[i]["relation"] for i in rows),
            "subject": tuple(facts[i]["subject"] for i in rows),
        },
        answer_tokens=tuple(tokens[i] for i in rows),
    )
