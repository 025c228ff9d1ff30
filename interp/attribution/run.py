"""``interp attribution``: maps at every scope for prompts and layers, scores, figures.

    DIR/config.json             the :class:`AttributionRun` config
    DIR/maps.npz                per prompt p, layer L, scope S: ``pPPPP/LLL/S`` the (T, T) map
                                (output i, input j; zero above the diagonal), ``pPPPP/LLL/S/heads``
                                (heads, T, T) for ATTN-W and ATTN-N; ``pPPPP/ids``, ``pPPPP/tokens``,
                                ``pPPPP/words`` (word index per token, -1 for none)
    DIR/summary.json            per layer: completeness errors per component, Spearman between
                                scopes, FF amplification by pair category (with counts)
    DIR/layer{L}_{scope}.png    heatmaps of the first prompt, one per layer and scope
    DIR/summary.png             Spearman and amplification by layer
    DIR/maps.html               circuitsvis view of the first prompt: every (layer, scope) as a "head"
"""

from __future__ import annotations

import logging
import time
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from interp.attribution.attribute import attribute_batch
from interp.attribution.ig import path_gradient
from interp.attribution.layout import (
    AMPLIFIED_SCOPES,
    HEAD_SCOPES,
    SCOPE_PAIRS,
    SCOPES,
    BlockLayout,
    check_supported,
    layer_weights,
)
from interp.attribution.scores import CATEGORIES, ScoreBook, pair_categories, word_ids
from interp.edits.grid import LayerSpec
from interp.errors import UsageError
from interp.io import atomic_path, config_from_dict, read_json, read_text_file, to_jsonable, write_json
from interp.models.loading import HookedModel, check_context, load_model
from interp.models.spec import DEFAULT_SPEC, ModelSpec
from interp.resources import check_time, format_duration
from interp.scoring.forward import make_batches
from interp.store import RunStore, flat_config_reader

log = logging.getLogger(__name__)


#: The longest prompt line read (characters): far beyond any supported model's context, and checked
#: before tokenizing, so a huge one-line file is refused at once instead of filling the memory.
MAX_PROMPT_CHARS = 1_000_000


def read_prompts_file(path: str | Path) -> list[str]:
    """One prompt per non-blank line (a UTF-8 text file, lines of at most :data:`MAX_PROMPT_CHARS`)."""
    text = read_text_file(
        path, "--prompts", "a text file with one prompt per line", max_line_chars=MAX_PROMPT_CHARS,
        line_limit_reason=" (a prompt is at most a model's context, a few thousand tokens)",
    )
    prompts = [line.strip() for line in text.splitlines() if line.strip()]
    if not prompts:
        raise UsageError(f"--prompts {path} holds no prompt; give a text file with one prompt per line")
    return prompts


