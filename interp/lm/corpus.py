"""The training corpus of a small language model: real English at hand offline, plus rendered facts and stories.

Sources (``CorpusConfig.sources``, in this order in :attr:`Corpus.documents`):

- ``wordnet``: ``wordnet/glosses.tsv`` of the shared data, one document per WordNet 3.0 synset,
  rendered readably ("Tirana (Albanian capital): the capital and largest city of Albania in the
  center of the country.", its example sentences after "Examples:").
- ``tinyshakespeare``: ``tinyshakespeare/input.txt``, one document per speech (blank-line separated).
- ``gsm8k``: ``gsm8k/train.jsonl`` (never the test split), one document per problem: the question,
  the worked answer without its calculator annotations, and "The answer is N."
- ``facts``: the project's factual triples (``prompts/factual/facts.jsonl``) rendered with the
  paraphrases of ``prompts/lm/fact_templates.json``, one sentence per document, every
  (fact, paraphrase) pair ``fact_repeats`` times, in a seeded order.
- ``ioi``: ``ioi_stories`` short stories from ``prompts/lm/ioi_templates.json`` with the names,
  places and objects of ``prompts/lm/`` (names disjoint from the IOI task's), drawn with ``seed``.
- ``people``: ``people_docs`` short passages about one person each (two sentences of
  ``prompts/lm/people_templates.json``, the same name in both), the names drawn from the IOI
  task's names and the corpus's own: the evaluation names occur in text, never in an IOI story,
  so they become single tokens with trained embeddings.
- ``file:PATH``: a UTF-8 text file, one document per blank-line separated paragraph.
- ``hf:NAME``: a Hugging Face text dataset, streamed through ``datasets`` (split ``hf_split``,
  column ``hf_column``).

Held out: the evaluation prompts of the ``factual`` and ``ioi`` tasks never appear verbatim. A
document containing a factual prompt (compared case-insensitively) or the fixed text of an IOI
template around any fillers (both name orders) is dropped from a text source and counted in
``SourceInfo.n_dropped``; a rendered source that would contain one is a data error
(:class:`UsageError` naming the file to reword). ``max_chars`` caps each source (tests, tiny runs).
"""

from __future__ import annotations

import bisect
import hashlib
import importlib.util
import itertools
import json
import logging
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interp.errors import UsageError
from interp.paths import prompts_dir, shared_data_dir

log = logging.getLogger(__name__)

DEFAULT_SOURCES = ("wordnet", "tinyshakespeare", "gsm8k", "facts", "ioi", "people")
FILE_PREFIX = "file:"
HF_PREFIX = "hf:"
RENDERED = ("facts", "ioi", "people")
SOURCE_CHOICES = "wordnet, tinyshakespeare, gsm8k, facts, ioi, people, file:PATH (a UTF-8 text file) or hf:NAME (a text dataset)"

