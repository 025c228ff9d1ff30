"""Batched greedy generation with a shared prompt prefix, left padding and a key/value cache.

``Generator(model, prefix_ids, config)`` continues prompts ``prefix + suffix`` for a list of
suffixes. Within one batch the prompts are left-padded to the same length and run through the
model once; then one token per step is appended to every unfinished sequence, reusing the
cache. A sequence stops when its generated text contains one of ``config.stop`` (the text is
cut at the start of the stop string), when it emits an end-of-sequence token, or after
``config.max_new_tokens`` tokens; finished rows leave the batch (and the cache) at once.

With ``config.reuse_prefix`` the prefix's keys and values are computed once, the first time
they are needed, and copied into every batch (:class:`interp.generate.cache.PrefixCache`).
A ``Generator`` therefore belongs to one model state: create it inside an
``apply_edits`` block and do not carry it to another edit. It runs the plain Hugging Face
module tree when that is exact for the model state it was created in, else the bridge's
(:mod:`interp.generate.backend`).

Greedy generation of a batch equals generation one prompt at a time token for token (up to
float rounding in exact ties): padded positions are masked out and every real token keeps the
position id it has in an unpadded run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from transformers import DynamicCache

from interp.errors import UsageError
from interp.generate.backend import BACKENDS, generation_forward, plain_is_exact
from interp.generate.cache import PrefixCache, forward_step, positions_from_mask
from interp.models.loading import HookedModel

log = logging.getLogger(__name__)

STOP_WINDOW = 8  # trailing tokens decoded at each step to look for a stop string


@dataclass(frozen=True)
class GenerateConfig:
    """How to generate: greedy, at most ``max_new_tokens``, stopping at any of ``stop``."""

    max_new_tokens: int = 256
    batch_size: int = 8
    stop: tuple[str, ...] = ()
    reuse_prefix: bool = True
    backend: str = "auto"  # plain, bridge or auto (see interp.generate.backend)

    def __post_init__(self) -> None:
        if self.max_new_tokens < 1:
            raise UsageError(f"--max-new-tokens must be >= 1, got {self.max_new_tokens}")
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1, got {self.batch_size}")
        if any(not s for s in self.stop):
            raise UsageError("stop strings must be non-empty")
        if self.backend not in BACKENDS:
            raise UsageError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")


@dataclass(frozen=True)
class Generation:
    """One continuation: its tokens (up to and including the one that finished it) and its text
    (decoded, cut at the start of the stop string). ``finish``: ``stop``, ``eos`` or ``length``."""

    token_ids: tuple[int, ...]
    text: str
    finish: str

    @property
    def n_tokens(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class BatchOutput:
    generations: tuple[Generation, ...]
    first_logits: Float[Tensor, "batch vocab"]  # the logits the first generated token was chosen from


def eos_ids(model: HookedModel) -> frozenset[int]:
    """End-of-sequence ids: the tokenizer's and the model's generation config's."""
    ids: set[int] = set()
    tok_eos = model.tokenizer.tokenizer.eos_token_id
    if tok_eos is not None:
        ids.add(int(tok_eos))
    gen = getattr(model.raw_model, "generation_config", None)
    cfg_eos = getattr(gen, "eos_token_id", None)
    if isinstance(cfg_eos, int):
        ids.add(cfg_eos)
    elif cfg_eos is not None:
        ids.update(int(i) for i in cfg_eos)
    return frozenset(ids)


def cut_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """``text`` up to the earliest stop string, and whether one was found."""
    cut = min((i for i in (text.find(s) for s in stop) if i >= 0), default=-1)
    return (text, False) if cut < 0 else (text[:cut], True)


def plan_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices grouped into batches of similar length (less padding), deterministic."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    return [order[s : s + batch_size] for s in range(0, len(order), batch_size)]


