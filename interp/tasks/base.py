"""The prompt set every task builds, and the small helpers the task modules share.

A :class:`PromptSet` holds one row per prompt (text, answer, the answer's token ids, distractor
ids, extra columns such as IOI positions) plus a report of what was dropped while building
it (IOI names that are not one token, counted by reason). Answers of any length are kept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interp.errors import UsageError
from interp.io import existing_file

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class PromptSet:
    """Prompts for one task, aligned row by row.

    ``prompts`` are the texts fed to the model without BOS (the tokenizer's policy adds
    it); ``answers`` are the expected continuations (" Spain", leading space included),
    ``answer_ids`` their *first* token ids and ``answer_tokens`` all their token ids (empty:
    every answer is the one token of ``answer_ids``). ``distractor_ids`` are, per prompt,
    the first token ids of further continuations to report (IOI: the subject's id; a user
    file: its "distractors"), ``distractor_tokens`` their full token ids (empty: one token
    each). ``n_skipped`` counts the prompts or names dropped while building the set;
    ``skipped`` says why. ``columns`` holds extra per-prompt values, each a tuple as long as
    ``prompts``.
    """

    task: str
    prompts: tuple[str, ...]
    answers: tuple[str, ...]
    answer_ids: tuple[int, ...]
    distractor_ids: tuple[tuple[int, ...], ...]
    n_skipped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    columns: dict[str, tuple] = field(default_factory=dict)
    answer_tokens: tuple[tuple[int, ...], ...] = ()
    distractor_tokens: tuple[tuple[tuple[int, ...], ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.task:
            raise ValueError("PromptSet.task must be a non-empty name")
        n = len(self.prompts)
        for name in ("answers", "answer_ids", "distractor_ids"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"PromptSet.{name} has {len(getattr(self, name))} entries, prompts has {n}")
        for name, values in self.columns.items():
            if len(values) != n:
                raise ValueError(f"PromptSet column {name!r} has {len(values)} entries, prompts has {n}")
        for name in ("answer_tokens", "distractor_tokens"):
            if getattr(self, name) and len(getattr(self, name)) != n:
                raise ValueError(f"PromptSet.{name} has {len(getattr(self, name))} entries, prompts has {n}")
        if self.answer_tokens and any(not a or a[0] != first for a, first in zip(self.answer_tokens, self.answer_ids)):
            raise ValueError("PromptSet.answer_tokens must be non-empty and start with answer_ids")
        if self.n_skipped < 0 or any(v < 0 for v in self.skipped.values()):
            raise ValueError(f"skip counts must be >= 0, got n_skipped={self.n_skipped}, skipped={self.skipped}")

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def answer_sequences(self) -> tuple[tuple[int, ...], ...]:
        """Every answer's token ids (one token each when ``answer_tokens`` is empty)."""
        return self.answer_tokens or tuple((a,) for a in self.answer_ids)

    @property
    def distractor_sequences(self) -> tuple[tuple[tuple[int, ...], ...], ...]:
        """Every prompt's distractors as token-id sequences."""
        return self.distractor_tokens or tuple(tuple((d,) for d in ds) for ds in self.distractor_ids)

    def subset(self, indices: Sequence[int]) -> PromptSet:
        """The rows at ``indices`` (in that order); the skip report is kept as is."""
        rows = [int(i) for i in indices]
        bad = [i for i in rows if not 0 <= i < len(self)]
        if bad:
            raise IndexError(f"indices {bad[:5]} out of range for a prompt set of {len(self)}")

        def pick(values: Sequence) -> tuple:
            return tuple(values[i] for i in rows)

        return PromptSet(
            task=self.task,
            prompts=pick(self.prompts),
            answers=pick(self.answers),
            answer_ids=pick(self.answer_ids),
            distractor_ids=pick(self.distractor_ids),
            n_skipped=self.n_skipped,
            skipped=dict(self.skipped),
            columns={name: pick(values) for name, values in self.columns.items()},
            answer_tokens=pick(self.answer_tokens) if self.answer_tokens else (),
            distractor_tokens=pick(self.distractor_tokens) if self.distractor_tokens else (),
        )


def check_n(n: int | None) -> None:
    """Reject a requested prompt count below 1 (None means the task's default)."""
    if n is not None and n < 1:
        raise UsageError(f"the number of prompts must be at least 1, got {n}")


_WARNED: set[tuple[str, int, int]] = set()


def warn_fewer_prompts(task: str, asked: int | None, given: int, why: str) -> None:
    """Log a warning when a task gives fewer prompts than the ``asked`` ``--n``; ``why`` says what it has.

    The one message every task uses, e.g. "factual: 1000 prompts asked for, but the task has 187
    facts; using 187".
    """
    if asked is not None and given < asked and (task, asked, given) not in _WARNED:
        _WARNED.add((task, asked, given))  # once per process: a checkpoint sweep rebuilds the set at every step
        log.warning("%s: %d prompts asked for, but %s; using %d", task, asked, why, given)


def sample_rows(n_available: int, n: int | None, seed: int) -> list[int]:
    """All rows when ``n`` is None or >= ``n_available``, else a seeded random ``n`` of them in file order."""
    if n is None or n >= n_available:
        return list(range(n_available))
    rng = np.random.default_rng(seed)
    return sorted(int(i) for i in rng.choice(n_available, size=n, replace=False))


def read_jsonl_objects(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) for each non-blank line of a jsonl file.

    Raises UsageError naming the file and line for a missing file, invalid JSON or a line
    that is not a JSON object.
    """
    existing_file(path, "prompts file", 'a jsonl file with one {"prompt", "answer"} object per line')
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines: keep U+2028 inside strings
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text; save it as UTF-8 jsonl") from None
    rows = []
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as err:
            raise UsageError(f"{path}:{line_no}: invalid JSON ({err.msg}); each line must be one JSON object") from None
        if not isinstance(obj, dict):
            raise UsageError(f"{path}:{line_no}: expected a JSON object, got {type(obj).__name__}")
        rows.append((line_no, obj))
    return rows


def require_string(path: Path, line_no: int, obj: dict[str, Any], key: str) -> str:
    """``obj[key]`` as a non-empty string, else UsageError naming the file and line."""
    if key not in obj:
        raise UsageError(f"{path}:{line_no}: missing \"{key}\"; each line needs \"prompt\" and \"answer\" strings")
    value = obj[key]
    if not isinstance(value, str):
        raise UsageError(f"{path}:{line_no}: \"{key}\" must be a string, got {type(value).__name__}")
    if not value:
        raise UsageError(f"{path}:{line_no}: \"{key}\" is empty")
    return value


def check_prompt_answer(path: Path, line_no: int, prompt: str, answer: str) -> bool:
    """False for the usual slip, the separating space at the end of the prompt or missing from the
    answer (the caller warns once per file: some users mean it); UsageError for an empty answer."""
    if not answer.strip():
        raise UsageError(f"{path}:{line_no}: \"answer\" is only whitespace; give the continuation, e.g. \" Spain\"")
    return prompt == prompt.rstrip() and answer[0].isspace()
