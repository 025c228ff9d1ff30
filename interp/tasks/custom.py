"""The user's own prompts: ``prompts:FILE``, a jsonl with one object per line.

    {"prompt": "Madrid is located in", "answer": " Spain", "distractors": [" the"]}

``answer`` is the exact continuation (leading space included); ``distractors`` is optional.
Blank lines are ignored. A malformed line is a UsageError naming the file and its 1-based
line number. Every line is kept: answers and distractors of any length (up to
``MAX_ANSWER_TOKENS``) are scored token by token. Answers that do not start with a space (or
prompts that end in one) get one warning line naming how many and the first line: usually the
space belongs in the answer.

A relative FILE is read from the working directory, or else from ``prompts/`` (so
``prompts:examples/capitals.jsonl`` finds the shipped example).
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
from interp.tasks.names import PREFIX

log = logging.getLogger(__name__)

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


def read_custom(file: str) -> list[tuple[int, str, str, list[str]]]:
    """The rows of the user's jsonl ``file``, checked without a model: (line number, prompt, answer,
    distractors); UsageError naming the file and line of the first malformed one.

    Commands call it (through :func:`interp.tasks.check_task_source`) before loading the model.
    """
    path = resolve_path(file)
    lines = read_jsonl_objects(path)
    if not lines:
        raise UsageError(f"{path} has no prompts; give one {{\"prompt\", \"answer\"}} object per line")
    rows = []
    for line_no, obj in lines:
        unknown = sorted(set(obj) - set(KEYS))
        if unknown:
            raise UsageError(f"{path}:{line_no}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(KEYS)}")
        prompt = require_string(path, line_no, obj, "prompt")
        answer = require_string(path, line_no, obj, "answer")
        check_prompt_answer(path, line_no, prompt, answer)  # an empty answer refused here
        rows.append((line_no, prompt, answer, _distractors(path, line_no, obj)))
    return rows


def build_custom(file: str, tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """Prompts from the user's jsonl ``file``; all of them, or a seeded random ``n`` (in file order)."""
    check_n(n)
    path = resolve_path(file)
    kept: list[tuple[int, str, str, tuple[int, ...], tuple[tuple[int, ...], ...]]] = []
    no_space: list[int] = []
    for line_no, prompt, answer, distractor_texts in read_custom(file):
        if not check_prompt_answer(path, line_no, prompt, answer):
            no_space.append(line_no)
        answer_tokens = tuple(tokenizer.encode_answer(answer, where=f"{path}:{line_no}"))
        distractors = tuple(
            tuple(tokenizer.encode_answer(d, where=f"{path}:{line_no}: distractor")) for d in distractor_texts
        )
        kept.append((line_no, prompt, answer, answer_tokens, distractors))
    if no_space:
        log.warning(
            "%s: %d line(s) have an answer that does not start with a space or a prompt that ends in one (first: line %d); "
            "the answer is the exact continuation, usually \" Spain\" after \"...located in\"", path, len(no_space), no_space[0],
        )
    rows = [kept[i] for i in sample_rows(len(kept), n, seed)]
    warn_fewer_prompts(str(path), n, len(rows), f"the file has {len(kept)} prompts")
    return PromptSet(
        task=PREFIX + file,
        prompts=tuple(r[1] for r in rows),
        answers=tuple(r[2] for r in rows),
        answer_ids=tuple(r[3][0] for r in rows),
        distractor_ids=tuple(tuple(d[0] for d in r[4]) for r in rows),
        columns={"line": tuple(r[0] for r in rows)},
        answer_tokens=tuple(r[3] for r in rows),
        distractor_tokens=tuple(r[4] for r in rows),
    )
