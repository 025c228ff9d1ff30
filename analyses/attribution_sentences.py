"""Print the first N sentences of Tiny Shakespeare, one per line (prompts for ``interp attribution``).

Speaker lines ("First Citizen:") are dropped, each speech's lines are joined, and the text is
split after ``.``, ``!`` or ``?``; sentences of MIN..MAX words are kept, in order. Reads the
team's shared copy (``interp.paths.shared_data_dir()``); writes nothing.

    python analyses/attribution_sentences.py --n 200 > /tmp/shakespeare200.txt
"""

from __future__ import annotations

import argparse
import re

from interp.paths import shared_data_dir


def sentences(text: str, n: int, min_words: int, max_words: int) -> list[str]:
    speeches, current = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line or (line.endswith(":") and len(line.split()) <= 3):
            if current:
                speeches.append(" ".join(current))
            current = []
            continue
        current.append(line)
    if current:
        speeches.append(" ".join(current))
    out = []
    for speech in speeches:
        for sentence in re.split(r"(?<=[.!?])\s+", speech):
            if min_words <= len(sentence.split()) <= max_words:
                out.append(sentence)
                if len(out) == n:
                    return out
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--min-words", type=int, default=6)
    parser.add_argument("--max-words", type=int, default=30)
    args = parser.parse_args()
    path = shared_data_dir() / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        raise SystemExit(f"{path} not found; set INTERP_SHARED_DATA to the folder holding tinyshakespeare/input.txt")
    for sentence in sentences(path.read_text(encoding="utf-8"), args.n, args.min_words, args.max_words):
        print(sentence)


if __name__ == "__main__":
    main()
