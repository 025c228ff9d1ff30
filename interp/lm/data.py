"""Training sequences: the corpus tokenized once, cut into blocks, read in a seeded order.

The documents are tokenized once and concatenated with ``<|endoftext|>`` after each (as Pythia
packs the Pile), then cut into blocks of ``n_ctx + 1`` tokens that overlap by one token (block
``i`` starts at token ``i * n_ctx``): a block's first ``n_ctx`` tokens are the model's input and
its last ``n_ctx`` the targets, so every token is a target once per epoch. Each epoch reads all
blocks in a permutation drawn from an explicit generator seeded by (seed, epoch); the batches
continue across epochs. The position in this stream (sequences read so far) is the whole data
state: :meth:`TokenBlocks.batch` of the same position gives the same batch in any process.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from jaxtyping import Int
from torch import Tensor

from interp.errors import UsageError

#: keeps the data-order stream of a seed apart from the initialisation's
DATA_STREAM = 0x5EED_DA7A


def tokenize_documents(tokenizer, documents: Sequence[str]) -> Int[Tensor, " n_tokens"]:
    """Every document's token ids followed by the end-of-text id, concatenated (int32)."""
    eos = tokenizer.eos_token_id
    if eos is None:
        raise UsageError("the tokenizer has no end-of-text token; it needs <|endoftext|> as eos")
    encodings = tokenizer.backend_tokenizer.encode_batch(list(documents), add_special_tokens=False)
    lengths = np.fromiter((len(e.ids) + 1 for e in encodings), dtype=np.int64, count=len(encodings))
    ids = np.empty(int(lengths.sum()), dtype=np.int32)
    ends = np.cumsum(lengths)
    for encoding, end, length in zip(encodings, ends, lengths):
        ids[end - length : end - 1] = encoding.ids
        ids[end - 1] = eos
    return torch.from_numpy(ids)


class TokenBlocks:
    """The blocks of ``n_ctx + 1`` tokens of a token stream, and the seeded order they are read in."""

    def __init__(self, ids: Int[Tensor, " n_tokens"], n_ctx: int, seed: int) -> None:
        if ids.numel() < n_ctx + 1:
            raise UsageError(
                f"the corpus has {ids.numel()} tokens, fewer than one training sequence of model.n_ctx + 1 = {n_ctx + 1}; "
                f"use a larger corpus (corpus.max_chars) or a shorter model.n_ctx"
            )
        self.n_ctx = n_ctx
        self.seed = seed
        self.blocks: Int[Tensor, "n_blocks ctx_plus_1"] = ids.unfold(0, n_ctx + 1, n_ctx)
        self._epoch: int | None = None
        self._order: Tensor | None = None

    @property
    def n_blocks(self) -> int:
        return int(self.blocks.shape[0])

    @property
    def n_tokens(self) -> int:
        """Target tokens per epoch."""
        return self.n_blocks * self.n_ctx

    def order(self, epoch: int) -> Int[Tensor, " n_blocks"]:
        """The permutation of the blocks read in ``epoch`` (cached for the current epoch)."""
        if epoch != self._epoch:
            entropy = np.random.SeedSequence([DATA_STREAM, self.seed, epoch]).generate_state(2, dtype=np.uint32)
            generator = torch.Generator(device="cpu").manual_seed(int(entropy[0]) << 31 ^ int(entropy[1]))
            self._order = torch.randperm(self.n_blocks, generator=generator)
            self._epoch = epoch
        assert self._order is not None
        return self._order

    def batch(self, position: int, batch_size: int) -> Int[Tensor, "batch ctx_plus_1"]:
        """Sequences ``position`` .. ``position + batch_size - 1`` of the stream of epochs (int64, CPU)."""
        rows = []
        for i in range(position, position + batch_size):
            epoch, index = divmod(i, self.n_blocks)
            rows.append(self.order(epoch)[index])
        return self.blocks[torch.stack(rows)].long()
