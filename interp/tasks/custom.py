"""The user's own prompts: ``prompts:FILE``, a jsonl with one object per line.

    {"prompt": "Madrid is located in", "answer": " Spain", "distractors": [" the"]}

``answer`` is the exact continuation (leading space included); ``distractors`` is optional.
Blank lines are ignored. A malformed line is a UsageError naming the file and its 1-based
line number. An answer that is not one token is skipped and counted
(``skipped["multi_token_answer"]``); a multi-token distractor is left out of that prompt's
list and counted (``skipped["multi_token_distractor"]``), which drops no prompt.

A relative FILE is read from the working directory, or else from ``prompts/`` (so
``prompts:examples/capitals.jsonl`` finds the shipped example).
"""

from __future__ import annotations

import logging
from pathlib import Path

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.tasks.base import PromptSet, check_n, check_prompt_answer, read_jsonl_objects, require_string, sample_rows
from interp.models.tokens import PromptTokenizer

log = logging.getLogger(__name__)

PREFIX = "prompts:"
KEYS = ("prompt", "answer", "distractors")


def resolve_path(file: str) -> Path:
    """``file`` as given, or under ``prompts/`` when it is relative and not found as given."""
    path = Path(file).expanduser()
    if not path.is_absolute() and not path.exists() and (prompts_dir() / path).is_file():
        return prompts_dir() / path
    return path


def _distractors(path: Path, line_no: int, obj: dict) -> list[str]:
    value = obj.get("distractors", [])
    if not isinstance(value, list) or not all(isinstance(d, str) and d for d in value):
        raise UsageError(f"{path}:{line_no}: \"distractors\" must be a list of non-empty strings, e.g. [\" the\"]")
    return value


def build_custom(file: str, tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """Prompts from the user's jsonl ``file``; all of them, or a seeded random ``n`` (in file order)."""
    check_n(n)
    if not file:
        raise UsageError("prompts: needs a file name, e.g. prompts:my_prompts.jsonl")
    path = resolve_path(file)
    lines = read_jsonl_objects(path)
    if not lines:
        raise UsageError(f"{path} has no prompts; give one {{\"prompt\", \"answer\"}} object per line")

    kept: list[tuple[int, str, str, int, tuple[int, ...]]] = []
    n_multi_answer = n_multi_distractor = 0
    for line_no, obj in lines:
        unknown = sorted(set(obj) - set(KEYS))
        if unknown:
            raise UsageError(f"{path}:{line_no}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(KEYS)}")
        prompt = require_string(path, line_no, obj, "prompt")
        answer = require_string(path, line_no, obj, "answer")
        check_prompt_answer(path, line_no, prompt, answer)
        distractors = _distractors(path, line_no, obj)
        answer_id = tokenizer.single_token_id(answer)
        if answer_id is None:
            n_multi_answer += 1
            continue
        ids = [tokenizer.single_token_id(d) for d in distractors]
        n_multi_distractor += sum(i is None for i in ids)
        kept.append((line_no, prompt, answer, answer_id, tuple(i for i in ids if i is not None)))

    if n_multi_answer or n_multi_distractor:
        log.info(
            "%s: skipped %d prompts with a multi-token answer and %d multi-token distractors",
            path, n_multi_answer, n_multi_distractor,
        )
    if not kept:
        raise UsageError(f"no answer in {path} is a single token for this tokenizer ({n_multi_answer} skipped)")
    rows = [kept[i] for i in sample_rows(len(kept), n, seed)]
    return PromptSet(
        task=PREFIX + file,
        prompts=tuple(r[1] for r in rows),
        answers=tuple(r[2] for r in rows),
        answer_ids=tuple(r[3] for r in rows),
        distractor_ids=tuple(r[4] for r in rows),
        n_skipped=n_multi_answer,
        skipped={"multi_token_answer": n_multi_answer, "multi_token_distractor": n_multi_distractor},
        columns={"line": tuple(r[0] for r in rows)},
    )