@dataclass(frozen=True)
class AttributionRun:
    """Everything that defines one attribution run (written to ``config.json``).

    Holds parsed values only and reads no file: the prompts file and a local model's architecture
    are checked when the run starts (:func:`run_attribution`), so a saved config loads on any machine.
    """

    out: str
    model: ModelSpec = DEFAULT_SPEC
    prompt: str | None = None
    prompts_file: str | None = None
    layers: LayerSpec = LayerSpec("all")
    ig_steps: int = 32
    batch_size: int = 8
    device: str = "auto"

    def __post_init__(self) -> None:
        if not isinstance(self.model, ModelSpec):
            raise UsageError(f"AttributionRun.model must be a ModelSpec (ModelSpec.parse('...')), got {type(self.model).__name__}")
        if not isinstance(self.layers, LayerSpec):
            raise UsageError(f"AttributionRun.layers must be a LayerSpec (LayerSpec.parse('all')), got {type(self.layers).__name__}")
        if (self.prompt is None) == (self.prompts_file is None):
            raise UsageError("give exactly one of --prompt TEXT or --prompts FILE")
        if self.prompt is not None and not self.prompt.strip():
            raise UsageError("--prompt is empty; give some text, e.g. --prompt 'The cat sat on the mat.'")
        if self.ig_steps < 1:
            raise UsageError(f"--ig-steps must be >= 1 (points on the integrated-gradients path), got {self.ig_steps}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AttributionRun:
        """The config from ``config.json`` (extra keys such as ``model_display`` are ignored)."""
        return config_from_dict(cls, data)

    def prompts(self) -> list[str]:
        return [self.prompt.strip()] if self.prompt is not None else read_prompts_file(self.prompts_file)


def _check_architecture(spec: ModelSpec) -> None:
    """A local folder's architecture is known before loading anything: UsageError when attribution does not cover it."""
    if spec.source == "local":
        config = Path(spec.name) / "config.json"
        if config.is_file():
            model_type = read_json(config).get("model_type")
            if model_type is not None:
                check_supported(str(model_type))


def _check_lengths(model: HookedModel, encoded: list[list[int]]) -> None:
    check_context(model, [len(ids) for ids in encoded], label=lambda k: f"prompt {k}", fix="shorten or split it")
    for k, ids in enumerate(encoded):
        if len(ids) == 0:
            raise UsageError(f"prompt {k} has no tokens; give some text")


class _NpzStream:
    """Arrays written one by one into an open ``.npz`` (a zip of ``.npy``)."""

    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.zip = archive

    def add(self, key: str, array: np.ndarray) -> None:
        with self.zip.open(f"{key}.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array(f, np.asanyarray(array), allow_pickle=False)


@dataclass
class FirstPrompt:
    """The maps of the first prompt, kept for the heatmaps and the HTML view."""

    tokens: list[str]
    maps: dict[int, dict[str, np.ndarray]]


COMMAND = "attribution"
HOW_TO_RUN = ("out", "device", "batch_size")  # not defining: a rerun with other values replaces the run
FIELD_NAMES = {f.name: "--" + f.name.replace("_", "-") for f in fields(AttributionRun)} | {"prompts_file": "--prompts"}


def defining_fields(config: AttributionRun) -> dict[str, Any]:
    """What the folder's run is: every option but :data:`HOW_TO_RUN` (the prompts file by content, an input)."""
    return {k: v for k, v in to_jsonable(config).items() if k not in HOW_TO_RUN and k != "prompts_file"}


def _input_files(config: AttributionRun) -> dict[str, Path]:
    return {} if config.prompts_file is None else {"prompts_file": Path(config.prompts_file).expanduser()}


#: A ``config.json`` attribution wrote before the run-folder store (the flat config).
_legacy = flat_config_reader(COMMAND, AttributionRun.from_dict, ("ig_steps", "layers", "prompt", "prompts_file"),
                             defining_fields, _input_files)


def run_store(out: str | Path) -> RunStore:
    """The run folder of ``interp attribution`` at ``out``."""
    return RunStore(out, command=COMMAND, field_names=FIELD_NAMES, legacy=_legacy)


def run_attribution(config: AttributionRun, *, force: bool = False) -> dict[str, Any]:
    """Run the decomposition over every prompt and layer; write the run folder; return summary.json's content.

    The output folder is checked writable, locked (one writer) and checked by the output-folder
    rule (:mod:`interp.store`: new, empty, or an attribution run of the same options, which is
    made again) before the model is loaded; a run whose integrated gradients are estimated to take
    over a day is refused before any work unless ``force``.
    """
    prompts = config.prompts()  # the input files are read when the run starts, not when the config is built
    _check_architecture(config.model)
    store = run_store(config.out)
    with store.hold():
        store.check(defining_fields(config), _input_files(config))
        return _run_attribution(config, prompts, store, force=force)


#: Path points x activations timed to measure the integrated-gradients rate on the model's device.
_CALIBRATION_ELEMENTS = 1 << 22
#: Below this many IG elements the run is short whatever the rate: not timed.
_TIMED_ABOVE = 1 << 31


def ig_seconds(model: HookedModel, act: Any, encoded: list[list[int]], n_layers: int, ig_steps: int, gated: bool) -> float:
    """An estimate of the integrated gradients' time: their elements (steps x tokens x d_mlp x layers,
    twice for a gated MLP) at the rate of one timed chunk on the model's device; 0 for a small run."""
    elements = float(ig_steps) * sum(map(len, encoded)) * int(model.bridge.cfg.d_mlp) * n_layers * (2 if gated else 1)
    if elements < _TIMED_ABOVE:
        return 0.0
    z = torch.randn(_CALIBRATION_ELEMENTS // 8, device=model.device)
    t0 = time.perf_counter()
    path_gradient(act, z, 8)
    if z.device.type == "cuda":
        torch.cuda.synchronize(z.device)
    return elements * (time.perf_counter() - t0) / _CALIBRATION_ELEMENTS


def _run_attribution(config: AttributionRun, prompts: list[str], store: RunStore, *, force: bool = False) -> dict[str, Any]:
    out = store.root
    model = load_model(config.model, device=config.device)
    layout = BlockLayout.of(model)
    layers = config.layers.resolve(model.n_layers)
    encoded = [model.tokenizer.encode_prompt(p) for p in prompts]
    _check_lengths(model, encoded)
    weights = {layer: layer_weights(model, layer) for layer in layers}
    seconds = ig_seconds(model, weights[layers[0]].act, encoded, len(layers), config.ig_steps, layout.gated)
    check_time(seconds, f"--ig-steps {config.ig_steps} over {len(layers)} layers and {sum(map(len, encoded))} tokens",
               force=force, fix="use fewer --ig-steps (32 is accurate to ~1e-3), layers or prompts")
    if seconds > 60:
        log.info("integrated gradients: ~%s estimated", format_duration(seconds))
    store.start(defining_fields(config), _input_files(config), {**to_jsonable(config), "model_display": model.spec.display})
    store.ran_on(model.device, model.dtype)

    words = [word_ids(model.tokenizer.tokenizer, p, ids) for p, ids in zip(prompts, encoded)]
    book = ScoreBook(layers)
    first: FirstPrompt | None = None
    batches = make_batches(model, prompts, config.batch_size)
    t0 = time.perf_counter()
    # maps.npz is streamed into a temporary file, renamed into place only when every map is in it
    with atomic_path(out / "maps.npz") as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        npz = _NpzStream(archive)
        for k, ids in enumerate(encoded):
            npz.add(f"p{k:04d}/ids", np.asarray(ids, dtype=np.int64))
            npz.add(f"p{k:04d}/tokens", np.asarray([model.tokenizer.decode(t) for t in ids]))
            npz.add(f"p{k:04d}/words", np.asarray([-1 if w is None else w for w in words[k]], dtype=np.int64))
        bar = tqdm(total=len(batches) * len(layers), desc="attribution", unit="layer", disable=len(batches) * len(layers) < 2)
        for batch in batches:
            lengths = batch.attention_mask.sum(1).tolist()
            for layer, result in attribute_batch(model, batch, layers, config.ig_steps, layout=layout, weights=weights):
                bar.update()
                for row, (k, n) in enumerate(zip(batch.indices, lengths)):
                    maps = {s: result.maps[s][row, :n, :n].float().cpu().numpy() for s in SCOPES}
                    for s in SCOPES:
                        npz.add(f"p{k:04d}/L{layer:02d}/{s}", maps[s])
                    for s in HEAD_SCOPES:
                        npz.add(f"p{k:04d}/L{layer:02d}/{s}/heads", result.head_maps[s][row, :, :n, :n].float().cpu().numpy())
                    errors = {c: float(e[row, :n].max()) for c, e in result.errors.items()}
                    book.add(layer, maps, pair_categories(words[k]), errors)
                    if k == 0:
                        if first is None:
                            first = FirstPrompt([model.tokenizer.decode(t) for t in encoded[0]], {})
                        first.maps[layer] = maps
                del result
        bar.close()
    seconds = time.perf_counter() - t0
    book.n_prompts = len(prompts)

    scores = book.summary()
    summary = {
        "model": model.spec.display,
        "architecture": layout.to_dict(),
        "n_prompts": len(prompts),
        "n_tokens": int(sum(len(e) for e in encoded)),
        "layers": list(layers),
        "ig_steps": config.ig_steps,
        "scopes": list(SCOPES),
        "scope_pairs": [f"{a}->{b}" for a, b in SCOPE_PAIRS],
        "amplified_scopes": list(AMPLIFIED_SCOPES),
        "categories": list(CATEGORIES),
        "seconds": seconds,
        **scores,
    }
    write_json(out / "summary.json", summary)

    from interp.attribution.plots import write_figures  # matplotlib only when figures are drawn

    assert first is not None
    write_figures(out, summary, first.tokens, first.maps)
    store.finish()
    return summary


def format_summary(summary: dict[str, Any]) -> str:
    """The lines ``interp attribution`` prints."""
    worst = summary["worst_completeness_error"]
    across = summary["across_layers"]
    lines = [
        f"{summary['model']}: {summary['n_prompts']} prompts, {summary['n_tokens']} tokens, "
        f"layers {summary['layers'][0]}..{summary['layers'][-1]} ({len(summary['layers'])}), IG steps {summary['ig_steps']}",
        f"worst completeness error (relative): {worst['value']:.3g} (layer {worst['layer']}, {worst['component']})",
        "Spearman between scopes (mean over layers of the mean over prompts):",
    ]
    for pair, value in across["spearman"].items():
        lines.append(f"  {pair:24s} {_fmt(value)}")
    lines.append("FF amplification: mean log2(share / share in ATB) of pairs j < i (mean over layers):")
    lines.append(f"  {'scope':12s}" + "".join(f"{c:>16s}" for c in CATEGORIES))
    for scope, cats in across["amplification_mean_log2_ratio"].items():
        lines.append(f"  {scope:12s}" + "".join(f"{_fmt(cats[c]):>16s}" for c in CATEGORIES))
    lines.append("share of each row outside the diagonal (mean over layers): "
                 + ", ".join(f"{sc} {v:.3f}" for sc, v in across["offdiag_share"].items() if v is not None))
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3f}"

