"""Tokenising prompts the way a model expects (its BOS policy) and checking single tokens."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Int
from torch import Tensor
from transformers import PreTrainedTokenizerBase

from interp.errors import UsageError

#: the longest answer (in tokens) that is scored: teacher forcing reads one position per token,
#: so the bound keeps a batch's unembedding small; longer "answers" are generations (see GSM8K)
MAX_ANSWER_TOKENS = 32


@dataclass(frozen=True)
class PromptTokenizer:
    """A Hugging Face tokenizer plus the model family's BOS policy.

    ``encode_prompt`` gives the ids the model sees for a prompt (BOS first when the
    policy says so); ``single_token_id`` says whether a continuation such as " Spain" is
    exactly one token (leading space included), the condition for next-token metrics.
    """

    tokenizer: PreTrainedTokenizerBase
    prepend_bos: bool

    @property
    def bos_token_id(self) -> int | None:
        return self.tokenizer.bos_token_id

    @property
    def pad_token_id(self) -> int:
        tok = self.tokenizer
        for candidate in (tok.pad_token_id, tok.eos_token_id, tok.bos_token_id, 0):
            if candidate is not None:
                return int(candidate)
        return 0  # unreachable; keeps type checkers content

    @property
    def bos_prefix(self) -> list[int]:
        """The ids the policy puts before a text: ``[BOS]``, or none."""
        return [int(self.bos_token_id)] if self.prepend_bos and self.bos_token_id is not None else []

    def encode_prompt(self, text: str) -> list[int]:
        return self.bos_prefix + self.tokenizer.encode(text, add_special_tokens=False)

    def encode_answer(self, text: str, *, where: str = "answer") -> list[int]:
        """The token ids of a continuation such as " Buenos Aires" (no BOS): 1 to MAX_ANSWER_TOKENS of them.

        UsageError (naming ``where``) for an answer that tokenizes to nothing or to more tokens
        than the bound, which keeps a batch's teacher-forced positions small.
        """
        ids = [int(i) for i in self.tokenizer.encode(text, add_special_tokens=False)]
        if not ids:
            raise UsageError(f"{where}: {text!r} tokenizes to zero tokens; give a non-empty continuation such as \" Spain\"")
        if len(ids) > MAX_ANSWER_TOKENS:
            raise UsageError(
                f"{where}: {text[:40]!r} is {len(ids)} tokens; answers are scored up to {MAX_ANSWER_TOKENS} tokens, shorten it"
            )
        return ids

    def single_token_id(self, text: str) -> int | None:
        """The id of ``text`` if it is exactly one token (no BOS), else None."""
        ids = self.tokenizer.encode(text, add_special_tokens=False)
        return int(ids[0]) if len(ids) == 1 else None

    def decode(self, token_id: int) -> str:
        return self.tokenizer.decode([int(token_id)])

    def pad_batch(
        self, sequences: list[list[int]]
    ) -> tuple[Int[Tensor, "batch pos"], Int[Tensor, "batch pos"], Int[Tensor, " batch"]]:
        """Right-pad token id lists into (input_ids, attention_mask, last_index).

        Right padding keeps every real token at its own absolute position (learned
        position embeddings as in GPT-2 see the same positions as an unpadded run), and
        causal attention never lets a real token see the padding after it.
        """
        if not sequences:
            raise ValueError("pad_batch needs at least one sequence")
        width = max(len(s) for s in sequences)
        input_ids = torch.full((len(sequences), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
        for row, seq in enumerate(sequences):
            input_ids[row, : len(seq)] = torch.tensor(seq, dtype=torch.long)
            attention_mask[row, : len(seq)] = 1
        last_index = attention_mask.sum(dim=1) - 1
        return input_ids, attention_mask, last_index