#: the wildcard standing for one filler (name, place, object) of an IOI template when looking for it in text
_FILLER = r"[^\n\x00]{1,40}?"
_SEPARATOR = "\n\x00\n"  # between documents when searching them all at once (no prompt holds it)
_PLACEHOLDER = re.compile(r"\{([A-Za-z]+)\}")
_BLANK_LINE = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True)
class CorpusConfig:
    """Which sources make the corpus and how much of each (see the module docstring)."""

    sources: tuple[str, ...] = DEFAULT_SOURCES
    max_chars: int | None = None  # cap on each source's characters (tests, tiny runs); None = all
    seed: int = 0  # order of the rendered sentences, the stories' names, places, objects and templates
    fact_repeats: int = 32  # times each (fact, paraphrase) sentence appears
    ioi_stories: int = 20_000  # IOI-style stories rendered
    people_docs: int = 40_000  # single-person passages rendered (names in non-IOI text)
    hf_split: str = "train"  # split of an hf:NAME source
    hf_column: str = "text"  # the text column of an hf:NAME source

    def __post_init__(self) -> None:
        if not isinstance(self.sources, tuple) or not self.sources:
            raise UsageError(f"corpus sources must be a non-empty tuple, e.g. {DEFAULT_SOURCES}; got {self.sources!r}")
        for source in self.sources:
            if not isinstance(source, str) or not (
                source in DEFAULT_SOURCES
                or (source.startswith(FILE_PREFIX) and source[len(FILE_PREFIX):].strip())
                or (source.startswith(HF_PREFIX) and source[len(HF_PREFIX):].strip())
            ):
                raise UsageError(f"unknown corpus source {source!r}; choose from {SOURCE_CHOICES}")
        repeated = sorted({s for s in self.sources if self.sources.count(s) > 1})
        if repeated:
            raise UsageError(f"corpus source(s) {', '.join(repeated)} listed twice; list each source once")
        for name, minimum in (("max_chars", 1), ("fact_repeats", 1), ("ioi_stories", 1), ("people_docs", 1)):
            value = getattr(self, name)
            if name == "max_chars" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise UsageError(f"corpus {name} must be an integer >= {minimum}, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"corpus seed must be an integer >= 0, got {self.seed!r}")
        for name in ("hf_split", "hf_column"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise UsageError(f"corpus {name} must be a non-empty string, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class SourceInfo:
    """One source of a built corpus: where it came from, how big it is, and a hash of its content."""

    name: str
    path: str | None  # the file read (None: rendered or streamed)
    n_documents: int
    n_chars: int
    sha256: str  # the file's bytes, or (rendered, streamed) the documents' text
    n_dropped: int = 0  # documents left out because they contain an evaluation prompt


@dataclass(frozen=True)
class Corpus:
    """The documents of every source, in the order of ``sources`` (each source's documents contiguous)."""

    documents: tuple[str, ...]
    sources: tuple[SourceInfo, ...]

    @property
    def n_chars(self) -> int:
        return sum(s.n_chars for s in self.sources)

    def source_slices(self) -> dict[str, slice]:
        """Which documents each source holds: ``documents[slices[name]]``."""
        starts = itertools.accumulate((s.n_documents for s in self.sources), initial=0)
        return {s.name: slice(a, a + s.n_documents) for s, a in zip(self.sources, starts)}


# --- the shared data files ---------------------------------------------------------------


@dataclass(frozen=True)
class _SharedFile:
    relpath: str  # under the shared data folder
    what: str  # what the file should hold, for messages
    parse: Callable[[str, Path], list[str]]


def _wordnet(text: str, path: Path) -> list[str]:
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["pos", "lemmas", "gloss"]:
        raise UsageError(f"{path}: expected a header 'pos<TAB>lemmas<TAB>gloss' (see its README.md)")
    documents = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[1] or not fields[2]:
            raise UsageError(f"{path}:{line_no}: expected 3 tab-separated fields pos, lemmas, gloss")
        lemmas = fields[1].split("|")
        definition, _, examples = fields[2].partition('; "')
        head = lemmas[0] + (f" ({', '.join(lemmas[1:])})" if len(lemmas) > 1 else "")
        doc = f"{head}: {_sentence(definition)}"
        if examples:
            doc += f' Examples: "{examples.rstrip()}.'
        documents.append(doc)
    return documents


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _paragraphs(text: str, path: Path) -> list[str]:  # noqa: ARG001 - one signature for every parser
    return [p.strip() for p in _BLANK_LINE.split(text.replace("\r\n", "\n")) if p.strip()]


_CALCULATOR = re.compile(r"<<[^<>]*>>")


def _gsm8k(text: str, path: Path) -> list[str]:
    documents = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise UsageError(f"{path}:{line_no}: invalid JSON ({err.msg}); expected {{\"question\", \"answer\"}} per line") from None
        if not isinstance(row, dict) or not isinstance(row.get("question"), str) or not isinstance(row.get("answer"), str):
            raise UsageError(f"{path}:{line_no}: expected an object with string fields question and answer")
        steps, _, final = _CALCULATOR.sub("", row["answer"]).rpartition("####")
        doc = f"{row['question'].strip()}\n{steps.strip()}"
        if final.strip():
            doc += f"\nThe answer is {final.strip()}."
        documents.append(doc)
    return documents


SHARED_FILES: dict[str, _SharedFile] = {
    "wordnet": _SharedFile("wordnet/glosses.tsv", "the WordNet 3.0 glosses (pos, lemmas, gloss per line)", _wordnet),
    "tinyshakespeare": _SharedFile("tinyshakespeare/input.txt", "the Tiny Shakespeare text", _paragraphs),
    "gsm8k": _SharedFile("gsm8k/train.jsonl", "the GSM8K train split (question, answer per line)", _gsm8k),
}


def _source_file(source: str, data_dir: Path) -> tuple[Path, str]:
    """The file a file-backed source reads and a phrase saying what it should be."""
    if source.startswith(FILE_PREFIX):
        return Path(source[len(FILE_PREFIX):]).expanduser(), "a UTF-8 text file"
    shared = SHARED_FILES[source]
    return data_dir / shared.relpath, f"{shared.what} (the team's shared data: ../shared/data or $INTERP_SHARED_DATA)"


def _check_file(source: str, path: Path, expected: str) -> None:
    if path.is_dir():
        raise UsageError(f"corpus source {source}: {path} is a directory; give {expected}")
    if not path.is_file():
        raise UsageError(f"corpus source {source}: {path} not found; it should be {expected}, or leave {source} out of the sources")
    if path.stat().st_size == 0:
        raise UsageError(f"corpus source {source}: {path} is empty; it should be {expected}")


def _read_text(source: str, path: Path, expected: str) -> tuple[str, str]:
    """(text, sha256 of the bytes)."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise UsageError(f"corpus source {source}: {path} is not UTF-8 (byte {err.start}); it should be {expected}") from None
    if not text.strip():
        raise UsageError(f"corpus source {source}: {path} holds only whitespace; it should be {expected}")
    return text, hashlib.sha256(data).hexdigest()


# --- the rendered sources ------------------------------------------------------------------


def lm_dir() -> Path:
    """The language-model corpus data: ``prompts/lm/``."""
    return prompts_dir() / "lm"


def _read_json(path: Path, expected: str) -> object:
    if not path.is_file():
        raise UsageError(f"corpus data file {path} not found; it should be {expected}")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise UsageError(f"{path}: invalid JSON ({err.msg} at line {err.lineno}); it should be {expected}") from None


def _read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise UsageError(f"corpus data file {path} not found; it should list one entry per line")
    entries = list(dict.fromkeys(line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()))
    if not entries:
        raise UsageError(f"corpus data file {path} is empty; it should list one entry per line")
    return entries


FACT_SLOTS = {"subject", "answer"}


def load_fact_templates(path: Path | None = None) -> dict[str, list[str]]:
    """``prompts/lm/fact_templates.json``: relation -> paraphrase templates with ``{subject}`` and ``{answer}``."""
    path = path or lm_dir() / "fact_templates.json"
    expected = 'a JSON object {"relation": ["{subject} is a city in {answer}.", ...]}'
    raw = _read_json(path, expected)
    if not isinstance(raw, dict) or not raw:
        raise UsageError(f"{path}: expected {expected}")
    for relation, templates in raw.items():
        if not isinstance(templates, list) or not templates or not all(isinstance(t, str) for t in templates):
            raise UsageError(f"{path}: relation {relation!r} needs a non-empty list of template strings")
        for text in templates:
            slots = _PLACEHOLDER.findall(text)
            if sorted(slots) != sorted(FACT_SLOTS):
                raise UsageError(f"{path}: template {text!r} must use {{subject}} and {{answer}} once each, and nothing else")
    return raw


def _fact_documents(config: CorpusConfig) -> list[str]:
    from interp.tasks.factual import facts_path, load_facts

    facts = load_facts()
    templates = load_fact_templates()
    missing = sorted({f["relation"] for f in facts} - set(templates))
    if missing:
        raise UsageError(f"{lm_dir() / 'fact_templates.json'} has no paraphrases for relation(s) {', '.join(missing)} of {facts_path()}")
    sentences = []
    for fact in facts:
        subject = fact["subject"]
        if f"the {subject}" in fact["prompt"]:  # "The capital of the United Kingdom is"
            subject = f"the {subject}"
        for template in templates[fact["relation"]]:
            text = template.format(subject=subject, answer=fact["answer"].strip())
            sentences.append(text[:1].upper() + text[1:])
    sentences *= config.fact_repeats
    order = np.random.default_rng([config.seed, 1]).permutation(len(sentences))
    return [sentences[i] for i in order]


IOI_SLOTS = {"A", "B", "PLACE", "OBJECT"}


@dataclass(frozen=True)
class StoryTemplate:
    """An IOI-style story written ABBA: ``{A}`` (the indirect object) and ``{B}`` (the subject) are the
    first two names, ``{A}`` is the last name (the one the story ends on); BABA swaps the first two."""

    text: str

    def __post_init__(self) -> None:
        slots = _PLACEHOLDER.findall(self.text)
        unknown = sorted(set(slots) - IOI_SLOTS)
        if unknown:
            raise ValueError(f"unknown placeholder(s) {unknown}; use {{A}}, {{B}}, {{PLACE}}, {{OBJECT}}")
        names = [s for s in slots if s in ("A", "B")]
        if len(names) < 4 or names[:2] != ["A", "B"] or names[-1] != "A" or names.count("B") < 2:
            raise ValueError("names must appear as {A} ... {B} first, {B} again later, and {A} last")

    def render(self, io: str, s: str, place: str, obj: str, order: str) -> str:
        first = iter([io, s] if order == "ABBA" else [s, io])
        filled = {"A": io, "B": s, "PLACE": place, "OBJECT": obj}
        seen = 0

        def fill(match: re.Match) -> str:
            nonlocal seen
            slot = match.group(1)
            if slot in ("A", "B") and seen < 2:
                seen += 1
                return next(first)
            return filled[slot]

        text = _PLACEHOLDER.sub(fill, self.text)
        return text[:1].upper() + text[1:]


def load_story_templates(path: Path | None = None) -> list[StoryTemplate]:
    path = path or lm_dir() / "ioi_templates.json"
    expected = "a JSON list of story templates with {A}, {B}, {PLACE}, {OBJECT}"
    raw = _read_json(path, expected)
    if not isinstance(raw, list) or not raw or not all(isinstance(t, str) for t in raw):
        raise UsageError(f"{path}: expected {expected}")
    templates = []
    for i, text in enumerate(raw):
        try:
            templates.append(StoryTemplate(text))
        except ValueError as err:
            raise UsageError(f"{path}: template {i} ({text[:60]!r}): {err}") from None
    return templates


def load_story_names() -> list[str]:
    """``prompts/lm/names.txt``, checked disjoint from the IOI task's names (those are held out)."""
    from interp.tasks.ioi import ioi_dir

    path = lm_dir() / "names.txt"
    names = _read_lines(path)
    held_out = ioi_dir() / "names.txt"
    shared = sorted(set(names) & set(_read_lines(held_out))) if held_out.is_file() else []
    if shared:
        raise UsageError(f"{path} shares name(s) {', '.join(shared[:5])} with {held_out}; the evaluation names are held out: remove them")
    if len(names) < 2:
        raise UsageError(f"{path} lists {len(names)} name; the stories need at least 2")
    return names


def _ioi_documents(config: CorpusConfig) -> list[str]:
    templates = load_story_templates()
    names = load_story_names()
    places = _read_lines(lm_dir() / "places.txt")
    objects = _read_lines(lm_dir() / "objects.txt")
    n = config.ioi_stories
    rng = np.random.default_rng([config.seed, 2])
    template, place, obj = (rng.integers(len(choices), size=n) for choices in (templates, places, objects))
    io, s = _distinct_pairs(rng, len(names), n)
    return [
        templates[template[i]].render(names[io[i]], names[s[i]], places[place[i]], objects[obj[i]], "ABBA" if i % 2 == 0 else "BABA")
        for i in range(n)
    ]


def _distinct_pairs(rng: np.random.Generator, size: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform ordered pairs of distinct indices below ``size``."""
    first = rng.integers(size, size=n)
    return first, (first + 1 + rng.integers(size - 1, size=n)) % size


PEOPLE_SLOTS = {"NAME", "PLACE", "OBJECT"}


def load_people_templates(path: Path | None = None) -> list[str]:
    """``prompts/lm/people_templates.json``: sentences about one person, ``{NAME}`` (after a space) and
    optionally ``{PLACE}``, ``{OBJECT}``."""
    path = path or lm_dir() / "people_templates.json"
    expected = "a JSON list of at least 2 sentences with {NAME} and optionally {PLACE}, {OBJECT}"
    raw = _read_json(path, expected)
    if not isinstance(raw, list) or len(raw) < 2 or not all(isinstance(t, str) for t in raw):
        raise UsageError(f"{path}: expected {expected}")
    for text in raw:
        slots = _PLACEHOLDER.findall(text)
        if "NAME" not in slots or set(slots) - PEOPLE_SLOTS:
            raise UsageError(f"{path}: template {text[:60]!r} must use {{NAME}} and only {{NAME}}, {{PLACE}}, {{OBJECT}}")
        if "{NAME}" in text and not all(part.endswith(" ") for part in text.split("{NAME}")[:-1]):
            raise UsageError(f"{path}: template {text[:60]!r}: each {{NAME}} must follow a space, as the names do in the IOI prompts")
    return raw


def _people_documents(config: CorpusConfig) -> list[str]:
    from interp.tasks.ioi import ioi_dir

    templates = load_people_templates()
    names = list(dict.fromkeys(_read_lines(ioi_dir() / "names.txt") + load_story_names()))
    places = _read_lines(lm_dir() / "places.txt")
    objects = _read_lines(lm_dir() / "objects.txt")
    n = config.people_docs
    rng = np.random.default_rng([config.seed, 3])
    name, place, obj = (rng.integers(len(choices), size=n) for choices in (names, places, objects))
    first, second = _distinct_pairs(rng, len(templates), n)
    return [
        " ".join(templates[t].format(NAME=names[name[i]], PLACE=places[place[i]], OBJECT=objects[obj[i]]) for t in (first[i], second[i]))
        for i in range(n)
    ]


# --- holding out the evaluation prompts ------------------------------------------------------


@dataclass(frozen=True)
class HeldOut:
    """The evaluation prompts no document may contain: factual prompts (lower case) and IOI template patterns."""

    factual: tuple[str, ...]
    ioi: tuple[tuple[str, re.Pattern], ...]  # (template, the pattern of its fixed text)

    @property
    def _anchored(self) -> dict[str, dict[tuple[int, int], set[str]]]:
        """The factual prompts by an anchor word, then by (anchor offset, length). The anchor is the prompt's word
        of 4+ letters that most prompts share ("located", "capital"): few anchors, few scans of the text."""
        shared = Counter(w for prompt in self.factual for w in set(prompt.split()))
        groups: dict[str, dict[tuple[int, int], set[str]]] = {}
        for prompt in self.factual:
            anchor = max(prompt.split(), key=lambda w: (len(w) >= 4, shared[w], len(w)))
            groups.setdefault(anchor, {}).setdefault((prompt.index(anchor), len(prompt)), set()).add(prompt)
        return groups

    @classmethod
    def load(cls) -> HeldOut:
        """The ``factual`` task's prompts and the ``ioi`` task's templates, from ``prompts/``."""
        from interp.tasks.factual import load_facts
        from interp.tasks.ioi import load_templates

        factual = tuple(sorted({f["prompt"].lower() for f in load_facts()}))
        return cls(factual, tuple((t.text, ioi_pattern(t.text)) for t in load_templates()))

    def find(self, documents: Sequence[str]) -> dict[int, str]:
        """The documents holding an evaluation prompt: index -> the factual prompt or the IOI template found."""
        if not documents:
            return {}
        joined = _SEPARATOR.join(documents)
        starts = list(itertools.accumulate((len(d) + len(_SEPARATOR) for d in documents[:-1]), initial=0))
        found: dict[int, str] = {}

        def at(position: int, what: str) -> None:
            found.setdefault(bisect.bisect_right(starts, position) - 1, what)

        # each factual prompt is looked for where its anchor word occurs: a few scans of the text, not one per prompt
        lower = joined.lower()
        for anchor, groups in self._anchored.items():
            position = lower.find(anchor)
            while position >= 0:
                for (offset, length), prompts in groups.items():
                    start = position - offset
                    if start >= 0 and lower[start:start + length] in prompts:
                        at(start, lower[start:start + length])
                position = lower.find(anchor, position + 1)
        for template, pattern in self.ioi:
            for match in pattern.finditer(joined):
                at(match.start(), f"IOI template {template}")
        return found


def ioi_pattern(template: str) -> re.Pattern:
    """A regex for an IOI template's fixed text with any short filler in each slot (so either name order)."""
    pieces = _PLACEHOLDER.split(template)[::2]  # the text between the slots
    return re.compile(_FILLER.join(re.escape(p) for p in pieces))


# --- building --------------------------------------------------------------------------------


def check_corpus(config: CorpusConfig, data_dir: Path | None = None) -> None:
    """Cheap checks before any training: every file a source reads exists and is not empty, the rendered
    sources' data files parse, ``datasets`` is importable for an hf: source (UsageError, one line)."""
    data_dir = shared_data_dir() if data_dir is None else Path(data_dir)
    for source in config.sources:
        if source in SHARED_FILES or source.startswith(FILE_PREFIX):
            _check_file(source, *_source_file(source, data_dir))
        elif source == "facts":
            from interp.tasks.factual import load_facts

            load_facts()
            load_fact_templates()
        elif source == "ioi":
            load_story_templates()
            load_story_names()
            _read_lines(lm_dir() / "places.txt")
            _read_lines(lm_dir() / "objects.txt")
        elif source == "people":
            load_people_templates()
            load_story_names()
            _read_lines(lm_dir() / "places.txt")
            _read_lines(lm_dir() / "objects.txt")
        elif source.startswith(HF_PREFIX) and importlib.util.find_spec("datasets") is None:
            raise UsageError(f"corpus source {source} needs the datasets package (pip install datasets), or use file:PATH")


def _hf_documents(source: str, config: CorpusConfig) -> list[str]:
    import datasets

    name = source[len(HF_PREFIX):]
    where = f"corpus source {source} (split {config.hf_split!r}, column {config.hf_column!r})"
    documents: list[str] = []
    total = 0
    try:
        stream = datasets.load_dataset(name, split=config.hf_split, streaming=True)
        for row in stream:
            if config.hf_column not in row:
                raise UsageError(f"{where}: no column {config.hf_column!r}; its columns are {', '.join(row)}: set hf_column")
            text = row[config.hf_column]
            if not isinstance(text, str):
                raise UsageError(f"{where}: column {config.hf_column!r} holds {type(text).__name__}, not text: set hf_column")
            if text.strip():
                documents.append(text.strip())
                total += len(documents[-1])
            if config.max_chars is not None and total >= config.max_chars:
                break
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - datasets raises many types (hub, builder, network)
        first = (str(err).strip().splitlines() or [""])[0][:160]
        raise UsageError(
            f"{where}: could not load it ({type(err).__name__}: {first}); check the name and split and that the hub "
            f"is reachable, or use file:PATH"
        ) from None
    if not documents:
        raise UsageError(f"{where} holds no text; give a dataset with a non-empty text column")
    return documents


def _cap(documents: list[str], max_chars: int | None) -> list[str]:
    """Whole documents while the total stays within ``max_chars`` (at least one, cut to fit)."""
    if max_chars is None:
        return documents
    kept, total = [], 0
    for doc in documents:
        if total + len(doc) > max_chars:
            if not kept:
                kept.append(doc[:max_chars])
            break
        kept.append(doc)
        total += len(doc)
    return kept


def _sha256(documents: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for doc in documents:
        digest.update(doc.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()


def build_corpus(config: CorpusConfig, data_dir: Path | None = None) -> Corpus:
    """The corpus of ``config``'s sources (deterministic for a config and the files' content); ``data_dir``
    defaults to :func:`interp.paths.shared_data_dir`."""
    data_dir = shared_data_dir() if data_dir is None else Path(data_dir)
    check_corpus(config, data_dir)
    held_out = HeldOut.load()
    documents: list[str] = []
    infos: list[SourceInfo] = []
    for source in config.sources:
        path: Path | None = None
        sha = ""
        if source in SHARED_FILES or source.startswith(FILE_PREFIX):
            path, expected = _source_file(source, data_dir)
            text, sha = _read_text(source, path, expected)
            parse = SHARED_FILES[source].parse if source in SHARED_FILES else _paragraphs
            docs = parse(text, path)
        elif source == "facts":
            docs = _fact_documents(config)
        elif source == "ioi":
            docs = _ioi_documents(config)
        elif source == "people":
            docs = _people_documents(config)
        else:
            docs = _hf_documents(source, config)
        docs = _cap(docs, config.max_chars)
        found = held_out.find(docs)
        if found and source in RENDERED:
            i, prompt = next(iter(sorted(found.items())))
            data = {"facts": "fact_templates.json", "ioi": "ioi_templates.json", "people": "people_templates.json"}[source]
            raise UsageError(
                f"corpus source {source}: {docs[i][:80]!r} contains an evaluation prompt ({prompt!r}); "
                f"reword that template in {lm_dir() / data}"
            )
        if found:
            log.info("corpus source %s: dropped %d documents that contain an evaluation prompt", source, len(found))
            docs = [d for i, d in enumerate(docs) if i not in found]
        if path is None:
            sha = _sha256(docs)
        info = SourceInfo(
            name=source, path=None if path is None else str(path), n_documents=len(docs),
            n_chars=sum(map(len, docs)), sha256=sha, n_dropped=len(found),
        )
        log.info("corpus source %s: %d documents, %d characters", source, info.n_documents, info.n_chars)
        documents += docs
        infos.append(info)
    return Corpus(tuple(documents), tuple(infos))


def source_table(corpus: Corpus) -> str:
    """A markdown table of the corpus's sources (documents, characters, dropped, hash prefix)."""
    rows = ["| source | documents | characters | dropped (held out) | sha256 |", "|---|---:|---:|---:|---|"]
    for s in corpus.sources:
        rows.append(f"| {s.name} | {s.n_documents:,} | {s.n_chars:,} | {s.n_dropped} | {s.sha256[:12]} |")
    rows.append(f"| total | {len(corpus.documents):,} | {corpus.n_chars:,} | {sum(s.n_dropped for s in corpus.sources)} | |")
    return "\n".join(rows)
