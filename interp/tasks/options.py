"""The task options every command that builds a prompt set shares."""

from __future__ import annotations

import typer

RelationsOpt = typer.Option(None, "--relations", help="factual: keep only these relations, e.g. located_in,capital_of")


def parse_relations(text: str | None) -> tuple[str, ...]:
    """``"located_in, capital_of"`` -> ("located_in", "capital_of"); None or empty -> () (every relation)."""
    return tuple(dict.fromkeys(part.strip() for part in (text or "").split(",") if part.strip()))
