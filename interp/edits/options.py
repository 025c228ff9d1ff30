"""The edit options every command shares: ``--laser L:M:RHO`` and ``--edit L:M:KIND[:RHO]`` (repeatable)."""

from __future__ import annotations

import typer

from interp.edits.spec import Edit, is_number, parse_edits

LaserOpt = typer.Option(
    None, "--laser", help="LAYER:MATRIX:RHO, a LASER edit (rank-k SVD truncation); repeatable"
)
EditOpt = typer.Option(
    None, "--edit", help="LAYER:MATRIX:KIND[:RHO] with KIND lowrank, remove_top, random, zero or mean (e.g. 28:mlp_in:zero); repeatable"
)


def edits_from_options(laser: list[str] | None, edit: list[str] | None) -> tuple[Edit, ...]:
    """``--laser L:M:RHO`` (short for lowrank) and ``--edit L:M:KIND[:RHO]``, parsed and checked for duplicates."""
    texts = list(laser or [])
    for text in texts:
        parts = text.split(":")
        if len(parts) != 3 or not is_number(parts[2]):
            raise typer.BadParameter(f"--laser takes LAYER:MATRIX:RHO, got {text!r}; use --edit for other kinds")
    return parse_edits(texts + list(edit or []))
