"""What one weight intervention is: ``Edit(layer, matrix, kind, rho, k)``, and how users spell it.

Kinds:
    ``lowrank``     LASER: the matrix replaced by its rank-k SVD truncation, k = max(1, floor(rho * min(m, n)))
    ``remove_top``  LASER's complement: the top-k singular directions removed, the rest kept
                    (W minus its rank-k truncation); ``remove_top:K`` with an integer K, or
                    ``remove_top:RHO`` with a fraction in (0, 1) (k as for lowrank)
    ``random``      control: the matrix projected onto k random orthonormal directions (seeded) instead of
                    its top-k singular ones
    ``zero``     control: the matrix (and its bias, if any) set to 0
    ``mean``     control: the layer's MLP (``mlp_*``) or attention (``attn_*``) output replaced by its
                 mean vector over a reference text

Spellings (``Edit.parse``, the one parser): ``L:M:RHO`` is the short form of ``L:M:lowrank:RHO``;
in general ``L:M:KIND[:RHO]``, e.g. ``28:mlp_in:0.01``, ``28:mlp_in:zero``, ``28:mlp_in:random:0.01``,
``28:mlp_in:remove_top:2``.
Matrix names are architecture-neutral (``mlp_in``, ``mlp_gate``, ``mlp_out``, ``attn_q``,
``attn_k``, ``attn_v``, ``attn_o``); the registry maps them to each family's raw weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from interp.errors import UsageError
from interp.models.registry import ATTN_MATRICES, MLP_MATRICES

EditKind = Literal["lowrank", "remove_top", "random", "zero", "mean"]
KINDS: tuple[str, ...] = ("lowrank", "remove_top", "random", "zero", "mean")
RANKED_KINDS = ("lowrank", "remove_top", "random")  # kinds that need a rank (rho, or k for remove_top)
WEIGHT_KINDS = ("lowrank", "remove_top", "random", "zero")  # kinds that rewrite a weight (mean is a hook)
MATRICES: tuple[str, ...] = MLP_MATRICES + ATTN_MATRICES
SPELLING = "LAYER:MATRIX:RHO or LAYER:MATRIX:KIND[:RHO] (kinds: lowrank, remove_top, random, zero, mean)"


def check_rho(rho: float, *, upper_inclusive: bool = True) -> float:
    """The one rho rule: a fraction of the rank in (0, 1] (in (0, 1) when ``upper_inclusive`` is False)."""
    try:
        value = float(rho)
    except (TypeError, ValueError):
        raise UsageError(f"rho must be a number in (0, 1], got {rho!r}") from None
    ok = 0.0 < value <= 1.0 if upper_inclusive else 0.0 < value < 1.0
    if not ok:
        raise UsageError(f"rho must be in (0, {'1]' if upper_inclusive else '1)'}, got {rho}")
    return value


def check_matrix(matrix: str) -> str:
    """The one matrix-name rule: one of :data:`MATRICES`."""
    if matrix not in MATRICES:
        raise UsageError(f"unknown matrix {matrix!r}; choose from {', '.join(MATRICES)}")
    return matrix


def check_kind(kind: str) -> str:
    """The one edit-kind rule: one of :data:`KINDS`."""
    if kind not in KINDS:
        raise UsageError(f"unknown edit kind {kind!r}; choose from {', '.join(KINDS)}")
    return kind


def _format_rho(rho: float) -> str:
    return f"{rho:g}"


@dataclass(frozen=True)
class Edit:
    """One intervention on one matrix of one layer.

    ``rho`` for ``lowrank`` and ``random`` (and ``remove_top`` as a fraction); ``k`` (a number of
    singular directions) only for ``remove_top``.
    """

    layer: int
    matrix: str
    kind: str = "lowrank"
    rho: float | None = None
    k: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.layer, bool) or not isinstance(self.layer, int) or self.layer < 0:
            raise UsageError(f"layer must be an integer >= 0, got {self.layer!r}")
        check_matrix(self.matrix)
        check_kind(self.kind)
        if self.k is not None:
            if self.kind != "remove_top":
                raise UsageError(f"a {self.kind} edit takes a rho, not a number of directions k={self.k}")
            if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
                raise UsageError(f"remove_top needs k >= 1 directions, got {self.k!r}")
            if self.rho is not None:
                raise UsageError(f"give remove_top either k or rho, not both (k={self.k}, rho={self.rho})")
        elif self.kind in RANKED_KINDS:
            if self.rho is None:
                raise UsageError(f"a {self.kind} edit needs a rho in (0, 1], e.g. {self.layer}:{self.matrix}:{self.kind}:0.1")
            check_rho(self.rho, upper_inclusive=self.kind != "remove_top")
        elif self.rho is not None:
            raise UsageError(f"a {self.kind} edit takes no rho (got {self.rho}); write {self.layer}:{self.matrix}:{self.kind}")

    @property
    def is_weight_edit(self) -> bool:
        return self.kind in WEIGHT_KINDS

    @property
    def label(self) -> str:
        """The canonical spelling, e.g. ``28:mlp_in:lowrank:0.01`` or ``28:mlp_in:zero``."""
        tail = f":{self.k}" if self.k is not None else "" if self.rho is None else f":{_format_rho(self.rho)}"
        return f"{self.layer}:{self.matrix}:{self.kind}{tail}"

    def __str__(self) -> str:
        return self.label

    def to_json_value(self) -> str:
        return self.label

    @classmethod
    def from_json_value(cls, value: str | dict) -> Edit:
        return cls(**value) if isinstance(value, dict) else cls.parse(value)

    @classmethod
    def parse(cls, text: str) -> Edit:
        """``L:M:RHO`` (lowrank) or ``L:M:KIND[:RHO]``; UsageError naming the expected form."""
        parts = [p.strip() for p in str(text).strip().split(":")]
        if len(parts) not in (3, 4) or not all(parts):
            raise UsageError(f"cannot parse edit {text!r}; expected {SPELLING}")
        layer_text, matrix = parts[0], parts[1]
        try:
            layer = int(layer_text)
        except ValueError:
            raise UsageError(f"edit {text!r}: layer {layer_text!r} is not an integer; expected {SPELLING}") from None
        kind, rho_text = (parts[2], parts[3] if len(parts) == 4 else None)
        if rho_text is None and kind not in KINDS:
            kind, rho_text = "lowrank", parts[2]  # the short form L:M:RHO
            if not is_number(rho_text):
                raise UsageError(f"edit {text!r}: unknown edit kind {parts[2]!r}; choose from {', '.join(KINDS)}")
        rho = k = None
        if rho_text is not None:
            if not is_number(rho_text):
                raise UsageError(f"edit {text!r}: rho {rho_text!r} is not a number; expected {SPELLING}")
            if kind == "remove_top" and rho_text.isdigit():
                k = int(rho_text)  # remove_top:K, a number of directions
            else:
                rho = float(rho_text)
        return cls(layer=layer, matrix=matrix, kind=kind, rho=rho, k=k)


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def parse_edits(texts: Iterable[str | Edit]) -> tuple[Edit, ...]:
    """Parse several edit spellings (parsed :class:`Edit` s pass through); reject two edits of the same (layer, matrix)."""
    if isinstance(texts, (str, Edit)):
        texts = [texts]
    edits = []
    for t in texts:
        if isinstance(t, Edit):
            edits.append(t)
        elif isinstance(t, str):
            edits.append(Edit.parse(t))
        else:
            raise UsageError(f"an edit is a string such as '28:mlp_in:0.01' or an Edit, got {type(t).__name__}")
    edits = tuple(edits)
    check_distinct(edits)
    return edits


def check_distinct(edits: Sequence[Edit]) -> None:
    seen: dict[tuple[int, str], Edit] = {}
    for edit in edits:
        key = (edit.layer, edit.matrix)
        if key in seen:
            raise UsageError(f"two edits of layer {edit.layer} {edit.matrix}: {seen[key].label} and {edit.label}; give one per matrix")
        seen[key] = edit


#: The ``edit`` value of unedited rows in tables that list several edits side by side (checkpoint sweeps).
NO_EDIT = "none"


def edits_label(edits: Sequence[Edit]) -> str:
    """``baseline`` for no edit, else the edits' labels joined by ``+``."""
    return "+".join(e.label for e in edits) if edits else "baseline"
