"""Every relative link in the front page, the docs and the results pages points at something that exists.

Checked: ``README.md``, ``docs/*.md`` and ``results/**/README.md``. A link is ``[text](target)``,
``![alt](target)`` or a reference definition ``[name]: target``, outside code blocks and code
spans; web links (``http(s)://``, ``mailto:``) are left alone. The target, relative to the page,
must be an existing file or folder; a ``#anchor`` into a markdown page (or the page itself) must
name one of its headings, slugged as GitHub does.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", flags=re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1", flags=re.S)
_INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", flags=re.M)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", flags=re.M)


def doc_pages(root: Path = ROOT) -> list[Path]:
    pages = [root / "README.md", *sorted((root / "docs").glob("*.md")), *sorted((root / "results").rglob("README.md"))]
    return [p for p in pages if p.is_file()]


def _strip_code(text: str) -> str:
    return _CODE_SPAN.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """The link targets of a markdown text, code blocks and code spans left out."""
    prose = _strip_code(text)
    return [m.group(1) for m in _INLINE.finditer(prose)] + [m.group(1) for m in _REFERENCE.finditer(prose)]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, with GitHub's -1, -2 ... suffixes for repeated headings."""
    seen: dict[str, int] = {}
    out = set()
    for match in _HEADING.finditer(re.sub(_FENCE, "", text)):
        base = slug(match.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(page: Path) -> list[str]:
    """The links of ``page`` that do not resolve, each as 'target (why)'."""
    text = page.read_text(encoding="utf-8")
    bad = []
    for target in links(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, flags=re.I):  # http:, https:, mailto:, ...
            continue
        path_part, _, anchor = target.partition("#")
        resolved = page if not path_part else (page.parent / path_part).resolve()
        if not resolved.exists():
            bad.append(f"{target} (no such file: {resolved})")
            continue
        if anchor and resolved.is_file() and resolved.suffix == ".md" and anchor not in anchors(resolved.read_text(encoding="utf-8")):
            bad.append(f"{target} (no heading #{anchor} in {resolved.name})")
    return bad


def test_the_pages_are_found():
    names = {p.relative_to(ROOT).as_posix() for p in doc_pages()}
    assert "README.md" in names
    assert any(n.startswith("docs/") for n in names)
    assert any(n.startswith("results/") for n in names)


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    assert broken_links(page) == []


def test_the_checker_finds_broken_links(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# Title\n\n## Some `code`: here\n", encoding="utf-8")
    page = tmp_path / "README.md"
    page.write_text(
        "[ok](docs/a.md) [ok anchor](docs/a.md#some-code-here) ![ok](docs) [web](https://example.org/x)\n"
        "[missing](docs/b.md) [bad anchor](docs/a.md#nope) [self](#title)\n"
        "`[in code](nowhere.md)`\n\n```\n[in a block](nowhere.md)\n```\n\n[ref]: docs/missing.md\n",
        encoding="utf-8",
    )
    bad = broken_links(page)
    assert [b.split(" ")[0] for b in bad] == ["docs/b.md", "docs/a.md#nope", "#title", "docs/missing.md"]
