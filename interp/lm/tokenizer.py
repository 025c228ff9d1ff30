"""The byte-level BPE tokenizer of a small language model, trained on its corpus (as Pythia's, smaller).

:func:`train_tokenizer` trains a GPT-2/Pythia-style byte-level BPE with the ``tokenizers`` library
(NFC normalisation, byte-level pre-tokenizer without a prefix space) and ``"<|endoftext|>"`` as
its one special token, used as BOS, EOS, PAD and UNK as in Pythia's tokenizer. It adds no BOS
itself: interp's gpt_neox policy (:mod:`interp.models.registry`) prepends it to every prompt.
The trainer saves it with ``save_pretrained`` into each checkpoint folder, so every folder loads
standalone through :func:`interp.load_model`. Training is deterministic for the same documents.

:func:`coverage` says what the evaluation needs of it: whether " the" is one token, how many of
the IOI task's names and of the factual answers are (leading space included).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

from interp.errors import UsageError

SPECIAL = "<|endoftext|>"
MIN_VOCAB = 257 + 1  # the 256 byte symbols, the special token, and at least one merge


def train_tokenizer(documents: Sequence[str], vocab_size: int) -> PreTrainedTokenizerFast:
    """A byte-level BPE of ``vocab_size`` tokens trained on ``documents`` (same documents: same tokenizer)."""
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int) or vocab_size < MIN_VOCAB:
        raise UsageError(f"tokenizer vocab_size must be an integer >= {MIN_VOCAB} (256 bytes + {SPECIAL} + merges), got {vocab_size!r}")
    if not any(doc.strip() for doc in documents):
        raise UsageError("the tokenizer needs a corpus with some text; every document is empty")
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(documents, trainer=trainer, length=len(documents))
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL, pad_token=SPECIAL, unk_token=SPECIAL,
        add_prefix_space=False, clean_up_tokenization_spaces=False,
    )


@dataclass(frozen=True)
class Coverage:
    """Which evaluation continuations are single tokens (leading space included)."""

    vocab_size: int
    the_is_one_token: bool
    ioi_names: tuple[int, int]  # (single-token, all) names of prompts/ioi/names.txt
    story_names: tuple[int, int]  # the same for the corpus's own names, prompts/lm/names.txt
    factual_facts: tuple[int, int]  # facts of prompts/factual/facts.jsonl whose answer is one token
    factual_answers: tuple[int, int]  # distinct answers that are one token
    factual_by_relation: dict[str, tuple[int, int]]  # facts whose answer is one token, per relation
    multi_token_answers: tuple[str, ...]  # the distinct answers that are not
    chars_per_token: float | None  # over the documents given to coverage(), when given


def _single(tokenizer: PreTrainedTokenizerFast, text: str) -> bool:
    return len(tokenizer.encode(text, add_special_tokens=False)) == 1


def coverage(tokenizer: PreTrainedTokenizerFast, documents: Sequence[str] = ()) -> Coverage:
    """How well ``tokenizer`` covers the evaluation (and, given ``documents``, its characters per token)."""
    from interp.lm.corpus import load_story_names
    from interp.tasks.factual import load_facts
    from interp.tasks.ioi import _read_lines, ioi_dir

    names = _read_lines(ioi_dir() / "names.txt")
    story = load_story_names()
    facts = load_facts()
    answers = sorted({f["answer"] for f in facts})
    one = {a for a in answers if _single(tokenizer, a)}
    per_token = None
    if documents:
        n_tokens = sum(len(ids) for ids in tokenizer(list(documents), add_special_tokens=False)["input_ids"])
        per_token = sum(map(len, documents)) / max(n_tokens, 1)
    return Coverage(
        vocab_size=len(tokenizer),
        the_is_one_token=_single(tokenizer, " the"),
        ioi_names=(sum(_single(tokenizer, " " + n) for n in names), len(names)),
        story_names=(sum(_single(tokenizer, " " + n) for n in story), len(story)),
        factual_facts=(sum(f["answer"] in one for f in facts), len(facts)),
        factual_answers=(len(one), len(answers)),
        factual_by_relation={
            r: (sum(f["answer"] in one for f in facts if f["relation"] == r), sum(f["relation"] == r for f in facts))
            for r in dict.fromkeys(f["relation"] for f in facts)
        },
        multi_token_answers=tuple(a for a in answers if a not in one),
        chars_per_token=per_token,
    )


def coverage_table(tokenizer: PreTrainedTokenizerFast, documents: Sequence[str] = ()) -> str:
    """:func:`coverage` as a markdown table."""
    c = coverage(tokenizer, documents)
    rows = [
        "| | single tokens |",
        "|---|---|",
        f'| " the" | {"yes" if c.the_is_one_token else "no"} |',
        f"| IOI task names (prompts/ioi/names.txt) | {c.ioi_names[0]} of {c.ioi_names[1]} |",
        f"| corpus story names (prompts/lm/names.txt) | {c.story_names[0]} of {c.story_names[1]} |",
        f"| factual answers, distinct | {c.factual_answers[0]} of {c.factual_answers[1]} |",
        f"| factual facts (answer one token) | {c.factual_facts[0]} of {c.factual_facts[1]} |",
        *(f"| ... of relation {r} | {n} of {total} |" for r, (n, total) in c.factual_by_relation.items()),
    ]
    if c.chars_per_token is not None:
        rows.append(f"| characters per token (corpus) | {c.chars_per_token:.2f} |")
    if c.multi_token_answers:
        rows.append(f"\nmulti-token answers: {', '.join(repr(a) for a in c.multi_token_answers)}")
    return "\n".join(rows)
