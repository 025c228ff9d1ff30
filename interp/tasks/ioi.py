"""Indirect object identification (Wang et al., 2022) prompts from a seeded generator.

"When Mary and John went to the store, John gave a drink to" -> " Mary" (the indirect
object, IO) rather than " John" (the subject, S). Templates are written in ABBA order with
``{A}`` the IO and ``{B}`` the subject, e.g. "When {A} and {B} went to the {PLACE}, {B} gave
a {OBJECT} to"; the BABA prompt swaps the first two names ("When John and Mary ..."). The
prompt stops right before the IO, so the next token is the answer.

Data under ``prompts/ioi/``: ``templates.json`` (a JSON list of template strings),
``names.txt``, ``places.txt``, ``objects.txt`` (one entry per line). Only names that are one
token with a leading space (" Mary") are used; the rest are counted in
``skipped["multi_token_name"]``.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.tasks.base import PromptSet, check_n
from interp.models.tokens import PromptTokenizer

log = logging.getLogger(__name__)

TASK = "ioi"
DEFAULT_N = 100
ORDERS = ("ABBA", "BABA")
PLACEHOLDER = re.compile(r"\{([A-Z]+)\}")
NAME_SLOTS = ["A", "B", "B"]  # first mention of IO and S, then S again
FILLERS = {"A", "B", "PLACE", "OBJECT"}


def ioi_dir() -> Path:
    return prompts_dir() / "ioi"


@dataclass(frozen=True)
class Template:
    """One IOI template; ``text`` uses {A} (IO), {B} (subject, twice), {PLACE}, {OBJECT}."""

    text: str

    def __post_init__(self) -> None:
        slots = PLACEHOLDER.findall(self.text)
        unknown = sorted(set(slots) - FILLERS)
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; use {{A}}, {{B}}, {{PLACE}}, {{OBJECT}}")
        if [s for s in slots if s in ("A", "B")] != NAME_SLOTS:
            raise ValueError("names must appear as {A} ... {B} ... {B} (IO and subject, then the subject again)")
        for match in PLACEHOLDER.finditer(self.text):
            if match.group(1) in ("A", "B") and not self.text[: match.start()].endswith(" "):
                raise ValueError("each name must follow a space, so it tokenizes like the answer (\" Mary\")")
        if self.text != self.text.strip():
            raise ValueError("no leading or trailing whitespace; the prompt ends right before the IO name")

    def render(self, io: str, s: str, place: str, obj: str, order: str) -> str:
        names = iter([io, s, s] if order == "ABBA" else [s, io, s])
        fill = {"PLACE": place, "OBJECT": obj}
        return PLACEHOLDER.sub(lambda m: next(names) if m.group(1) in ("A", "B") else fill[m.group(1)], self.text)


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise UsageError(f"IOI data file {path} not found; it should list one entry per line")
    entries = list(dict.fromkeys(line.strip() for line in path.read_text(encoding="utf-8").splitlines()))
    entries = [e for e in entries if e]
    if not entries:
        raise UsageError(f"IOI data file {path} is empty; it should list one entry per line")
    return entries


def load_templates(path: Path | None = None) -> list[Template]:
    path = path or ioi_dir() / "templates.json"
    if not path.is_file():
        raise UsageError(f"IOI templates file {path} not found; it should be a JSON list of template strings")
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UsageError(f"{path}: invalid JSON ({err.msg}); expected a list of template strings") from None
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise UsageError(f"{path}: expected a non-empty JSON list of template strings")
    templates = []
    for i, text in enumerate(raw):
        try:
            templates.append(Template(text))
        except ValueError as err:
            raise UsageError(f"{path}: template {i} ({text!r}): {err}") from None
    return templates


def single_token_names(names: list[str], tokenizer: PromptTokenizer) -> tuple[list[str], list[int]]:
    """The names that are one token with a leading space, and those token ids."""
    kept, ids = [], []
    for name in names:
        token_id = tokenizer.single_token_id(" " + name)
        if token_id is not None:
            kept.append(name)
            ids.append(token_id)
    return kept, ids


def _positions(ids: list[int], io_id: int, s_id: int) -> tuple[int, int, int] | None:
    """(io_pos, s_pos, s2_pos), or None if the names do not appear as single tokens exactly once/twice."""
    io_at = [i for i, t in enumerate(ids) if t == io_id]
    s_at = [i for i, t in enumerate(ids) if t == s_id]
    if len(io_at) != 1 or len(s_at) != 2:
        return None
    return io_at[0], s_at[0], s_at[1]


def build_ioi(tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """``n`` IOI prompts (default 100), alternating ABBA and BABA, drawn with ``seed``."""
    check_n(n)
    n = DEFAULT_N if n is None else n
    templates = load_templates()
    all_names = _read_lines(ioi_dir() / "names.txt")
    places = _read_lines(ioi_dir() / "places.txt")
    objects = _read_lines(ioi_dir() / "objects.txt")

    names, name_ids = single_token_names(all_names, tokenizer)
    n_multi = len(all_names) - len(names)
    if n_multi:
        log.info("ioi: dropped %d of %d names that are not one token", n_multi, len(all_names))
    if len(names) < 2:
        raise UsageError(
            f"only {len(names)} of the {len(all_names)} IOI names are single tokens for this tokenizer; need at least 2"
        )

    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    n_split = 0
    max_draws = 10 * n + 100
    while len(rows) < n:
        if len(rows) + n_split >= max_draws:
            raise UsageError(f"could not build {n} IOI prompts whose names stay single tokens in context")
        order = ORDERS[len(rows) % 2]
        t = int(rng.integers(len(templates)))
        io_i, s_i = (int(i) for i in rng.choice(len(names), size=2, replace=False))
        place = places[int(rng.integers(len(places)))]
        obj = objects[int(rng.integers(len(objects)))]
        prompt = templates[t].render(names[io_i], names[s_i], place, obj, order)
        positions = _positions(tokenizer.encode_prompt(prompt), name_ids[io_i], name_ids[s_i])
        if positions is None:  # the tokenizer merged a name with its neighbour in this prompt
            n_split += 1
            continue
        io_pos, s_pos, s2_pos = positions
        rows.append(dict(
            prompt=prompt, io=names[io_i], s=names[s_i], io_id=name_ids[io_i], s_id=name_ids[s_i],
            io_pos=io_pos, s_pos=s_pos, s2_pos=s2_pos, template=t, order=order, place=place, object=obj,
        ))
    if n_split:
        log.info("ioi: redrew %d prompts whose names did not stay single tokens in context", n_split)

    def col(key: str) -> tuple:
        return tuple(r[key] for r in rows)

    return PromptSet(
        task=TASK,
        prompts=col("prompt"),
        answers=tuple(" " + r["io"] for r in rows),
        answer_ids=col("io_id"),
        distractor_ids=tuple((r["s_id"],) for r in rows),
        n_skipped=n_multi + n_split,
        skipped={"multi_token_name": n_multi, "name_split_in_context": n_split},
        columns={k: col(k) for k in ("io", "s", "s_id", "io_pos", "s_pos", "s2_pos", "template", "order", "place", "object")},
    )
