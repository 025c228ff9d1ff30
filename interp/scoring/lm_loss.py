"""Language-modelling loss on a reference text: what an edit costs on ordinary text.

The reference text is, in order of preference: the file the user passes (``--lm-text``); a
fixed slice (the beginning) of Tiny Shakespeare from the team's shared data
(``interp.paths.shared_data_dir() / "tinyshakespeare/input.txt"``); else a short passage
shipped with the package (``interp/scoring/data/lm_reference.txt``, written for the project).

The text is tokenized once, cut into contexts of ``context`` tokens (BOS first when the
model's tokenizer policy says so: :attr:`interp.models.tokens.PromptTokenizer.bos_prefix`), and
at most ``n_tokens`` tokens are scored. ``lm_loss`` is the mean cross-entropy of every
next-token prediction inside the contexts, in nats. The same contexts give the ``mean`` edits
their reference vectors (:mod:`interp.edits.means`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.errors import UsageError
from interp.io import existing_file, read_text_file
from interp.models.loading import HookedModel
from interp.paths import shared_data_dir
from interp.scoring.forward import Batch
from interp.scoring.options import DEFAULT_LM_TOKENS, LM_CONTEXT

log = logging.getLogger(__name__)

LOGITS_BUDGET_BYTES = 256 << 20  # contexts per batch: their float32 logits stay under this
_CHARS_PER_TOKEN_BOUND = 12  # a slice of this many characters per wanted token is always enough
PACKAGED_TEXT = Path(__file__).with_name("data") / "lm_reference.txt"


def shakespeare_path() -> Path:
    return shared_data_dir() / "tinyshakespeare" / "input.txt"


def check_lm_text(path: str | Path) -> Path:
    """The ``--lm-text`` file, checked (the one check, used by every command taking the option)."""
    read_text_file(path, "--lm-text", "a plain-text file (a few thousand words)")  # text, not binary: the LM cost of noise means nothing
    return existing_file(path, "--lm-text", "a plain-text file (a few thousand words)")


def reference_text(path: str | Path | None, n_tokens: int = DEFAULT_LM_TOKENS) -> tuple[str, str]:
    """(text, where it came from): ``path`` if given (must exist), else Tiny Shakespeare, else the packaged passage."""
    if path is not None:
        p = check_lm_text(path)
        return p.read_text(encoding="utf-8", errors="replace"), str(p)
    max_chars = n_tokens * _CHARS_PER_TOKEN_BOUND
    shakespeare = shakespeare_path()
    if shakespeare.is_file():
        with shakespeare.open(encoding="utf-8", errors="replace") as f:
            return f.read(max_chars), f"{shakespeare} (first {max_chars} characters)"
    return PACKAGED_TEXT.read_text(encoding="utf-8"), f"{PACKAGED_TEXT.name} (packaged passage)"


@dataclass(frozen=True)
class LMText:
    """Reference text cut into equal contexts: ``input_ids [n_contexts, context(+1 with BOS)]``."""

    input_ids: Int[Tensor, "n_ctx pos"]
    source: str
    n_scored: int  # next-token predictions scored

    @property
    def n_contexts(self) -> int:
        return int(self.input_ids.shape[0])


def lm_contexts(
    model: HookedModel,
    text: str,
    source: str,
    *,
    n_tokens: int = DEFAULT_LM_TOKENS,
    context: int = LM_CONTEXT,
) -> LMText:
    """Tokenize ``text`` and cut it into ``min(n_tokens // context, available)`` contexts of ``context`` tokens."""
    if n_tokens < context:
        raise UsageError(f"--lm-tokens must be at least one context ({context} tokens), got {n_tokens}")
    ids = model.tokenizer.tokenizer.encode(text, add_special_tokens=False)
    n_ctx = min(n_tokens // context, len(ids) // context)
    if n_ctx < 1:
        raise UsageError(
            f"the reference text {source} has {len(ids)} tokens, shorter than one context of {context}; give a longer --lm-text"
        )
    chunks = torch.tensor(ids[: n_ctx * context], dtype=torch.long).view(n_ctx, context)
    bos = torch.tensor(model.tokenizer.bos_prefix, dtype=torch.long)  # [BOS] or nothing, by the tokenizer policy
    chunks = torch.cat([bos.expand(n_ctx, len(bos)), chunks], dim=1)
    n_scored = n_ctx * (chunks.shape[1] - 1)
    return LMText(input_ids=chunks, source=source, n_scored=n_scored)


def reference_contexts(
    model: HookedModel, path: str | Path | None, *, n_tokens: int = DEFAULT_LM_TOKENS, context: int = LM_CONTEXT
) -> LMText:
    """The reference text (``path``, else Tiny Shakespeare, else the packaged passage) cut into contexts."""
    text, source = reference_text(path, n_tokens)
    return lm_contexts(model, text, source, n_tokens=n_tokens, context=context)


def lm_batches(model: HookedModel, lm: LMText, batch_size: int | None = None) -> list[Batch]:
    """The contexts as unpadded :class:`~interp.scoring.forward.Batch` es on the model's device.

    By default as many contexts per batch as keep the batch's float32 logits
    (``contexts x positions x vocabulary``) under 256 MiB: 8 for SmolLM2, 1 for Gemma 3's
    262k-token vocabulary.
    """
    out = []
    n, width = lm.input_ids.shape
    if batch_size is None:
        per_context = width * int(model.bridge.cfg.d_vocab) * 4
        batch_size = max(1, LOGITS_BUDGET_BYTES // per_context)
    for start in range(0, n, batch_size):
        ids = lm.input_ids[start : start + batch_size]
        mask = torch.ones_like(ids)
        last = torch.full((ids.shape[0],), width - 1, dtype=torch.long)
        out.append(Batch(tuple(range(start, start + ids.shape[0])), ids, mask, last).to(model.device))
    return out


def token_losses(logits: Float[Tensor, "batch pos vocab"], input_ids: Int[Tensor, "batch pos"]) -> Float[Tensor, "batch pos_minus_1"]:
    """Cross-entropy (nats) of each next-token prediction, float32."""
    logprobs = logits[:, :-1].float().log_softmax(dim=-1)
    return -logprobs.gather(-1, input_ids[:, 1:, None]).squeeze(-1)


@torch.inference_mode()
def lm_loss(model: HookedModel, batches: Sequence[Batch]) -> float:
    """Mean next-token loss over ``batches`` (a full forward per batch)."""
    total, count = 0.0, 0
    for batch in batches:
        logits = model.bridge(batch.input_ids, attention_mask=batch.attention_mask)
        losses = token_losses(logits, batch.input_ids)
        total += float(losses.double().sum())
        count += losses.numel()
    return total / count
