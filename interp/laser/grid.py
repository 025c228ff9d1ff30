"""The grid of a sweep: which layers, matrices, rhos and edit kinds, parsed from the command line.

Kept free of torch and model imports, so the CLI can validate options quickly.
"""

from __future__ import annotations

from dataclasses import dataclass

from interp.errors import UsageError
from interp.edits.spec import Edit

Config = tuple[Edit, ...]  # edits applied together; () is the unedited baseline
DEFAULT_RHOS = (0.9, 0.5, 0.25, 0.1, 0.05, 0.01, 0.005)
DEFAULT_MATRICES = ("mlp_in", "mlp_out")
DEFAULT_LM_TOKENS = 4096  # reference-text tokens scored per config for the LM cost
LM_CONTEXT = 128  # tokens per reference-text context


def parse_layers(text: str, n_layers: int) -> tuple[int, ...]:
    """``all``, ``last-third``, ``A:B`` (half-open; either end optional; negatives count from the end) or ``L1,L2``."""
    spec = text.strip().lower()
    if spec == "all":
        return tuple(range(n_layers))
    if spec in ("last-third", "last_third"):
        return tuple(range(n_layers - max(1, n_layers // 3), n_layers))
    try:
        if ":" in spec:
            start_text, _, stop_text = spec.partition(":")
            start = int(start_text) if start_text.strip() else 0
            stop = int(stop_text) if stop_text.strip() else n_layers
            start = start + n_layers if start < 0 else start
            stop = stop + n_layers if stop < 0 else stop
            layers = tuple(range(start, stop))
        else:
            layers = tuple(int(p) for p in spec.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"--layers must be all, last-third, A:B or a list like 20,25,29; got {text!r}") from None
    if not layers:
        raise UsageError(f"--layers {text!r} selects no layer (the model has layers 0..{n_layers - 1}): the grid is empty")
    for layer in layers:
        if not 0 <= layer < n_layers:
            raise UsageError(f"layer {layer} is out of range: the model has {n_layers} layers (0..{n_layers - 1})")
    return tuple(sorted(set(layers)))


def parse_floats(text: str, what: str = "--rhos") -> tuple[float, ...]:
    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        raise UsageError(f"{what} must be comma-separated numbers like 0.5,0.1,0.01; got {text!r}") from None
    if not values:
        raise UsageError(f"{what} is empty: the grid has no config")
    return values


def parse_names(text: str, what: str = "--matrices") -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    if not names:
        raise UsageError(f"{what} is empty: the grid has no config")
    return names


@dataclass(frozen=True)
class Grid:
    """Single-edit configs: every layer x matrix x (rho for rank kinds). Kinds ``lowrank`` plus any controls."""

    layers: tuple[int, ...]
    matrices: tuple[str, ...]
    rhos: tuple[float, ...]
    kinds: tuple[str, ...] = ("lowrank",)

    def __post_init__(self) -> None:
        if not self.layers or not self.matrices or not self.kinds:
            raise UsageError("the grid is empty: give at least one layer, matrix and rho")
        if any(k in ("lowrank", "random") for k in self.kinds) and not self.rhos:
            raise UsageError("the grid is empty: give at least one rho")
        for rho in self.rhos:
            if not 0.0 < rho <= 1.0:
                raise UsageError(f"rho must be in (0, 1], got {rho}")

    def configs(self) -> list[Config]:
        out: list[Config] = []
        for layer in self.layers:
            for matrix in self.matrices:
                for kind in self.kinds:
                    if kind in ("lowrank", "random"):
                        out.extend((Edit(layer, matrix, kind, rho),) for rho in self.rhos)
                    else:
                        out.append((Edit(layer, matrix, kind),))
        return out


