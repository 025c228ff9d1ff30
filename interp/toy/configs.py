"""Frozen configs of a toy run (data, model, optimiser) and the papers' named presets.

A :class:`RunConfig` fully determines a run: it is written as ``config.json`` next to every
checkpoint and read back by :func:`RunConfig.from_dict`, both through :mod:`interp.io` (the one
JSON serialiser of configs). ``__post_init__`` only validates;
bad user input raises :class:`interp.errors.UsageError`.

Presets (:func:`preset`):
    chen   Chen, Bruna & Bietti (ICLR 2025), noisy in-context recall: d 256, MLP width 1024 in
           both layers, one head, frozen random embeddings/unembedding/positions, identity
           W_Q, SGD lr 0.03 momentum 0.9 wd 1e-4, batch 512, 5000 steps, p = 0.5, loss on the
           trigger occurrences from the second on.
    birth  Bietti et al. (NeurIPS 2023), trigger bigrams: d 128, one head, no MLP, frozen
           random embeddings/unembedding/positions, identity W_Q, SGD lr 0.2 momentum 0.9
           wd 1e-4, batch 512, K = 3 triggers sampled per sequence, loss on the trigger
           occurrences from the second on (as in the paper's Figure 3 runs).
    Neither paper fixes the step count of birth: it trains 1000 steps by default.

Both presets draw a trigger's output uniformly over all characters, the trigger included
(``data.trigger_output = "uniform"``, as in both papers' code). The model is the papers'
``simplified`` architecture above, except for the one-layer ``birth`` model, whose default is
the ``standard`` layer (LayerNorm, MLP, trainable embeddings, unembedding, positions and W_Q,
AdamW): the Birth paper's one-layer baseline is an ordinary transformer layer, not its
simplified model. ``arch=`` picks either explicitly (:data:`ARCHS`).

Configs written before these two fields existed (no ``data.trigger_output``, no
``model.arch``) were trained with outputs other than the trigger and the simplified model;
:meth:`RunConfig.from_dict` reads them so (:data:`LEGACY_DEFAULTS`).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from interp.errors import UsageError
from interp.io import config_from_dict, to_jsonable
from interp.models.spec import TOY_FORMAT
from interp.overrides import apply_overrides
from interp.toy.bigram import shakespeare_bigram

TASKS = ("noisy-recall", "trigger-bigram")
PRESETS = ("chen", "birth")
OPTIMIZERS = ("sgd", "adamw")
POS_EMBEDS = ("random", "learned")
LOSS_ON = ("all", "icl")
#: How a trigger's output is drawn: over all N characters (the papers'), or over the N - 1 others.
TRIGGER_OUTPUTS = ("uniform", "exclude_trigger")
#: ``simplified``: the papers' analysable model (switches below set one by one); ``standard``:
#: an ordinary pre-LayerNorm transformer layer with an MLP and every weight trained.
ARCHS = ("simplified", "standard")
#: Values of fields that older run configs lack: what those runs were trained with.
LEGACY_DEFAULTS = {"data": {"trigger_output": "exclude_trigger"}, "model": {"arch": "simplified"}}


@dataclass(frozen=True)
class DataConfig:
    """Which sequences the generator draws.

    task            "noisy-recall" (vocabulary of the 65 characters plus a noise token) or
                    "trigger-bigram" (the 65 characters)
    seq_len         T, tokens the model reads per sequence
    n_triggers      K trigger tokens per sequence
    fixed_triggers  triggers are the K most frequent characters; else sampled per sequence
                    from the unigram marginal, without replacement
    noise           probability p that a trigger is followed by the noise token instead of
                    its output (noisy-recall only; 0 for trigger-bigram)
    trigger_output  "uniform": each trigger's output is drawn uniformly over all N characters,
                    so it equals the trigger with probability 1/N (the papers'); or
                    "exclude_trigger": uniformly over the N - 1 other characters
    """

    task: str = "noisy-recall"
    seq_len: int = 256
    n_triggers: int = 1
    fixed_triggers: bool = True
    noise: float = 0.5
    trigger_output: str = "uniform"

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise UsageError(f"unknown task {self.task!r}; choose one of {', '.join(TASKS)}")
        if self.trigger_output not in TRIGGER_OUTPUTS:
            raise UsageError(
                f"data.trigger_output must be one of {', '.join(TRIGGER_OUTPUTS)}, got {self.trigger_output!r}"
            )
        if not (0.0 <= self.noise < 1.0) or math.isnan(self.noise):
            raise UsageError(f"noise must be in [0, 1), got {self.noise}")
        if self.task == "trigger-bigram" and self.noise != 0.0:
            raise UsageError("noise applies to the noisy-recall task only; use --noise 0 with trigger-bigram")
        if self.seq_len < 2:
            raise UsageError(f"seq_len must be at least 2, got {self.seq_len}")
        n_chars = shakespeare_bigram().n_chars
        if not (1 <= self.n_triggers <= n_chars):
            raise UsageError(f"n_triggers must be between 1 and the vocabulary size {n_chars}, got {self.n_triggers}")

    @classmethod
    def from_json_value(cls, value: dict[str, Any]) -> DataConfig:
        """From ``config.json``; a field older configs lack takes :data:`LEGACY_DEFAULTS`."""
        return _nested(cls, {**LEGACY_DEFAULTS["data"], **value})

    @property
    def n_chars(self) -> int:
        return shakespeare_bigram().n_chars

    @property
    def vocab_size(self) -> int:
        return self.n_chars + (1 if self.task == "noisy-recall" else 0)

    @property
    def noise_token(self) -> int | None:
        """Id of the noise token (N, after the N characters), or None for trigger-bigram."""
        return self.n_chars if self.task == "noisy-recall" else None


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of the toy transformer (weights named as in TransformerLens).

    arch            "simplified" (the papers' model; the switches below may be set one by one)
                    or "standard" (an ordinary pre-LayerNorm layer: requires layernorm, an MLP
                    in every layer, trainable embeddings, unembedding, learned positions and
                    W_Q, no memory model; see :func:`standard_model_fields`)
    mlp             one flag per layer: that layer has an MLP
    identity_query  W_Q is the identity (per head slice) and is not trained, as in the papers
    memory_model    the Birth paper's simplified model: train only W_K of layers 1 and 2 and
                    W_O of layer 2 (blocks.0.attn.W_K, blocks.1.attn.W_K, blocks.1.attn.W_O)
    """

    n_layers: int = 2
    d_model: int = 128
    n_heads: int = 1
    d_vocab: int = 66
    n_ctx: int = 256
    mlp: tuple[bool, ...] = (True, True)
    d_mlp: int = 512
    layernorm: bool = False
    freeze_embed: bool = True
    freeze_unembed: bool = True
    pos_embed: str = "random"
    identity_query: bool = True
    memory_model: bool = False
    arch: str = "simplified"

    def __post_init__(self) -> None:
        if self.n_layers < 1:
            raise UsageError(f"n_layers must be at least 1, got {self.n_layers}")
        if len(self.mlp) != self.n_layers:
            raise UsageError(f"mlp needs one flag per layer ({self.n_layers}), got {list(self.mlp)}")
        if self.d_model < 1 or self.n_heads < 1 or self.d_model % self.n_heads:
            raise UsageError(f"d_model ({self.d_model}) must be a positive multiple of n_heads ({self.n_heads})")
        if any(self.mlp) and self.d_mlp < 1:
            raise UsageError(f"d_mlp must be positive, got {self.d_mlp}")
        if self.d_vocab < 2 or self.n_ctx < 2:
            raise UsageError("d_vocab and n_ctx must be at least 2")
        if self.pos_embed not in POS_EMBEDS:
            raise UsageError(f"pos_embed must be one of {', '.join(POS_EMBEDS)}, got {self.pos_embed!r}")
        if self.memory_model and self.n_layers != 2:
            raise UsageError("memory_model is the two-layer model of the Birth paper; set n_layers = 2")
        if self.arch not in ARCHS:
            raise UsageError(f"model.arch must be one of {', '.join(ARCHS)}, got {self.arch!r}")
        if self.arch == "standard":
            expected = standard_model_fields(self.n_layers)
            wrong = [f"{k}={getattr(self, k)!r}" for k, v in expected.items() if getattr(self, k) != v]
            if wrong:
                raise UsageError(
                    f"model.arch 'standard' is a pre-LayerNorm layer with an MLP and every weight trained, "
                    f"but {', '.join(wrong)}; use model.arch=simplified (--arch simplified) to change these switches"
                )

    @classmethod
    def from_json_value(cls, value: dict[str, Any]) -> ModelConfig:
        """From ``config.json``; a field older configs lack takes :data:`LEGACY_DEFAULTS`."""
        value = {**LEGACY_DEFAULTS["model"], **value}
        if "mlp" in value:
            value["mlp"] = [bool(x) for x in value["mlp"]]
        return _nested(cls, value)

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser and schedule: SGD with momentum or AdamW, constant learning rate."""

    optimizer: str = "sgd"
    lr: float = 0.03
    momentum: float = 0.9
    weight_decay: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.99)
    batch_size: int = 512
    steps: int = 5000

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UsageError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if not self.lr > 0:
            raise UsageError(f"lr must be positive, got {self.lr}")
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be positive, got {self.batch_size}")
        if self.steps < 0:
            raise UsageError(f"steps must be non-negative, got {self.steps}")

    @classmethod
    def from_json_value(cls, value: dict[str, Any]) -> OptimConfig:
        return _nested(cls, value)


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines a toy run.

    loss_on       "all" tokens, or "icl": only the trigger occurrences from the second on
    eval_every    evaluate and append to metrics.jsonl every this many steps
    eval_sequences  size of the fixed clean test batch used for the metrics
    """

    name: str = "chen"
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    loss_on: str = "icl"
    seed: int = 0
    eval_every: int = 50
    eval_sequences: int = 256

    def __post_init__(self) -> None:
        if self.loss_on not in LOSS_ON:
            raise UsageError(f"loss_on must be one of {', '.join(LOSS_ON)}, got {self.loss_on!r}")
        if self.eval_every < 1:
            raise UsageError(f"eval_every must be positive, got {self.eval_every}")
        if self.eval_sequences < 1:
            raise UsageError(f"eval_sequences must be positive, got {self.eval_sequences}")
        if self.model.d_vocab != self.data.vocab_size:
            raise UsageError(
                f"model.d_vocab ({self.model.d_vocab}) must equal the {self.data.task} vocabulary ({self.data.vocab_size})"
            )
        if self.model.n_ctx < self.data.seq_len:
            raise UsageError(f"model.n_ctx ({self.model.n_ctx}) must be at least data.seq_len ({self.data.seq_len})")

    def to_dict(self) -> dict[str, Any]:
        """``config.json``'s content: the fields as :func:`interp.io.to_jsonable` writes them, and the toy format."""
        return {"format": TOY_FORMAT, **to_jsonable(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict` (through :func:`interp.io.config_from_dict`); ignores the ``format``
        and ``step`` keys of checkpoint configs and the run's ``provenance``.

        Fields that configs written before them lack take :data:`LEGACY_DEFAULTS` (what those
        runs were trained with), not today's defaults.
        """
        return _nested(cls, {k: v for k, v in d.items() if k not in ("format", "step", "provenance")}, required=("data", "model", "optim"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


def _nested(cls: type, value: Any, required: tuple[str, ...] = ()) -> Any:
    """``cls`` from its JSON object by :func:`interp.io.config_from_dict`; UsageError for a missing or unknown field."""
    if not isinstance(value, dict):
        raise UsageError(f"not a toy run config: {cls.__name__} must be a JSON object, got {value!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(value) - names)
    missing = [k for k in required if k not in value]
    if unknown or missing:
        what = f"unknown field(s) {', '.join(unknown)}" if unknown else f"missing field(s) {', '.join(missing)}"
        raise UsageError(f"not a toy run config: {cls.__name__} has {what}")
    return config_from_dict(cls, value)


def standard_model_fields(n_layers: int) -> dict[str, Any]:
    """The :class:`ModelConfig` fields that make a model ``standard``: pre-LayerNorm, an MLP in every
    layer, trainable token embeddings, unembedding, learned positions and W_Q."""
    return {
        "mlp": (True,) * n_layers,
        "layernorm": True,
        "freeze_embed": False,
        "freeze_unembed": False,
        "pos_embed": "learned",
        "identity_query": False,
        "memory_model": False,
    }


#: The optimiser of ``standard`` models: AdamW as in the Birth code's generic transformer
#: (albietz/transformer-birth, ihead_full_main.py: betas 0.9/0.99, weight decay 0.01), at lr 1e-3.
STANDARD_OPTIM: dict[str, Any] = {"optimizer": "adamw", "lr": 1e-3, "weight_decay": 0.01, "betas": (0.9, 0.99)}


def default_arch(name: str, n_layers: int) -> str:
    """The papers' architecture for a preset: ``standard`` for the one-layer ``birth`` model (the
    Birth paper's one-layer baseline is an ordinary layer), ``simplified`` otherwise."""
    return "standard" if name == "birth" and n_layers == 1 else "simplified"


def preset(
    name: str,
    task: str | None = None,
    *,
    n_layers: int = 2,
    steps: int | None = None,
    noise: float | None = None,
    seed: int = 0,
    arch: str | None = None,
) -> RunConfig:
    """The named config ``chen`` or ``birth`` for ``task`` (default: the preset's own task).

    ``arch`` (default :func:`default_arch`): ``simplified`` keeps the preset's model and SGD;
    ``standard`` turns on LayerNorm and an MLP in every layer (width ``d_mlp``), trains every
    weight and uses :data:`STANDARD_OPTIM` (batch size and steps stay the preset's).
    """
    if name not in PRESETS:
        raise UsageError(f"unknown config {name!r}; choose one of {', '.join(PRESETS)}")
    if arch is not None and arch not in ARCHS:
        raise UsageError(f"--arch must be one of {', '.join(ARCHS)}, got {arch!r}")
    if task is not None and task not in TASKS:
        raise UsageError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    if n_layers not in (1, 2):
        raise UsageError(f"--layers must be 1 or 2, got {n_layers}")
    if name == "chen":
        task = task or "noisy-recall"
        default_noise = 0.5 if task == "noisy-recall" else 0.0
        data = DataConfig(task=task, seq_len=256, n_triggers=1, fixed_triggers=True,
                          noise=default_noise if noise is None else noise, trigger_output="uniform")
        model = ModelConfig(n_layers=n_layers, d_model=256, n_heads=1, d_vocab=data.vocab_size, n_ctx=256,
                            mlp=(True,) * n_layers, d_mlp=1024)
        optim = OptimConfig(optimizer="sgd", lr=0.03, momentum=0.9, weight_decay=1e-4, batch_size=512,
                            steps=5000 if steps is None else steps)
        loss_on = "icl"
    else:
        task = task or "trigger-bigram"
        default_noise = 0.5 if task == "noisy-recall" else 0.0
        data = DataConfig(task=task, seq_len=256, n_triggers=3 if task == "trigger-bigram" else 1,
                          fixed_triggers=task == "noisy-recall", noise=default_noise if noise is None else noise,
                          trigger_output="uniform")
        model = ModelConfig(n_layers=n_layers, d_model=128, n_heads=1, d_vocab=data.vocab_size, n_ctx=256,
                            mlp=(False,) * n_layers, d_mlp=512)
        optim = OptimConfig(optimizer="sgd", lr=0.2, momentum=0.9, weight_decay=1e-4, batch_size=512,
                            steps=1000 if steps is None else steps)
        loss_on = "icl"
    arch = arch or default_arch(name, n_layers)
    if arch == "standard":
        model = dataclasses.replace(model, arch="standard", **standard_model_fields(n_layers))
        optim = dataclasses.replace(optim, **STANDARD_OPTIM)
    return RunConfig(name=name, data=data, model=model, optim=optim, loss_on=loss_on, seed=seed)


def with_overrides(config: RunConfig, overrides: dict[str, Any]) -> RunConfig:
    """Replace fields by dotted names, e.g. ``{"model.d_model": 64, "optim.batch_size": 32}``.

    Values given as strings (from the command line) are parsed as JSON where possible. After
    a change of task the model's vocabulary follows the data's unless it is set explicitly.
    """
    d = apply_overrides(config.to_dict(), overrides)
    if "model.d_vocab" not in overrides:
        d["model"]["d_vocab"] = DataConfig(**d["data"]).vocab_size
    return RunConfig.from_dict(d)
