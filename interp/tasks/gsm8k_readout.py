"""GSM8K grade-school math problems: records, gold answers, few-shot CoT prompts, answer extraction.

Data: a GSM8K-format jsonl (``{"question": ..., "answer": "... #### N"}`` per line) read with
``datasets.load_dataset("json", ...)``, or else the hub dataset ``openai/gsm8k`` (config
``main``). Both give the same :class:`Problem` records; ``id`` is the 0-based row of the split.

Prompts follow the chain-of-thought format evaluation harnesses use for GSM8K (lm-eval's
``gsm8k_cot``): exemplars ``"Q: {question}\\nA: {rationale} The answer is {N}."`` joined by a
blank line, then ``"Q: {question}\\nA:"``. The exemplars are either the eight of Wei et al.
(2022), kept as data in ``prompts/gsm8k/wei2022_cot.jsonl``, or ``K`` problems drawn with a
seed from the train split (worked solution with its ``<<...>>`` calculator annotations removed,
then ``The answer is N.``). No exemplar ever equals a question being evaluated.

``extract_answer(text)`` reads the model's answer from a generation: the number after the first
"The answer is", else the last number in the text, in the canonical form shared with gold
answers (``1,234 -> 1234``, ``$18.00 -> 18``, ``0.50 -> 0.5``, ``-5 -> -5``).

Everything the generation command (``interp gsm8k``) and a teacher-forced readout task need
lives here; neither depends on a model.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np

from interp.errors import UsageError
from interp.paths import prompts_dir, shared_data_dir
from interp.tasks.base import read_jsonl_objects

log = logging.getLogger(__name__)

HUB_DATASET = "openai/gsm8k"
HUB_CONFIG = "main"
SPLITS = ("train", "test")
EXEMPLAR_SOURCES = ("wei", "train")
MAX_SHOTS = 8
STOP = "Q:"  # a generation ends where the model starts the next question
ANSWER_PHRASE = "The answer is"
WEI_FILE = "gsm8k/wei2022_cot.jsonl"

# A number as written in text: optional minus and dollar sign, digits with proper thousands
# separators (or plain digits), optional decimals; also ".5". Digits glued to a preceding
# letter are not read ("x2"); a minus glued to a preceding digit is a dash ("3-4" reads 3, 4).
_NUMBER = re.compile(r"(?<![\w.])(-)?\$?((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+)(?!\d)")
_CALCULATOR = re.compile(r"<<[^<>]*>>")
_GOLD = re.compile(r"####\s*(.+?)\s*$")


def normalize_number(text: str) -> str | None:
    """The canonical form of one written number: no ``$`` or thousands separators, no trailing
    zeros after the point, no ``-0``. ``None`` when ``text`` is not a number.

    >>> [normalize_number(t) for t in ("1,234", "$18.00", "0.50", "-5", ".5", "x")]
    ['1234', '18', '0.5', '-5', '0.5', None]
    """
    cleaned = text.strip().replace(",", "").replace("$", "")
    if cleaned.endswith("."):
        cleaned = cleaned[:-1]
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite():
        return None
    out = format(value.normalize(), "f")
    if "." in out:
        out = out.rstrip("0").rstrip(".")
    return "0" if out in ("-0", "") else out


def _numbers(text: str) -> list[str]:
    return [normalize_number((sign or "") + body) for sign, body in _NUMBER.findall(text)]


def extract_answer(text: str) -> str | None:
    """The model's final answer in ``text``: the number after the first "The answer is", else
    the last number in the text; canonical form (see :func:`normalize_number`); None if none."""
    at = text.find(ANSWER_PHRASE)
    if at >= 0:
        after = _numbers(text[at + len(ANSWER_PHRASE):])
        if after:
            return after[0]
    found = _numbers(text)
    return found[-1] if found else None


def strip_calculator(text: str) -> str:
    """A GSM8K worked solution without its ``<<48/2=24>>`` calculator annotations."""
    return _CALCULATOR.sub("", text)


@dataclass(frozen=True)
class Problem:
    """One GSM8K problem. ``solution`` is the worked solution before ``####``; ``gold`` the
    canonical final answer."""

    id: int
    question: str
    solution: str
    gold: str

    @property
    def rationale(self) -> str:
        """The worked solution as one line of prose: calculator annotations removed, lines joined by spaces."""
        lines = [" ".join(line.split()) for line in strip_calculator(self.solution).splitlines()]
        return " ".join(line for line in lines if line)


def parse_gold(answer: str) -> tuple[str, str]:
    """(worked solution, canonical gold answer) of a GSM8K ``answer`` field ending in ``#### N``.

    ValueError when there is no ``####`` line or its value is not a number.
    """
    head, sep, tail = answer.rpartition("####")
    if not sep:
        raise ValueError('the answer has no "#### N" final line')
    gold = normalize_number(tail.strip().splitlines()[0] if tail.strip() else "")
    if gold is None:
        raise ValueError(f'the value after "####" is not a number: {tail.strip()[:40]!r}')
    return head.rstrip(), gold


def _problem(row: dict[str, Any], index: int) -> Problem:
    solution, gold = parse_gold(row["answer"])
    return Problem(id=index, question=row["question"].strip(), solution=solution, gold=gold)


def _check_jsonl(path: Path) -> None:
    """UsageError naming the line of the first row that is not a GSM8K record."""
    rows = read_jsonl_objects(path)
    if not rows:
        raise UsageError(f"{path} holds no problems; give a GSM8K jsonl: one {{\"question\", \"answer\"}} object per line")
    for line_no, obj in rows:
        for key in ("question", "answer"):
            if not isinstance(obj.get(key), str) or not obj[key].strip():
                raise UsageError(
                    f"{path}:{line_no}: not a GSM8K record: needs non-empty \"question\" and \"answer\" strings, "
                    f"the answer ending in \"#### N\""
                )
        try:
            parse_gold(obj["answer"])
        except ValueError as err:
            raise UsageError(f"{path}:{line_no}: not a GSM8K record: {err}; the answer must end in \"#### N\"") from None


def _how_to_pass_data(split: str) -> str:
    local = shared_data_dir() / "gsm8k" / f"{split}.jsonl"
    example = local if local.is_file() else Path(f"gsm8k/{split}.jsonl")
    return f"pass a GSM8K jsonl with --data, e.g. --data {example}"


@contextmanager
def _quiet_datasets() -> Iterator[None]:
    """Hide ``datasets``' per-split progress bars (a few rows of jsonl are not long work)."""
    import datasets

    was_disabled = datasets.utils.are_progress_bars_disabled()
    datasets.utils.disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            datasets.utils.enable_progress_bars()


