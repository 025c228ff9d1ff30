"""The ``--laser LAYER:MATRIX:RHO`` seam: an edit string -> a context manager on a loaded checkpoint.

Every step of a sweep is evaluated once without edits (edit ``"none"``) and once with each
``--laser`` edit on its own. Hugging Face checkpoints are edited with :mod:`interp.laser`
(``apply_edits``: the raw weights rewritten in place, restored bit-identical on exit); toy
checkpoints with the toy trainer's ``truncate_mlp``. The functions here are the only places
that know about either.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, ContextManager

from interp.errors import UsageError

NO_EDIT = "none"


def _canonical(spec: str, kind: str) -> str:
    """The one spelling of an edit (so ``1:mlp_in:0.1`` and ``1:mlp_in:lowrank:0.1`` are the same edit)."""
    if kind == "toy":
        from interp.toy.interventions import parse_laser

        layer, matrix, rho = parse_laser(spec)
        return f"{layer}:{matrix}:{rho:g}"
    from interp.edits.spec import Edit

    return Edit.parse(spec).label


def check_edits(specs: Sequence[str], kind: str) -> tuple[str, ...]:
    """Validate ``--laser`` strings for a source of ``kind`` ("hf" or "toy"); return their canonical spellings.

    Hugging Face checkpoints take every spelling of :class:`interp.edits.spec.Edit`
    (``L:M:RHO``, ``L:M:KIND[:RHO]``); toy runs take ``L:mlp_in|mlp_out:RHO``. Layer numbers
    are checked against the model when the first checkpoint is loaded.
    """
    edits = []
    for spec in specs:
        if spec.strip() == NO_EDIT:
            raise UsageError(f"--laser {NO_EDIT!r} is reserved for the unedited model; give LAYER:MATRIX:RHO")
        edits.append(_canonical(spec.strip(), kind))
    if len(set(edits)) != len(edits):
        raise UsageError(f"--laser lists the same edit twice: {', '.join(specs)}")
    return tuple(edits)


def edit_context(loaded: Any, spec: str) -> ContextManager[Any]:
    """A context manager that applies edit ``spec`` to ``loaded.model`` and restores it on exit."""
    if spec == NO_EDIT:
        return contextlib.nullcontext(loaded.model)
    if loaded.kind == "toy":
        from interp.toy.interventions import parse_laser, truncate_mlp

        layer, matrix, rho = parse_laser(spec)
        return truncate_mlp(loaded.model, layer, matrix, rho)
    from interp.edits.apply import apply_edits
    from interp.edits.spec import Edit

    return apply_edits(loaded.model, [Edit.parse(spec)])
