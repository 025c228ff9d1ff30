"""One loader for every model source: hub names, Pythia checkpoints, local folders, embedded models, toy runs.

``load_model(spec)`` takes a spec string or a parsed :class:`~interp.models.spec.ModelSpec` and
returns a :class:`HookedModel`, the one loaded-model interface every command and edit uses.

Pretrained models are booted through TransformerLens's ``TransformerBridge.boot_transformers`` with
raw weights (no LayerNorm folding, no centring), so edits act on the matrices the model really
uses. Toy models (:mod:`interp.toy`) are TransformerLens-style ``HookedRootModule`` s with the
same hook names; they join the architecture registry as the ``interp-toy`` family.

Sources whose loader lives above this package (toy runs: the trainer that writes them) are
found through :data:`SOURCE_LOADERS`, a registry of ``"module:function"`` entries imported on
first use, so this package never imports the packages that produce models.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformer_lens.model_bridge import TransformerBridge
from transformer_lens.model_bridge.sources._hf_format import determine_architecture_from_hf_config
from transformer_lens.model_bridge.sources.transformers.helpers import get_hf_model_class_for_architecture
from transformers.utils import logging as hf_logging

from interp.errors import UsageError
from interp.models.checkpoints import check_loading_info, check_step, local_steps
from interp.models.embedded import EMBEDDED, embedded_model
from interp.models.registry import ARCHITECTURES, TOY_FAMILY, ArchSpec, arch_for
from interp.models.spec import ModelSpec, read_config_json
from interp.models.tokens import PromptTokenizer

log = logging.getLogger(__name__)

#: model sources loaded outside this package: ``ModelSpec.source`` -> ``"module:function"``, a
#: function ``(spec, device, dtype) -> HookedModel`` imported on first use (see :func:`register_source`)
SOURCE_LOADERS: dict[str, str | Callable[..., HookedModel]] = {"toy": "interp.toy.checkpoint:load_hooked"}


def register_source(source: str, loader: str | Callable[..., HookedModel]) -> None:
    """Load specs of ``source`` with ``loader`` (a function, or ``"module:function"`` imported on first use)."""
    SOURCE_LOADERS[source] = loader


def _source_loader(source: str) -> Callable[..., HookedModel] | None:
    entry = SOURCE_LOADERS.get(source)
    if isinstance(entry, str):
        module, _, name = entry.partition(":")
        entry = getattr(importlib.import_module(module), name)
        SOURCE_LOADERS[source] = entry
    return entry


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"``/None -> CUDA when available, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError:
        raise UsageError(f"unknown device {device!r}; use cpu, cuda, cuda:N or auto") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda was asked for but no CUDA GPU is available; use --device cpu")
    return resolved


@dataclass
class HookedModel:
    """A loaded model: the hooked module, its tokenizer policy, its registry entry and its spec.

    ``bridge`` is the hooked module every activation is read from by hook name: a TransformerLens
    ``TransformerBridge`` for pretrained models, the toy transformer (a ``HookedRootModule``
    with the same hook names) for toy runs. ``tokenizer`` is None for toy models (they read token
    ids); ``run_config`` is the toy run's config (None otherwise).
    """

    bridge: Any  # TransformerBridge | interp.toy.model.ToyTransformer
    tokenizer: PromptTokenizer | None
    arch: ArchSpec
    spec: ModelSpec
    run_config: Any = None  # interp.toy.configs.RunConfig for toy models

    @property
    def raw_model(self) -> nn.Module:
        """The module holding the raw weights edits act on (the HF model under the bridge, or the toy model)."""
        module = self.bridge
        for part in filter(None, self.arch.root.split(".")):
            module = getattr(module, part)
        return module

    @property
    def is_toy(self) -> bool:
        return self.arch.model_type == TOY_FAMILY

    @property
    def n_layers(self) -> int:
        return int(self.bridge.cfg.n_layers)

    @property
    def n_ctx(self) -> int | None:
        """The context length in tokens (None when the model's config does not say)."""
        n_ctx = getattr(self.bridge.cfg, "n_ctx", None)
        return int(n_ctx) if n_ctx else None

    @property
    def device(self) -> torch.device:
        return next(self.raw_model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.raw_model.parameters()).dtype

    @cached_property
    def raw_blocks(self) -> nn.ModuleList:
        module = self.raw_model
        for part in self.arch.blocks_path.split("."):
            module = getattr(module, part)
        return module

    def check_layer(self, layer: int) -> int:
        if not 0 <= layer < self.n_layers:
            raise UsageError(f"layer {layer} is out of range: {self.spec.display} has layers 0..{self.n_layers - 1}")
        return layer


def check_context(
    model: HookedModel,
    lengths: Sequence[int],
    *,
    label: Callable[[int], str],
    fix: str,
    reserve: int = 0,
    reserve_label: str = "",
) -> None:
    """The one context-length check: UsageError when a sequence of ``lengths[i]`` tokens (plus
    ``reserve``, e.g. the tokens still to generate) does not fit the model's context.

    The message names the longest such sequence (``label(i)``), how many more there are, and ``fix``.
    """
    n_ctx = model.n_ctx
    if n_ctx is None:
        return
    too_long = [i for i, n in enumerate(lengths) if n + reserve > n_ctx]
    if not too_long:
        return
    i = max(too_long, key=lambda j: (lengths[j], -j))
    plus = f" plus {reserve_label} {reserve}" if reserve else ""
    more = f" (and {len(too_long) - 1} more)" if len(too_long) > 1 else ""
    raise UsageError(
        f"{label(i)} is {lengths[i]} tokens{plus}, longer than the model's context of {n_ctx} tokens "
        f"({model.spec.display}){more}; {fix}"
    )


def _is_model_folder(path: Path) -> bool:
    return (path / "config.json").is_file()


def _local_folder(spec: ModelSpec) -> Path:
    path = Path(spec.name)
    steps = local_steps(path)
    if spec.step is not None:
        if not steps:
            raise UsageError(f"{path} holds no step*/ model folders, so --checkpoint {spec.step} cannot be found")
        return steps[check_step(spec.step, list(steps), str(path))]
    if not _is_model_folder(path):
        hint = f" (it holds step*/ checkpoints: pass --checkpoint, one of {list(steps)[:5]}...)" if steps else ""
        raise UsageError(f"{path} is not a model folder: no config.json{hint}")
    return path


def _model_type(folder: Path) -> str:
    config = read_config_json(folder)
    if config is None:
        raise UsageError(f"{folder} is not a model folder: no config.json")
    if "model_type" not in config:
        raise UsageError(f"{folder} is not a Hugging Face model folder: config.json has no model_type")
    return str(config["model_type"])


#: files any one of which holds a tokenizer's vocabulary (a folder with none loads an empty tokenizer)
TOKENIZER_FILES: tuple[str, ...] = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")

#: config.json size fields (across the supported families) that must be integers >= 1 when given
_SIZE_KEYS: tuple[str, ...] = (
    "n_layer", "num_hidden_layers", "n_embd", "hidden_size", "d_model", "n_head", "num_attention_heads",
    "num_key_value_heads", "n_inner", "intermediate_size", "head_dim", "vocab_size", "n_positions",
    "max_position_embeddings", "n_ctx",
)


def check_config_sizes(folder: Path, config: dict[str, Any]) -> None:
    """UsageError naming the first size in ``config.json`` that is not an integer >= 1 (None means default)."""
    for key in _SIZE_KEYS:
        value = config.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise UsageError(
                f"{folder / 'config.json'}: {key} is {value!r}, but model sizes must be integers >= 1; "
                f"restore the config.json the weights were saved with"
            )


def check_tokenizer_files(folder: Path) -> None:
    """UsageError when ``folder`` holds none of :data:`TOKENIZER_FILES` (checked before any weights load)."""
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise UsageError(
            f"{folder} has no tokenizer files (none of {', '.join(TOKENIZER_FILES)}); copy the tokenizer "
            f"files of the model it was trained from into it (e.g. tokenizer.json and tokenizer_config.json)"
        )


class _WholeWeights:
    """``model_class`` for ``boot_transformers``: the class TransformerLens would pick, loaded with
    ``output_loading_info=True`` so that a checkpoint not matching its config is refused (see
    :func:`check_loading_info`) instead of being completed with random tensors."""

    def __init__(self, where: str) -> None:
        self.where = where

    def from_pretrained(self, name: str, **kwargs: Any) -> nn.Module:
        model_class = get_hf_model_class_for_architecture(determine_architecture_from_hf_config(kwargs["config"]))
        model, info = model_class.from_pretrained(name, output_loading_info=True, **kwargs)
        check_loading_info(info, self.where)
        return model


@contextmanager
def quiet_progress() -> Iterator[None]:
    """Hide transformers' progress bars ("Loading weights", "Writing model shards"); our own bars stay."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _boot(name_or_path: str, device: torch.device, dtype: torch.dtype, revision: str | None) -> TransformerBridge:
    local = Path(name_or_path).is_dir()
    try:
        with quiet_progress():
            return TransformerBridge.boot_transformers(
                name_or_path, device=device, dtype=dtype, revision=revision, model_class=_WholeWeights(name_or_path)
            )
    except UsageError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure to read a local folder's files is the user's to fix
        if not local and not isinstance(err, (OSError, ValueError, KeyError)):
            raise
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if local:
            raise UsageError(
                f"could not load the model folder {name_or_path} ({type(err).__name__}: {first[:160]}); "
                f"its weights or config may be truncated or corrupt: restore or re-download that folder"
            ) from None
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        where = f" at revision {revision}" if revision else ""
        raise UsageError(
            f"could not load {name_or_path}{where} ({first[:200]}); the hub may be unreachable or the name unknown: "
            f"use a local model folder or one of {', '.join('embedded:' + k for k in EMBEDDED)}"
        ) from None


def load_model(
    spec: str | ModelSpec,
    checkpoint: str | int | None = None,
    *,
    device: str | torch.device | None = "auto",
    dtype: torch.dtype = torch.float32,
) -> HookedModel:
    """Load a hooked model from any source (see the module docstring), raw weights, eval mode."""
    parsed = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec, checkpoint)
    dev = resolve_device(device)
    loader = _source_loader(parsed.source)
    if loader is not None:
        return loader(parsed, dev, dtype)
    prepend_bos: bool | None = None
    revision = None
    if parsed.source == "embedded":
        entry = embedded_model(parsed.name)
        folder = entry.folder()
        name_or_path = str(folder)
        prepend_bos = entry.prepend_bos
    elif parsed.source == "local":
        folder = _local_folder(parsed)
        _model_type(folder)  # clear error for folders that are not HF models
        check_config_sizes(folder, read_config_json(folder) or {})
        check_tokenizer_files(folder)
        name_or_path = str(folder)
    else:
        name_or_path = parsed.name
        revision = None if parsed.step is None else f"step{parsed.step}"
    log.info("loading %s on %s", parsed.display, dev)
    bridge = _boot(name_or_path, dev, dtype, revision)
    bridge.eval()
    model_type = str(bridge.original_model.config.model_type)
    arch = arch_for(model_type)
    tokenizer = bridge.tokenizer
    if tokenizer is None or len(tokenizer) < 2 or not tokenizer.encode("The city of", add_special_tokens=False):
        raise UsageError(
            f"{parsed.display} has no working tokenizer (it encodes text to nothing); a model folder needs the "
            f"tokenizer files of the model it was trained from (e.g. tokenizer.json and tokenizer_config.json)"
        )
    policy = arch.prepend_bos if prepend_bos is None else prepend_bos
    # One tokenization everywhere: the bridge's own string methods (calling it on text, to_tokens,
    # run_with_cache, generate) prepend BOS exactly when interp does.
    bridge.cfg.default_prepend_bos = policy
    return HookedModel(bridge=bridge, tokenizer=PromptTokenizer(tokenizer, policy), arch=arch, spec=parsed)


def wrap_toy(toy: nn.Module, run_config: Any = None, spec: ModelSpec | None = None) -> HookedModel:
    """A toy transformer held in memory (e.g. just trained) as a :class:`HookedModel`, so edits apply to it."""
    spec = spec if spec is not None else ModelSpec("toy", f"<in-memory {type(toy).__name__}>")
    return HookedModel(bridge=toy, tokenizer=None, arch=ARCHITECTURES[TOY_FAMILY], spec=spec, run_config=run_config)
