"""Derive the committed character bigram table of Tiny Shakespeare.

Reads ``../shared/data/tinyshakespeare/input.txt`` (resolved from the repository root,
i.e. next to the checkout) and writes ``interp/toy/shakespeare_bigram.json``: the 65
characters in sorted order, their unigram counts and the 65x65 bigram counts
(``bigram_counts[i][j]`` = number of times character j follows character i). The toy
trainer derives its probabilities from these counts, so it works where the text is absent.

    python analyses/make_bigram_table.py [--input PATH] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUT = REPO_ROOT.parent / "shared" / "data" / "tinyshakespeare" / "input.txt"
DEFAULT_OUT = REPO_ROOT / "interp" / "toy" / "shakespeare_bigram.json"


def bigram_table(text: str) -> dict:
    """Characters, unigram counts and bigram counts of ``text`` as a JSON-ready dict."""
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    unigrams = Counter(text)
    pairs = Counter(zip(text[:-1], text[1:]))
    counts = [[0] * len(chars) for _ in chars]
    for (a, b), n in pairs.items():
        counts[index[a]][index[b]] = n
    return {
        "source": "tinyshakespeare/input.txt",
        "n_chars": len(text),
        "chars": chars,
        "unigram_counts": [unigrams[c] for c in chars],
        "bigram_counts": counts,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.input.is_file():
        raise SystemExit(f"input text not found: {args.input}")
    table = bigram_table(args.input.read_text(encoding="utf-8"))
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(table['chars'])} characters from {table['n_chars']} characters of text")


if __name__ == "__main__":
    main()
