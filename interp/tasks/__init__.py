"""Prompt sets for next-token experiments, one module per task.

    ioi        indirect object identification, a seeded generator (tasks/ioi.py)
    factual    curated facts over several relations (tasks/factual.py)
    prompts:F  the user's own jsonl file F (tasks/custom.py)
    gsm8k[:F]  GSM8K teacher-forced readout: the answer after the gold worked solution (tasks/gsm8k_readout.py)

``build_task(name, tokenizer, n=..., seed=...)`` returns a :class:`PromptSet`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from interp.errors import UsageError
from interp.tasks.names import PREFIX, TASKS

if TYPE_CHECKING:  # the task modules import the tokenizer stack (torch, transformers): loaded on first build
    from interp.models.tokens import PromptTokenizer
    from interp.tasks.base import PromptSet


__all__ = ["TASKS", "build_task", "check_task_source"]


def check_task_source(name: str, relations: tuple[str, ...] = ()) -> None:
    """UsageError unless ``name`` is a task and its file (``prompts:FILE``, ``gsm8k:FILE``) is there.

    Needs no model: commands call it before loading one, and :func:`build_task` calls it first.
    """
    from interp.io import existing_file

    if relations and name != "factual":
        raise UsageError(f"--relations filters the factual task; task {name!r} has no relations")
    if name.startswith(PREFIX):
        from interp.tasks.custom import read_custom, resolve_path

        file = name[len(PREFIX):]
        if not file:
            raise UsageError("prompts: needs a file name, e.g. prompts:my_prompts.jsonl")
        existing_file(resolve_path(file), "prompts file", 'a jsonl with one {"prompt", "answer"} object per line')
        read_custom(file)  # malformed content refused before any model loads
    elif name.startswith("gsm8k:"):
        existing_file(name.partition(":")[2], "GSM8K file", "a GSM8K jsonl such as ../shared/data/gsm8k/test.jsonl")
    elif name not in (*TASKS, "gsm8k"):
        raise UsageError(
            f"unknown task {name!r}; choose from {', '.join(TASKS)}, prompts:FILE (a jsonl of {{\"prompt\", \"answer\"}}), gsm8k or gsm8k:FILE"
        )


def task_file(name: str) -> Path | None:
    """The file a ``prompts:FILE`` or ``gsm8k:FILE`` task reads (None for a built-in task): a run's input."""
    if name.startswith(PREFIX):
        from interp.tasks.custom import resolve_path  # the file the task will read (cwd, else prompts/)

        return resolve_path(name[len(PREFIX):])
    if name.startswith("gsm8k:"):
        return Path(name.partition(":")[2]).expanduser()
    return None


def build_task(
    name: str, tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0, relations: tuple[str, ...] = ()
) -> PromptSet:
    """The prompt set for task ``name``: ``n`` prompts (None: the task's default) drawn with ``seed``.

    IOI generates ``n`` prompts (default 100); factual and ``prompts:FILE`` take a seeded
    random ``n`` of their prompts when they have more, else all of them. ``relations``
    (``--relations located_in,...``) keeps only those relations of the factual task.
    """
    # the task modules import the tokenizer stack (heavy): here, so that importing interp.tasks stays light
    from interp.tasks.custom import build_custom
    from interp.tasks.factual import build_factual
    from interp.tasks.ioi import build_ioi

    check_task_source(name, relations)
    builders = {"ioi": build_ioi, "factual": build_factual}
    if relations:
        return build_factual(tokenizer, n=n, seed=seed, relations=tuple(relations))
    if name == "gsm8k" or name.startswith("gsm8k:"):
        from interp.tasks.gsm8k_readout import build_readout

        return build_readout(tokenizer, data=name.partition(":")[2] or None, n=n, seed=seed)
    if name.startswith(PREFIX):
        return build_custom(name[len(PREFIX):], tokenizer, n=n, seed=seed)
    return builders[name](tokenizer, n=n, seed=seed)
