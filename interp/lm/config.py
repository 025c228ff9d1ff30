"""Frozen configs of a language-model training run, and the presets ``--size`` names.

A :class:`TrainConfig` fully determines a run: it is written into ``DIR/train.json`` and a
restart in the same folder must repeat it (the message names the first field that differs).
``__post_init__`` only validates; bad user input raises :class:`interp.errors.UsageError`.

Pythia's choices are the defaults (Biderman et al. 2023, and the GPT-NeoX configs of the Pythia
runs): the GPT-NeoX architecture with rotary embeddings on 25% of each head's dimensions (base
10000), a parallel residual (attention and MLP read the same input), untied input and output
embeddings, no dropout; AdamW with betas (0.9, 0.95), eps 1e-8, weight decay 0.01 (on weight
matrices and embeddings, not on biases or LayerNorm gains), gradient clipping at 1.0, a linear
warmup over the first 1% of the steps and a cosine decay to 10% of the peak learning rate; the
small_init / wang_init weight initialisation (:mod:`interp.lm.model`); checkpoints at step 0, 1,
2, 4, ..., 512 and then evenly spaced (:mod:`interp.lm.schedule`).

What the presets change (:data:`SIZES`), because a CPU cannot train Pythia's sizes:
    tiny    for tests: d_model 32, 2 layers, 2 heads, context 64, vocabulary 512, batch 8,
            40 steps, the corpus cut to 200,000 characters (seconds)
    small   the default, sized to train within 25 minutes on one CPU thread (measured: 16 min
            on the idle 2-core machine, 26 min with other jobs on both cores): d_model 128,
            4 layers, 4 heads, d_mlp 512, context 128, vocabulary 4096, batch 16 sequences
            (2048 tokens), 3000 steps (6.1M tokens, 72% of a pass over the corpus's 8.5M)
    base    for a GPU: Pythia-70M's shape (d_model 512, 6 layers, 8 heads, d_mlp 2048) with a
            512-token context, batch 32 (16384 tokens), 4000 steps (65M tokens, about 8 passes
            over the offline corpus), learning rate 1e-3 (Pythia-70M's)
    large   for a GPU: Pythia-160M's shape (d_model 768, 12 layers, 12 heads, d_mlp 3072) with a
            1024-token context, batch 32 (32768 tokens), 8000 steps (262M tokens: meant for a
            larger corpus, e.g. an ``hf:NAME`` source), learning rate 6e-4 (Pythia-160M's)
Pythia trains 143000 steps of 1024 sequences of 2048 tokens with a 50k vocabulary; every
preset is far smaller in batch, context, vocabulary and steps. The learning rate of tiny and
small is Pythia-70M's 1e-3.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from interp.errors import UsageError
from interp.io import config_from_dict
from interp.lm.corpus import CorpusConfig
from interp.overrides import apply_overrides

#: the smallest vocabulary a byte-level BPE can have: 256 bytes and the end-of-text token
MIN_VOCAB = 257


def _positive(**values: int | float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise UsageError(f"{name} must be positive, got {value!r}")


@dataclass(frozen=True)
class ModelConfig:
    """The GPT-NeoX architecture (``transformers.GPTNeoXConfig``), Pythia's choices by default.

    d_model, n_layers, n_heads, d_mlp   width, depth, attention heads, MLP hidden width
    n_ctx                   tokens per training sequence (the context the model is trained on)
    max_position_embeddings the longest sequence the model accepts (>= n_ctx)
    rotary_pct              fraction of each head's dimensions that carry rotary embeddings
    rotary_emb_base         the rotary frequency base
    parallel_residual       x + attn(ln1(x)) + mlp(ln2(x)) (Pythia) instead of sequential blocks
    """

    d_model: int = 128
    n_layers: int = 4
    n_heads: int = 4
    d_mlp: int = 512
    n_ctx: int = 128
    max_position_embeddings: int = 128
    rotary_pct: float = 0.25
    rotary_emb_base: int = 10000
    parallel_residual: bool = True

    def __post_init__(self) -> None:
        _positive(**{f"model.{k}": getattr(self, k) for k in ("d_model", "n_layers", "n_heads", "d_mlp", "n_ctx",
                                                                "max_position_embeddings", "rotary_emb_base")})
        if self.d_model % self.n_heads:
            raise UsageError(f"model.d_model ({self.d_model}) must be a multiple of model.n_heads ({self.n_heads})")
        if not 0 < self.rotary_pct <= 1:
            raise UsageError(f"model.rotary_pct must be in (0, 1], got {self.rotary_pct}")
        if self.rotary_dims < 2 or self.rotary_dims % 2:
            raise UsageError(
                f"model.rotary_pct {self.rotary_pct} of a head's {self.d_head} dimensions gives {self.rotary_dims} rotary "
                f"dimensions; rotary embeddings need an even number >= 2: raise rotary_pct or d_model / n_heads"
            )
        if self.n_ctx < 2:
            raise UsageError(f"model.n_ctx must be at least 2, got {self.n_ctx}")
        if self.n_ctx > self.max_position_embeddings:
            raise UsageError(
                f"model.n_ctx ({self.n_ctx}) does not fit the model's positions (model.max_position_embeddings "
                f"{self.max_position_embeddings}); set max_position_embeddings >= n_ctx or a shorter n_ctx"
            )

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @property
    def rotary_dims(self) -> int:
        """Rotary dimensions per head, as transformers computes them: int(d_head * rotary_pct)."""
        return int(self.d_head * self.rotary_pct)


@dataclass(frozen=True)
class TokenizerConfig:
    """The byte-level BPE trained on the corpus (:func:`interp.lm.tokenizer.train_tokenizer`)."""

    vocab_size: int = 4096

    def __post_init__(self) -> None:
        if isinstance(self.vocab_size, bool) or not isinstance(self.vocab_size, int) or self.vocab_size < MIN_VOCAB:
            raise UsageError(f"tokenizer.vocab_size must be an integer >= {MIN_VOCAB} (256 bytes + <|endoftext|>), got {self.vocab_size!r}")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warmup and cosine decay (Pythia's), gradient clipping.

    lr             peak learning rate
    warmup_frac    fraction of the steps the learning rate rises linearly over (Pythia: 0.01)
    min_lr_frac    the cosine ends at this fraction of lr (Pythia: 0.1)
    batch_size     sequences per step (each model.n_ctx tokens)
    """

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-8
    weight_decay: float = 0.01
    warmup_frac: float = 0.01
    min_lr_frac: float = 0.1
    grad_clip: float = 1.0
    batch_size: int = 16

    def __post_init__(self) -> None:
        _positive(**{"optim.lr": self.lr, "optim.eps": self.eps, "optim.grad_clip": self.grad_clip, "optim.batch_size": self.batch_size})
        if isinstance(self.batch_size, float):
            raise UsageError(f"optim.batch_size must be an integer, got {self.batch_size!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise UsageError(f"optim.betas must be two numbers in [0, 1), got {list(self.betas)}")
        if self.weight_decay < 0:
            raise UsageError(f"optim.weight_decay must be >= 0, got {self.weight_decay}")
        if not 0 <= self.warmup_frac < 1:
            raise UsageError(f"optim.warmup_frac must be in [0, 1), got {self.warmup_frac}")
        if not 0 <= self.min_lr_frac <= 1:
            raise UsageError(f"optim.min_lr_frac must be in [0, 1], got {self.min_lr_frac}")


@dataclass(frozen=True)
class CheckpointConfig:
    """Which steps are saved: 0, 1, 2, 4, ..., ``log_until`` (those below the last step), then
    ``n_evenly`` evenly spaced steps ending at the last (those after the powers of two)."""

    log_until: int = 512
    n_evenly: int = 20

    def __post_init__(self) -> None:
        if isinstance(self.log_until, bool) or not isinstance(self.log_until, int) or self.log_until < 0:
            raise UsageError(f"checkpoints.log_until must be an integer >= 0, got {self.log_until!r}")
        if isinstance(self.n_evenly, bool) or not isinstance(self.n_evenly, int) or self.n_evenly < 1:
            raise UsageError(f"checkpoints.n_evenly must be an integer >= 1, got {self.n_evenly!r}")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (how to run it, device and threads, is not here).

    size    the preset the run started from (a label; the other fields say what it is)
    steps   optimizer updates; checkpoint ``step{N}`` holds the weights after N of them
    seed    the weights' initialisation and the order of the training sequences
    """

    size: str = "small"
    model: ModelConfig = field(default_factory=ModelConfig)
    tokenizer: TokenizerConfig = field(default_factory=TokenizerConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    checkpoints: CheckpointConfig = field(default_factory=CheckpointConfig)
    steps: int = 3000
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 1:
            raise UsageError(f"steps must be an integer >= 1, got {self.steps!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise UsageError(f"seed must be an integer >= 0, got {self.seed!r}")

    @property
    def tokens_per_step(self) -> int:
        return self.optim.batch_size * self.model.n_ctx

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (tuples as lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of :meth:`to_dict` (UsageError on a dict that is not one)."""
        try:
            optim = dict(d["optim"])
            optim["betas"] = tuple(optim["betas"])
            top = {k: v for k, v in d.items() if k not in ("model", "tokenizer", "optim", "corpus", "checkpoints")}
            return cls(
                model=ModelConfig(**d["model"]), tokenizer=TokenizerConfig(**d["tokenizer"]), optim=OptimConfig(**optim),
                corpus=config_from_dict(CorpusConfig, d["corpus"]), checkpoints=CheckpointConfig(**d["checkpoints"]), **top,
            )
        except (KeyError, TypeError) as err:
            raise UsageError(f"not a language-model training config: {err}") from None


#: The presets of ``--size``: the fields each changes from the defaults (see the module docstring).
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {
        "model": {"d_model": 32, "n_layers": 2, "n_heads": 2, "d_mlp": 128, "n_ctx": 64, "max_position_embeddings": 64},
        "tokenizer": {"vocab_size": 512},
        "optim": {"batch_size": 8},
        "corpus": {"max_chars": 200_000},
        "checkpoints": {"n_evenly": 4},
        "steps": 40,
    },
    "small": {},
    "base": {
        "model": {"d_model": 512, "n_layers": 6, "n_heads": 8, "d_mlp": 2048, "n_ctx": 512, "max_position_embeddings": 512},
        "optim": {"batch_size": 32, "lr": 1e-3},
        "steps": 4000,
    },
    "large": {
        "model": {"d_model": 768, "n_layers": 12, "n_heads": 12, "d_mlp": 3072, "n_ctx": 1024, "max_position_embeddings": 1024},
        "optim": {"batch_size": 32, "lr": 6e-4},
        "steps": 8000,
    },
}
DEFAULT_SIZE = "small"


def preset(size: str = DEFAULT_SIZE, *, steps: int | None = None, seed: int = 0) -> TrainConfig:
    """The config ``--size`` names, with ``--steps`` and ``--seed`` applied."""
    if size not in SIZES:
        raise UsageError(f"unknown size {size!r}; choose one of {', '.join(SIZES)}")
    d = TrainConfig().to_dict()
    for group, values in SIZES[size].items():
        if isinstance(values, dict):
            d[group].update(values)
        else:
            d[group] = values
    d["size"] = size
    d["seed"] = seed
    if steps is not None:
        d["steps"] = steps
    return TrainConfig.from_dict(d)


def with_overrides(config: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """Replace fields by dotted names (``--set model.d_model=64 --set optim.lr=3e-4``); see :mod:`interp.overrides`."""
    return TrainConfig.from_dict(apply_overrides(config.to_dict(), overrides, schema=TrainConfig, fixed=("size",)))
