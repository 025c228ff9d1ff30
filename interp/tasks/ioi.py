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

The prompts of a set are distinct. The data makes at most :func:`count_distinct` of them
(templates x ordered name pairs x the places and objects each template uses x the two orders,
counted without enumerating them); a larger ``n`` is capped there, with a warning saying so.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from interp.errors import UsageError
from interp.models.tokens import PromptTokenizer
from interp.paths import prompts_dir
from interp.resources import check_memory
from interp.tasks.base import PromptSet, check_n, warn_fewer_prompts

log = logging.getLogger(__name__)

TASK = "ioi"
DEFAULT_N = 100
ORDERS = ("ABBA", "BABA")
PLACEHOLDER = re.compile(r"\{([A-Z]+)\}")
NAME_SLOTS = ["A", "B", "B"]  # first mention of IO and S, then S again
FILLERS = {"A", "B", "PLACE", "OBJECT"}
PROGRESS_FROM = 20_000  # show a progress bar when generating at least this many prompts


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

    @property
    def fillers(self) -> set[str]:
        return set(PLACEHOLDER.findall(self.text))

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


@dataclass(frozen=True)
class _Space:
    """Every IOI prompt the data can make, numbered 0..size-1 (template, name pair, place, object, order)."""

    templates: tuple[Template, ...]
    names: tuple[str, ...]
    places: tuple[str, ...]
    objects: tuple[str, ...]

    def _choices(self, template: Template) -> tuple[int, int]:
        """(places, objects) the template distinguishes: a filler it does not use makes no new prompt."""
        uses = template.fillers
        return (len(self.places) if "PLACE" in uses else 1), (len(self.objects) if "OBJECT" in uses else 1)

    @property
    def sizes(self) -> list[int]:
        pairs = len(self.names) * (len(self.names) - 1)
        return [pairs * p * o * len(ORDERS) for p, o in map(self._choices, self.templates)]

    @property
    def size(self) -> int:
        return sum(self.sizes)

    def decode(self, index: int, offsets: np.ndarray) -> tuple[int, int, int, str, str, str]:
        """(template, io, s, place, object, order) of prompt number ``index`` (``offsets``: cumulative sizes)."""
        t = int(np.searchsorted(offsets, index, side="right")) - 1
        rest = int(index - offsets[t])
        n_places, n_objects = self._choices(self.templates[t])
        rest, order = divmod(rest, len(ORDERS))
        rest, obj = divmod(rest, n_objects)
        pair, place = divmod(rest, n_places)
        io, s = divmod(pair, len(self.names) - 1)
        s += s >= io
        return t, io, s, self.places[place], self.objects[obj], ORDERS[order]


def count_distinct(tokenizer: PromptTokenizer) -> int:
    """How many distinct IOI prompts the data makes for ``tokenizer`` (its single-token names), without making them."""
    templates = load_templates()
    names, _ = single_token_names(_read_lines(ioi_dir() / "names.txt"), tokenizer)
    return _space(templates, names).size if len(names) >= 2 else 0


def _space(templates: list[Template], names: list[str]) -> _Space:
    return _Space(
        tuple(dict.fromkeys(templates)),  # a template listed twice makes no new prompts
        tuple(names), tuple(_read_lines(ioi_dir() / "places.txt")), tuple(_read_lines(ioi_dir() / "objects.txt")),
    )


#: Memory per IOI prompt, built and scored (measured ~0.9 kB building one, plus its results row).
PROMPT_BYTES = 1000


def build_ioi(tokenizer: PromptTokenizer, *, n: int | None = None, seed: int = 0) -> PromptSet:
    """``n`` distinct IOI prompts (default 100; at most :func:`count_distinct`), alternating ABBA and BABA, drawn with ``seed``."""
    check_n(n)
    n = asked = DEFAULT_N if n is None else n
    templates = load_templates()
    all_names = _read_lines(ioi_dir() / "names.txt")
    names, name_ids = single_token_names(all_names, tokenizer)
    n_multi = len(all_names) - len(names)
    if n_multi:
        log.info("ioi: dropped %d of %d names that are not one token", n_multi, len(all_names))
    if len(names) < 2:
        raise UsageError(
            f"only {len(names)} of the {len(all_names)} IOI names are single tokens for this tokenizer; need at least 2"
        )
    space = _space(templates, names)
    templates = list(space.templates)
    distinct = space.size
    if n > distinct:
        warn_fewer_prompts(
            TASK, n, distinct,
            f"its {len(templates)} templates, {len(names)} single-token names, {len(space.places)} places, "
            f"{len(space.objects)} objects and 2 orders make {distinct} distinct prompts",
        )
        n = distinct
    check_memory(
        n * PROMPT_BYTES, f"--n {n} (IOI prompts)" if asked == n else f"--n {asked} ({n:,} distinct IOI prompts)",
        "use a smaller --n (a few thousand prompts measure the task well)",
    )

    rng = np.random.default_rng(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    n_split = 0

    def add(t: int, io_i: int, s_i: int, place: str, obj: str, order: str) -> bool:
        """Keep the prompt unless it is a repeat or a name merges with its neighbour in context."""
        nonlocal n_split
        prompt = templates[t].render(names[io_i], names[s_i], place, obj, order)
        if prompt in seen:
            return False
        seen.add(prompt)
        positions = _positions(tokenizer.encode_prompt(prompt), name_ids[io_i], name_ids[s_i])
        if positions is None:  # the tokenizer merged a name with its neighbour in this prompt
            n_split += 1
            return False
        io_pos, s_pos, s2_pos = positions
        rows.append(dict(
            prompt=prompt, io=names[io_i], s=names[s_i], io_id=name_ids[io_i], s_id=name_ids[s_i],
            io_pos=io_pos, s_pos=s_pos, s2_pos=s2_pos, template=t, order=order, place=place, object=obj,
        ))
        return True

    with tqdm(total=n, desc="ioi prompts", disable=n < PROGRESS_FROM, leave=False) as bar:
        if 2 * n <= distinct:
            # few of the possible prompts: draw each at random (a repeat is drawn again)
            max_draws = 10 * n + 100
            draws = 0
            while len(rows) < n:
                if draws >= max_draws:
                    raise UsageError(f"could not build {n} IOI prompts whose names stay single tokens in context")
                draws += 1
                order = ORDERS[len(rows) % 2]
                t = int(rng.integers(len(templates)))
                io_i, s_i = (int(i) for i in rng.choice(len(names), size=2, replace=False))
                place = space.places[int(rng.integers(len(space.places)))]
                obj = space.objects[int(rng.integers(len(space.objects)))]
                bar.update(add(t, io_i, s_i, place, obj, order))
        else:
            # most of them: go through all of them in a seeded random order
            offsets = np.concatenate([[0], np.cumsum(space.sizes)])
            for index in rng.permutation(distinct):
                if len(rows) == n:
                    break
                bar.update(add(*space.decode(int(index), offsets)))
            warn_fewer_prompts(TASK, n, len(rows), f"only {len(rows)} of its {distinct} prompts keep both names single tokens in context")
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
