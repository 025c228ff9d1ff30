"""Apply edits to a model in place, and restore its weights bit-identical on exit.

``with apply_edits(model, edits, svd_cache=cache) as report:`` rewrites each edited matrix
in place (no model copy), checks that exactly the intended matrices changed, and on exit —
normal or through an exception — copies every saved original back. ``mean`` edits are
hooks, added through the bridge's own hook context manager and removed on exit too.

A ``lowrank`` edit at full rank (rho = 1) is an exact no-op: the weight is not touched.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import torch
from jaxtyping import Float
from torch import Tensor

from interp.edits.controls import constant_output_hook, direction_seed, random_rank
from interp.edits.lowrank import rank_for, svd
from interp.edits.spec import Edit, check_distinct, parse_edits
from interp.edits.svd_cache import SVDCache
from interp.edits.weights import MatrixHandle, resolve
from interp.errors import UsageError
from interp.models.loading import HookedModel

log = logging.getLogger(__name__)

#: (layer, "mlp" | "attn") -> the mean output vector a ``mean`` edit substitutes
MeanVectors = Mapping[tuple[int, str], Float[Tensor, " d_model"]]


def sublayer(matrix: str) -> str:
    """``"mlp"`` or ``"attn"``: the sublayer a matrix belongs to."""
    return "attn" if matrix.startswith("attn_") else "mlp"


def output_hook_name(layer: int, matrix: str) -> str:
    """The hook on the output of the sublayer holding ``matrix``."""
    return f"blocks.{layer}.hook_{sublayer(matrix)}_out"


@dataclass
class EditReport:
    """What an ``apply_edits`` block did."""

    edits: tuple[Edit, ...]
    ranks: dict[str, int | None] = field(default_factory=dict)  # edit label -> k kept (None: not a rank edit)
    n_matrices_edited: int = 0  # weight matrices whose values changed
    n_hooks: int = 0  # mean-replacement hooks added


def target_rank(handle: MatrixHandle, edit: Edit) -> int | None:
    """The k an edit keeps (lowrank, random) or removes (remove_top); None for zero and mean."""
    if edit.k is not None:
        return min(edit.k, min(handle.shape))
    return rank_for(float(edit.rho), handle.shape) if edit.rho is not None else None


def new_weight(
    handle: MatrixHandle, edit: Edit, *, svd_cache: SVDCache | None = None, seed: int = 0
) -> Float[Tensor, "out in"] | None:
    """The matrix ``edit`` writes (float32), or None when the edit leaves the weight as it is."""
    k = target_rank(handle, edit)
    full = min(handle.shape)
    if edit.kind == "lowrank":
        if k >= full:
            return None  # rank-full truncation is the identity: do not touch the weight
        W = handle.read()
        decomposition = svd_cache.get(handle.key, W) if svd_cache is not None else svd(W)
        return decomposition.reconstruct(k)
    if edit.kind == "remove_top":  # W minus its rank-k truncation: the top-k directions removed
        W = handle.read().to(torch.float32)
        if k >= full:
            return torch.zeros_like(W)
        decomposition = svd_cache.get(handle.key, W) if svd_cache is not None else svd(W)
        return W - decomposition.reconstruct(k)
    if edit.kind == "random":
        return random_rank(handle.read(), k, direction_seed(seed, edit.layer, edit.matrix))
    if edit.kind == "zero":
        return torch.zeros(handle.shape, dtype=torch.float32, device=handle.weight.device)
    return None  # mean: a hook, not a weight


def _storage_key(t: Tensor) -> int:
    return t.untyped_storage().data_ptr()


class _BlockSnapshot:
    """Copies of the parameters of some blocks, to check afterwards which storages changed."""

    def __init__(self, model: HookedModel, layers: set[int]) -> None:
        self.tensors: dict[int, tuple[Tensor, Tensor]] = {}
        for layer in sorted(layers):
            for param in model.raw_blocks[layer].parameters():
                key = _storage_key(param)
                if key not in self.tensors or param.numel() > self.tensors[key][0].numel():
                    self.tensors[key] = (param, param.detach().clone())

    def changed(self) -> set[int]:
        return {key for key, (live, copy) in self.tensors.items() if not torch.equal(live, copy)}

    def original(self, t: Tensor) -> Tensor | None:
        entry = self.tensors.get(_storage_key(t))
        return None if entry is None or entry[0].shape != t.shape else entry[1]


def _check_changes(snapshot: _BlockSnapshot, touched: list[MatrixHandle], expected: set[int]) -> None:
    """Raise unless the changed storages are exactly ``expected`` and no entry outside the edited parts changed.

    Several edits may share one fused tensor (GPT-2's ``c_attn`` holds q, k and v): the check
    compares each fused tensor outside the union of all its edited parts.
    """
    changed = snapshot.changed()
    if changed != expected:
        raise RuntimeError(
            f"edit changed {len(changed)} weight tensors, expected {len(expected)}: the registry "
            f"entry points at the wrong tensor or tensors share storage unexpectedly"
        )
    edited_parts: dict[int, tuple[MatrixHandle, Tensor]] = {}
    for handle in touched:
        if handle.ref.fused == "none":
            continue
        key = _storage_key(handle.weight)
        mask = handle.part_mask()
        if key in edited_parts:
            mask = mask | edited_parts[key][1]
        edited_parts[key] = (handle, mask)
    for handle, mask in edited_parts.values():
        before = snapshot.original(handle.weight)
        if before is not None and not torch.equal(handle.weight.detach()[~mask], before[~mask]):
            raise RuntimeError(f"editing layer {handle.layer} {handle.matrix} changed other parts of its fused tensor")


def check_edits(model: HookedModel, edits: Sequence[Edit | str]) -> tuple[Edit, ...]:
    """The edits parsed; UsageError for one this model cannot take (layer out of range, a matrix its family lacks, duplicates).

    An edit whose rank this matrix cannot give is returned as what will run, with a warning
    (:func:`clip_rank`): callers label their results with the returned edits.
    """
    edits = parse_edits(edits)
    clipped = tuple(clip_rank(resolve(model, edit.layer, edit.matrix), edit) for edit in edits)
    check_distinct(clipped)
    return clipped


def clip_rank(handle: MatrixHandle, edit: Edit) -> Edit:
    """``edit`` as it runs on ``handle``'s matrix, with a warning when that differs from what was asked:
    ``remove_top:K`` with K above the matrix's rank removes all of them (labelled with the rank), a rho
    below one direction keeps one (labelled with the rho of one direction)."""
    full = min(handle.shape)
    if edit.kind == "remove_top" and edit.k is not None and edit.k > full:
        ran = Edit(edit.layer, edit.matrix, edit.kind, k=full)
        log.warning("%s asks for more directions than the matrix's rank %d: all %d are removed; labelled %s", edit.label, full, full, ran.label)
        return ran
    if edit.kind in ("lowrank", "random") and edit.rho is not None and edit.rho * full + 1e-9 < 1:
        ran = Edit(edit.layer, edit.matrix, edit.kind, rho=1 / full)
        log.warning("%s keeps less than one of the matrix's %d directions: one is kept; labelled %s", edit.label, full, ran.label)
        return ran
    return edit


def _plan(model: HookedModel, edits: Sequence[Edit], means: MeanVectors | None) -> list[tuple[Edit, MatrixHandle]]:
    check_distinct(edits)
    plan = []
    for edit in edits:
        handle = resolve(model, edit.layer, edit.matrix)  # UsageError: layer range, matrix name
        if edit.kind == "mean" and (means is None or (edit.layer, sublayer(edit.matrix)) not in means):
            raise UsageError(
                f"{edit.label}: a mean edit needs the layer's mean {sublayer(edit.matrix)} output over a "
                f"reference text; none was computed (pass --lm-text or use the sweep's controls)"
            )
        plan.append((edit, handle))
    return plan


@contextmanager
def apply_edits(
    model: HookedModel,
    edits: Sequence[Edit | str] | Edit | str,
    *,
    svd_cache: SVDCache | None = None,
    means: MeanVectors | None = None,
    seed: int = 0,
    verify: bool = True,
) -> Iterator[EditReport]:
    """Within the block, ``model`` runs with ``edits`` applied; on exit its weights are restored bit for bit.

    ``edits`` are :class:`~interp.edits.spec.Edit` values or their spellings (``"28:mlp_in:0.01"``).

    ``svd_cache`` reuses SVDs across calls (sweeps); ``means`` supplies the vectors of
    ``mean`` edits; ``seed`` draws the ``random`` edits' directions. With ``verify`` the
    parameters of the edited blocks are compared before and after writing, and a
    RuntimeError is raised unless exactly the intended matrices changed.
    """
    if not isinstance(model, HookedModel):
        raise TypeError(f"apply_edits needs a loaded model (interp.load_model(...)), got {type(model).__name__}")
    edits = parse_edits(edits)
    plan = _plan(model, edits, means)
    report = EditReport(edits=edits)
    saved: list[tuple[MatrixHandle, Tensor, Tensor | None]] = []  # (handle, weight part, bias part)
    hooks = []
    with ExitStack() as stack:
        try:
            weight_plan = [(e, h) for e, h in plan if e.is_weight_edit]
            snapshot = _BlockSnapshot(model, {e.layer for e, _ in weight_plan}) if verify and weight_plan else None
            expected: set[int] = set()
            touched: list[MatrixHandle] = []
            with torch.no_grad():
                for edit, handle in plan:
                    report.ranks[edit.label] = target_rank(handle, edit)
                    if edit.kind == "mean":
                        hooks.append((output_hook_name(edit.layer, edit.matrix), constant_output_hook(means[(edit.layer, sublayer(edit.matrix))])))
                        continue
                    W = new_weight(handle, edit, svd_cache=svd_cache, seed=seed)
                    if W is None:
                        continue
                    old_w, old_b = handle.read(), handle.read_bias()
                    saved.append((handle, old_w, old_b))
                    handle.write(W)
                    if not torch.equal(handle.read(), old_w):
                        expected.add(_storage_key(handle.weight))
                        report.n_matrices_edited += 1
                    touched.append(handle)
                    if edit.kind == "zero" and old_b is not None:
                        handle.write_bias(torch.zeros_like(old_b))
                        if not torch.equal(handle.read_bias(), old_b):
                            expected.add(_storage_key(handle.bias))
            if snapshot is not None:
                _check_changes(snapshot, touched, expected)
                del snapshot
            if hooks:
                stack.enter_context(model.bridge.hooks(fwd_hooks=hooks))
                report.n_hooks = len(hooks)
            log.debug("applied %s: %d matrices, %d hooks", [e.label for e in edits], report.n_matrices_edited, report.n_hooks)
            yield report
        finally:
            with torch.no_grad():
                for handle, old_w, old_b in reversed(saved):
                    handle.write(old_w)
                    if old_b is not None:
                        handle.write_bias(old_b)
