"""Tiny random models with a real tokenizer, fully offline.

For tests and for users checking a pipeline before a GPU run: ``make_tiny_model`` writes a
Hugging Face folder (config, safetensors, tokenizer) for a 2-layer, d_model-64 GPT-2,
GPT-NeoX or Llama model. ``make_tiny_checkpoints`` writes ``step{N}/`` folders of such
models, the layout a training run leaves (and that ``interp checkpoint-sweep`` reads).

The tokenizer is a byte-level BPE trained with ``tokenizers`` on the project's own prompt
data plus a short built-in passage, so " the" and common words are single tokens while
rarer names split into several (as with real tokenizers).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPTNeoXConfig,
    LlamaConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
)

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.resources import check_memory

log = logging.getLogger(__name__)

TinyArch = Literal["gpt2", "gpt-neox", "llama"]
TINY_ARCHS: tuple[str, ...] = ("gpt2", "gpt-neox", "llama")
SPECIAL = "<|endoftext|>"

_BUILTIN_TEXT = """\
When the morning came, the travellers went to the market in the town. They bought bread
and wine, and then they walked along the river to the old bridge. The city is located in
the north of the country, and the people there speak the language of their fathers.
In the evening, the children played in the garden while their mother read a book to the
youngest. A letter arrived from the capital; it said that the king had gone to the sea.
"""


@dataclass(frozen=True)
class TinyConfig:
    """Size of a tiny model; the defaults are what the tests use."""

    arch: str = "gpt2"
    n_layers: int = 2
    d_model: int = 64
    n_heads: int = 4
    d_mlp: int = 256
    n_ctx: int = 256
    vocab_size: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        if self.arch not in TINY_ARCHS:
            raise UsageError(f"unknown tiny architecture {self.arch!r}; choose from {', '.join(TINY_ARCHS)}")
        if self.n_ctx < 1:
            raise UsageError(f"--n-ctx must be >= 1, got {self.n_ctx}")
        if self.d_model % self.n_heads:
            raise UsageError(f"d_model ({self.d_model}) must be a multiple of n_heads ({self.n_heads})")

    def hf_config(self, vocab_size: int, bos_id: int) -> PretrainedConfig:
        common = dict(vocab_size=vocab_size, bos_token_id=bos_id, eos_token_id=bos_id, pad_token_id=bos_id)
        if self.arch == "gpt2":
            return GPT2Config(
                n_layer=self.n_layers, n_embd=self.d_model, n_head=self.n_heads, n_inner=self.d_mlp,
                n_positions=self.n_ctx, **common,
            )
        if self.arch == "gpt-neox":
            return GPTNeoXConfig(
                num_hidden_layers=self.n_layers, hidden_size=self.d_model, num_attention_heads=self.n_heads,
                intermediate_size=self.d_mlp, max_position_embeddings=self.n_ctx, rotary_pct=0.25,
                tie_word_embeddings=False, **common,
            )
        return LlamaConfig(
            num_hidden_layers=self.n_layers, hidden_size=self.d_model, num_attention_heads=self.n_heads,
            num_key_value_heads=max(1, self.n_heads // 2), intermediate_size=self.d_mlp,
            max_position_embeddings=self.n_ctx, tie_word_embeddings=False, **common,
        )


def _training_text() -> list[str]:
    """The tokenizer's training corpus: the prompt data shipped with the project, a passage,
    and IOI-style sentences naming the first half of ``prompts/ioi/names.txt`` (so those
    names, with their leading space, become single tokens and the other half stay split,
    as a real tokenizer splits rare names)."""
    texts = [_BUILTIN_TEXT] * 20
    root = prompts_dir()
    for path in sorted(root.rglob("*")):
        # prompts/lm is the language-model corpus's data, not an evaluation prompt set: left out, so the
        # tiny tokenizer stays what it was before that folder existed
        if path.is_file() and path.suffix in {".txt", ".json", ".jsonl"} and path.relative_to(root).parts[0] != "lm":
            texts.append(path.read_text(encoding="utf-8"))
    names_file = root / "ioi" / "names.txt"
    if names_file.is_file():
        names = names_file.read_text(encoding="utf-8").split()
        seen = names[: len(names) // 2]
        pairs = zip(seen, seen[1:] + seen[:1])
        texts += ["\n".join(f"When {a} and {b} went to the park, {b} gave a book to {a}." for a, b in pairs)] * 10
    return texts


def build_tokenizer(vocab_size: int = 1024) -> PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer trained offline (deterministic for a given corpus)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[SPECIAL],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=SPECIAL, eos_token=SPECIAL, pad_token=SPECIAL, unk_token=SPECIAL
    )


def model_bytes(hf_config: PretrainedConfig) -> int:
    """The bytes of the parameters and buffers of the model ``hf_config`` builds, counted on the meta device (nothing allocated)."""
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(hf_config)
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def check_size(config: TinyConfig) -> None:
    """UsageError when the model ``config`` describes would not fit in this machine's memory (a huge --n-ctx)."""
    need = model_bytes(config.hf_config(config.vocab_size, 0))
    check_memory(need, f"a tiny {config.arch} model with --n-ctx {config.n_ctx}", "use a smaller --n-ctx (256 is the default)")


def make_tiny_model(
    out_dir: str | Path,
    config: TinyConfig = TinyConfig(),
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> Path:
    """Write a tiny random model (config, weights, tokenizer) to ``out_dir``; return the path."""
    out = Path(out_dir)
    tokenizer = tokenizer or build_tokenizer(config.vocab_size)
    hf_config = config.hf_config(len(tokenizer), int(tokenizer.bos_token_id))
    check_size(config)
    # Seed only this model's initialisation, leaving the caller's global RNG untouched.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = AutoModelForCausalLM.from_config(hf_config)
    model.eval()
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    log.info("wrote tiny %s model to %s", config.arch, out)
    return out


def make_tiny_checkpoints(out_dir: str | Path, steps: list[int], config: TinyConfig = TinyConfig()) -> list[Path]:
    """Write ``out_dir/step{N}/`` tiny models, one per step (each its own random weights)."""
    if not steps:
        raise UsageError("--steps needs at least one step, e.g. 0,1,2,4")
    if any(s < 0 for s in steps):
        raise UsageError(f"steps must be >= 0, got {steps}")
    tokenizer = build_tokenizer(config.vocab_size)
    out = Path(out_dir)
    paths = []
    for step in sorted(set(steps)):
        step_config = TinyConfig(**{**config.__dict__, "seed": config.seed * 100_003 + step})
        paths.append(make_tiny_model(out / f"step{step}", step_config, tokenizer))
    return paths