class Generator:
    """Greedy continuations of ``prefix_ids + suffix`` for batches of suffixes (see the module doc)."""

    def __init__(self, model: HookedModel, prefix_ids: Sequence[int], config: GenerateConfig) -> None:
        self.model = model
        self.prefix_ids = tuple(int(i) for i in prefix_ids)
        self.config = config
        self.eos = eos_ids(model)
        self._prefix_cache: PrefixCache | None = None
        if config.backend == "auto":
            self.backend = "plain" if plain_is_exact(model) else "bridge"
        else:
            self.backend = config.backend
        log.debug("generating through the %s module tree", self.backend)

    @property
    def prefix_cache(self) -> PrefixCache | None:
        """The shared prefix's cache, computed on first use (None without reuse or without a prefix)."""
        if not self.config.reuse_prefix or not self.prefix_ids:
            return None
        if self._prefix_cache is None:
            self._prefix_cache = PrefixCache.compute(self.model, self.prefix_ids)
        return self._prefix_cache

    def _decode(self, ids: Sequence[int]) -> str:
        return self.model.tokenizer.tokenizer.decode(list(ids), skip_special_tokens=False)

    def _finished(self, tokens: list[int]) -> str | None:
        if tokens[-1] in self.eos:
            return "eos"
        if self.config.stop and cut_at_stop(self._decode(tokens[-STOP_WINDOW:]), self.config.stop)[1]:
            return "stop"
        return None

    def _result(self, tokens: list[int], finish: str) -> Generation:
        body = tokens[:-1] if finish == "eos" else tokens
        text, _ = cut_at_stop(self._decode(body), self.config.stop)
        return Generation(tuple(tokens), text, finish)

    def run_batch(self, suffixes: Sequence[Sequence[int]]) -> BatchOutput:
        """Generate for one batch of suffixes (each continues the shared prefix)."""
        with generation_forward(self.model, self.backend), torch.inference_mode():
            return self._run_batch(suffixes)

    def _run_batch(self, suffixes: Sequence[Sequence[int]]) -> BatchOutput:
        if not suffixes:
            raise ValueError("run_batch needs at least one suffix")
        device = self.model.device
        P = len(self.prefix_ids)
        lengths = [P + len(s) for s in suffixes]
        if min(lengths) < 1:
            raise ValueError("every prompt needs at least one token")
        width = max(lengths)
        pads = [width - n for n in lengths]
        input_ids = torch.full((len(suffixes), width), self.model.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(suffixes), width), dtype=torch.long)
        for row, (pad, suffix) in enumerate(zip(pads, suffixes)):
            input_ids[row, pad:] = torch.tensor(self.prefix_ids + tuple(suffix), dtype=torch.long)
            mask[row, pad:] = 1
        input_ids, mask = input_ids.to(device), mask.to(device)
        positions = positions_from_mask(mask)
        prefix = self.prefix_cache
        if prefix is not None:
            cache, start = prefix.for_batch(pads), P
        else:
            cache, start = DynamicCache(), 0
        logits = forward_step(self.model, input_ids[:, start:], mask, positions[:, start:], cache)
        first_logits = logits.clone()

        results: list[Generation | None] = [None] * len(suffixes)
        tokens: list[list[int]] = [[] for _ in suffixes]
        active = list(range(len(suffixes)))  # batch rows still generating, in cache order
        last_position = positions[:, -1]
        for step in range(self.config.max_new_tokens):
            chosen = logits.argmax(dim=-1).tolist()
            keep: list[int] = []
            for slot, row in enumerate(active):
                tokens[row].append(int(chosen[slot]))
                finish = self._finished(tokens[row])
                if finish is None and step == self.config.max_new_tokens - 1:
                    finish = "length"
                if finish is None:
                    keep.append(slot)
                else:
                    results[row] = self._result(tokens[row], finish)
            if not keep:
                break
            if len(keep) < len(active):
                index = torch.tensor(keep, dtype=torch.long, device=device)
                cache.batch_select_indices(index)
                mask, last_position = mask[index], last_position[index]
                active = [active[slot] for slot in keep]
            next_ids = torch.tensor([[tokens[row][-1]] for row in active], dtype=torch.long, device=device)
            mask = torch.cat([mask, torch.ones_like(next_ids)], dim=1)
            last_position = last_position + 1
            logits = forward_step(self.model, next_ids, mask, last_position[:, None], cache)
        assert all(r is not None for r in results)
        return BatchOutput(tuple(results), first_logits)  # type: ignore[arg-type]
