"""``python -m interp.lm.report``: a corpus's sources and its tokenizers' coverage of the evaluation, as tables.

Apart from :mod:`interp.lm.corpus` because it needs the tokenizer, which reads the corpus's name lists.
"""

from __future__ import annotations

from collections.abc import Sequence

from interp.errors import UsageError
from interp.lm.corpus import DEFAULT_SOURCES, CorpusConfig, build_corpus, source_table


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m interp.lm.report [--source S ...] [--fact-repeats N ...] [--vocab N ...]``: a corpus's sources and its
    tokenizers' coverage of the evaluation (the default corpus at vocabularies 4096 and 2048 without options)."""
    import argparse
    import time

    from interp.lm.tokenizer import coverage_table, train_tokenizer

    parser = argparse.ArgumentParser(prog="python -m interp.lm.report", description=main.__doc__)
    parser.add_argument("--source", action="append", help=f"a corpus source (repeat); default: {' '.join(DEFAULT_SOURCES)}")
    defaults = CorpusConfig()
    for field in ("max_chars", "seed", "fact_repeats", "ioi_stories", "people_docs"):
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, default=getattr(defaults, field))
    parser.add_argument("--vocab", type=int, nargs="*", default=[4096, 2048], help="tokenizer vocabulary sizes to report")
    args = parser.parse_args(argv)
    try:
        config = CorpusConfig(
            sources=tuple(args.source) if args.source else DEFAULT_SOURCES, max_chars=args.max_chars, seed=args.seed,
            fact_repeats=args.fact_repeats, ioi_stories=args.ioi_stories, people_docs=args.people_docs,
        )
    except UsageError as err:
        parser.exit(2, f"error: {err}\n")
    start = time.perf_counter()
    try:
        corpus = build_corpus(config)
    except UsageError as err:
        parser.exit(2, f"error: {err}\n")
    built = time.perf_counter() - start
    print(source_table(corpus))
    print(f"\nbuild_corpus: {built:.1f} s")
    for vocab in args.vocab:
        start = time.perf_counter()
        tokenizer = train_tokenizer(corpus.documents, vocab)
        print(f"\ntokenizer, vocabulary {vocab} (trained in {time.perf_counter() - start:.1f} s):")
        print(coverage_table(tokenizer, corpus.documents))



if __name__ == "__main__":
    main()
