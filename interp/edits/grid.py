"""The grid of a sweep: which layers, matrices, rhos and edit kinds, parsed from the command line.

``LayerSpec`` (``--layers``: ``all``, ``last-third``, ``A:B``, ``L1,L2``) is what configs hold;
:func:`check_grid` is the one check of a grid's matrices, rhos and kinds, used by :class:`Grid`
and by every config that holds a grid before its model (and so its layers) is known.
Kept free of torch and model imports, so the CLI can validate options quickly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TypeVar

from interp.edits.spec import RANKED_KINDS, Edit, check_kind, check_matrix, check_rho
from interp.errors import UsageError

log = logging.getLogger(__name__)
T = TypeVar("T")

Config = tuple[Edit, ...]  # edits applied together; () is the unedited baseline
DEFAULT_RHOS = (0.9, 0.5, 0.25, 0.1, 0.05, 0.01, 0.005)
DEFAULT_MATRICES = ("mlp_in", "mlp_out")


@dataclass(frozen=True)
class LayerSpec:
    """Which layers: ``all``, ``last-third``, ``A:B`` (half-open; either end optional; negatives count
    from the end) or a list ``L1,L2``. Parsed once; :meth:`resolve` turns it into layer numbers
    once the model's depth is known."""

    text: str = "all"

    @classmethod
    def parse(cls, text: str) -> LayerSpec:
        spec = cls(str(text).strip().lower().replace("last_third", "last-third"))
        spec._bounds()  # syntax errors now, range errors when resolved
        return spec

    def _bounds(self) -> tuple[str, tuple[int, ...]]:
        spec = self.text
        if spec in ("all", "last-third"):
            return spec, ()
        try:
            if ":" in spec:
                for end in spec.partition(":")[::2]:
                    if end.strip():
                        int(end)
                return "range", ()
            layers = tuple(int(p) for p in spec.split(",") if p.strip())
        except ValueError:
            raise UsageError(f"--layers must be all, last-third, A:B or a list like 20,25,29; got {self.text!r}") from None
        if not layers:
            raise UsageError(f"--layers {self.text!r} selects no layer: give all, last-third, A:B or a list like 20,25,29")
        return "list", layers

    def resolve(self, n_layers: int) -> tuple[int, ...]:
        """The sorted distinct layers of a model with ``n_layers`` layers; UsageError when out of range or empty."""
        kind, values = self._bounds()
        if kind == "all":
            return tuple(range(n_layers))
        if kind == "last-third":
            return tuple(range(n_layers - max(1, n_layers // 3), n_layers))
        if kind == "range":
            start_text, _, stop_text = self.text.partition(":")
            start = int(start_text) if start_text.strip() else 0
            stop = int(stop_text) if stop_text.strip() else n_layers
            start = start + n_layers if start < 0 else start
            stop = stop + n_layers if stop < 0 else stop
            layers = tuple(range(start, stop))
        else:
            layers = merge_duplicates(values, "--layers")
        if not layers:
            raise UsageError(f"--layers {self.text!r} selects no layer (the model has layers 0..{n_layers - 1}): the grid is empty")
        for layer in layers:
            if not 0 <= layer < n_layers:
                raise UsageError(f"layer {layer} is out of range: the model has {n_layers} layers (0..{n_layers - 1})")
        return tuple(sorted(set(layers)))

    def to_json_value(self) -> str:
        return self.text

    @classmethod
    def from_json_value(cls, value: str) -> LayerSpec:
        return cls.parse(value)

    def __str__(self) -> str:
        return self.text


def parse_layers(text: str, n_layers: int) -> tuple[int, ...]:
    """The layers ``text`` names in a model of ``n_layers`` layers (see :class:`LayerSpec`)."""
    return LayerSpec.parse(text).resolve(n_layers)


def parse_floats(text: str, what: str = "--rhos") -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"{what} must be comma-separated numbers like 0.5,0.1,0.01; got {text!r}") from None
    if not values:
        raise UsageError(f"{what} is empty: the grid has no config")
    return merge_duplicates(values, what)


def parse_names(text: str, what: str = "--matrices") -> tuple[str, ...]:
    names = tuple(p.strip() for p in text.split(",") if p.strip())
    if not names:
        raise UsageError(f"{what} is empty: the grid has no config")
    return merge_duplicates(names, what)


def merge_duplicates(values: tuple[T, ...], what: str) -> tuple[T, ...]:
    """The one rule for repeated grid values (``--rhos 0.5,0.5``): each config is run once, with a warning
    naming the repeats (a repeat would evaluate the same config twice)."""
    unique = tuple(dict.fromkeys(values))
    if len(unique) < len(values):
        repeated = [v for v in unique if values.count(v) > 1]
        log.warning("%s lists %s more than once; each is run once", what, ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in repeated))
    return unique


def check_grid(
    layers: LayerSpec | tuple[int, ...], matrices: tuple[str, ...], rhos: tuple[float, ...], kinds: tuple[str, ...] = ("lowrank",)
) -> None:
    """The one check of a grid: its layers (a :class:`LayerSpec` in a config, whose range is checked
    once the model's depth is known; layer numbers in a :class:`Grid`), matrices, rhos and kinds."""
    if not isinstance(layers, (LayerSpec, tuple)):
        raise UsageError(f"a grid's layers must be a LayerSpec (LayerSpec.parse('all')), got {type(layers).__name__}")
    if not layers or not matrices or not kinds:
        raise UsageError("the grid is empty: give at least one layer, matrix and rho")
    for matrix in matrices:
        check_matrix(matrix)
    for kind in kinds:
        check_kind(kind)
    if any(k in RANKED_KINDS for k in kinds) and not rhos:
        raise UsageError("the grid is empty: give at least one rho")
    for rho in rhos:
        check_rho(rho)


@dataclass(frozen=True)
class Grid:
    """Single-edit configs: every layer x matrix x (rho for rank kinds). Kinds ``lowrank`` plus any controls."""

    layers: tuple[int, ...]
    matrices: tuple[str, ...]
    rhos: tuple[float, ...]
    kinds: tuple[str, ...] = ("lowrank",)

    def __post_init__(self) -> None:
        check_grid(self.layers, self.matrices, self.rhos, self.kinds)

    def configs(self) -> list[Config]:
        out: list[Config] = []
        for layer in self.layers:
            for matrix in self.matrices:
                for kind in self.kinds:
                    if kind == "remove_top":  # the complement of lowrank at the same rank; rho = 1 would remove everything
                        out.extend((Edit(layer, matrix, kind, rho),) for rho in self.rhos if rho < 1.0)
                    elif kind in RANKED_KINDS:
                        out.extend((Edit(layer, matrix, kind, rho),) for rho in self.rhos)
                    else:
                        out.append((Edit(layer, matrix, kind),))
        return out