def load_split(data: str | Path | None, split: str = "test") -> list[Problem]:
    """The problems of ``split``: from the jsonl ``data`` when given, else from the hub.

    The jsonl is checked line by line first (a bad line is a UsageError naming it), then read
    with ``datasets`` like the hub dataset, so both paths give the same records.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    import datasets

    if data is not None:
        path = Path(data).expanduser()
        if not path.is_file():
            raise UsageError(f"GSM8K file {data} not found; {_how_to_pass_data(split)}")
        _check_jsonl(path)
        with _quiet_datasets():
            rows = datasets.load_dataset("json", data_files=str(path), split="train")
        source = str(path)
    else:
        try:
            with _quiet_datasets():
                rows = datasets.load_dataset(HUB_DATASET, HUB_CONFIG, split=split)
        except Exception as err:  # offline, missing cache, unknown dataset: all mean "no hub data"
            raise UsageError(
                f"the hub dataset {HUB_DATASET} ({HUB_CONFIG}) is not available ({type(err).__name__}); "
                f"{_how_to_pass_data(split)}"
            ) from None
        source = f"{HUB_DATASET}:{HUB_CONFIG}/{split}"
    try:
        problems = [_problem(row, i) for i, row in enumerate(rows)]
    except (KeyError, TypeError, ValueError) as err:
        raise UsageError(f"{source} is not GSM8K data ({err}); {_how_to_pass_data(split)}") from None
    log.info("read %d GSM8K problems from %s", len(problems), source)
    return problems


def default_train_path(data: str | Path | None) -> Path | None:
    """``train.jsonl`` next to a ``--data`` file, when there is one (else the hub's train split is used)."""
    if data is None:
        return None
    sibling = Path(data).expanduser().with_name("train.jsonl")
    return sibling if sibling.is_file() else None


@dataclass(frozen=True)
class Exemplar:
    """A worked example shown before the question."""

    question: str
    rationale: str
    answer: str
    source: str  # "wei" or "train:<id>"

    @property
    def text(self) -> str:
        return f"{question_prompt(self.question)} {self.rationale} {ANSWER_PHRASE} {self.answer}."


def question_prompt(question: str) -> str:
    """``Q: {question}\\nA:``, the part of the prompt after the exemplars."""
    return f"Q: {question}\nA:"


def few_shot_prefix(exemplars: Sequence[Exemplar]) -> str:
    """The exemplars, each followed by a blank line (empty for zero shots)."""
    return "".join(e.text + "\n\n" for e in exemplars)


def _key(question: str) -> str:
    return " ".join(question.lower().split())


def wei_exemplars() -> list[Exemplar]:
    """The eight CoT exemplars of Wei et al. (2022), in their published order."""
    path = prompts_dir() / WEI_FILE
    rows = read_jsonl_objects(path)
    return [Exemplar(o["question"], o["rationale"], o["answer"], "wei") for _, o in rows]


def train_exemplar(problem: Problem) -> Exemplar:
    return Exemplar(problem.question, problem.rationale, problem.gold, f"train:{problem.id}")


def choose_exemplars(
    source: str,
    n_shot: int,
    questions: Iterable[str],
    *,
    seed: int = 0,
    train: Sequence[Problem] | None = None,
) -> tuple[Exemplar, ...]:
    """``n_shot`` exemplars, none equal (case and spacing aside) to any of ``questions``.

    ``wei``: the first ``n_shot`` of Wei et al.'s eight in order (skipping one that equals a
    question). ``train``: a seeded permutation of ``train`` walked in order, skipping any
    problem equal to a question; the same ``seed`` gives the same exemplars.
    """
    if source not in EXEMPLAR_SOURCES:
        raise UsageError(f"--exemplars must be one of {', '.join(EXEMPLAR_SOURCES)}, got {source!r}")
    if n_shot < 0:
        raise UsageError(f"--n-shot must be >= 0, got {n_shot}")
    banned = {_key(q) for q in questions}
    if source == "wei":
        if n_shot > MAX_SHOTS:
            raise UsageError(f"--n-shot {n_shot}: Wei et al. give {MAX_SHOTS} exemplars; use at most {MAX_SHOTS} or --exemplars train")
        pool = [e for e in wei_exemplars() if _key(e.question) not in banned]
        if len(pool) < n_shot:
            raise UsageError(f"only {len(pool)} Wei exemplars differ from the evaluated questions; use --n-shot {len(pool)}")
        return tuple(pool[:n_shot])
    if train is None:
        raise ValueError("choose_exemplars('train', ...) needs the train split")
    if n_shot > len(train):
        raise UsageError(f"--n-shot {n_shot} is larger than the train split ({len(train)} problems)")
    chosen: list[Exemplar] = []
    for index in np.random.default_rng(seed).permutation(len(train)):
        problem = train[int(index)]
        if len(chosen) == n_shot:
            break
        if _key(problem.question) in banned:
            continue
        banned.add(_key(problem.question))  # no exemplar twice either
        chosen.append(train_exemplar(problem))
    if len(chosen) < n_shot:
        raise UsageError(f"only {len(chosen)} train problems differ from the evaluated questions; use --n-shot {len(chosen)}")
    return tuple(chosen)


@dataclass(frozen=True)
class FewShotPrompt:
    """The shared few-shot prefix, and every problem's prompt built from it."""

    exemplars: tuple[Exemplar, ...]

    @property
    def prefix(self) -> str:
        return few_shot_prefix(self.exemplars)

    def suffix(self, question: str) -> str:
        return question_prompt(question)

    def prompt(self, question: str) -> str:
        """The exact text the model continues for ``question``."""
        return self.prefix + self.suffix(question)


#: problems in the teacher-forced readout task unless ``--n`` says otherwise (a seeded sample of the test split)
READOUT_DEFAULT_N = 200
READOUT_TASK = "gsm8k"


def build_readout(tokenizer, *, data: str | Path | None = None, n: int | None = None, seed: int = 0, n_shot: int = MAX_SHOTS):
    """The teacher-forced readout task: can the model read the result of the worked solution out of its context?

    Per problem (a seeded ``n`` of the test split, default 200): the prompt is the Wei et al.
    few-shot prefix (``n_shot`` exemplars, none equal to an evaluated question), the question and
    the gold worked solution (calculator annotations removed) up to "The answer is"; the answer
    is " N", the gold number (several tokens for digit-splitting tokenizers). P(" the") is the
    usual distractor. Scoring runs the shared few-shot prefix once and then one short pass per
    problem (:mod:`interp.scoring.prefix`).
    """
    from interp.tasks.base import PromptSet, check_n, sample_rows, warn_fewer_prompts  # the task modules' common pieces

    check_n(n)
    problems = load_split(data, "test")
    rows = sample_rows(len(problems), READOUT_DEFAULT_N if n is None else n, seed)
    task = READOUT_TASK if data is None else f"{READOUT_TASK}:{data}"
    warn_fewer_prompts(task, n, len(rows), f"the test split has {len(problems)} problems")
    chosen = [problems[i] for i in rows]
    exemplars = choose_exemplars("wei", n_shot, [p.question for p in chosen])
    few_shot = FewShotPrompt(exemplars)
    prompts = tuple(f"{few_shot.prompt(p.question)} {p.rationale} {ANSWER_PHRASE}" for p in chosen)
    answers = tuple(" " + p.gold for p in chosen)
    tokens = tuple(tuple(tokenizer.encode_answer(a, where=f"GSM8K problem {p.id}")) for a, p in zip(answers, chosen))
    return PromptSet(
        task=task,
        prompts=prompts,
        answers=answers,
        answer_ids=tuple(t[0] for t in tokens),
        distractor_ids=tuple(() for _ in chosen),
        columns={"id": tuple(p.id for p in chosen), "gold": tuple(p.gold for p in chosen)},
        answer_tokens=tokens,
    )
