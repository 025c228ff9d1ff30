"""Vectorised generators of trigger-bigram and noisy in-context-recall sequences.

One process covers both data models (noisy in-context recall and trigger bigrams). Each sequence has K trigger tokens
(fixed: the K most frequent characters; or drawn per sequence from the unigram marginal)
and, for each trigger, an output token drawn uniformly per sequence: over all N characters
(``trigger_output = "uniform"``, the papers'; with probability 1/N the output is the trigger
itself, and the rest of the sequence repeats it) or over the N - 1 characters other than the
trigger (``"exclude_trigger"``). The first token is drawn from the marginal; after a trigger
comes its output, or with probability ``noise`` the noise token (noisy recall); after any
other character the next one follows the global bigram model; after the noise token the
next one is drawn from the marginal.

The loop runs over positions only: every step samples the whole batch at once on the
generator's device, by inverse-CDF lookup of pre-drawn uniforms, so a batch of 512
sequences of 256 tokens costs 256 small tensor operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.toy.bigram import BigramModel, shakespeare_bigram
from interp.toy.configs import DataConfig


@dataclass(frozen=True)
class Batch:
    """A batch of sequences with the positions where in-context recall is tested.

    tokens      the model reads ``tokens[:, :-1]`` and predicts ``tokens[:, 1:]``
    occurrence  at input position t: which occurrence of a trigger x_t is (1, 2, ...), or 0
                when x_t is not a trigger
    answer      at input position t with x_t a trigger: the trigger's (clean) output; else -1
    triggers, outputs   the K triggers of each sequence and their outputs
    """

    tokens: Int[Tensor, "batch seq_plus_1"]
    occurrence: Int[Tensor, "batch seq"]
    answer: Int[Tensor, "batch seq"]
    triggers: Int[Tensor, "batch k"]
    outputs: Int[Tensor, "batch k"]

    @property
    def inputs(self) -> Int[Tensor, "batch seq"]:
        return self.tokens[:, :-1]

    @property
    def targets(self) -> Int[Tensor, "batch seq"]:
        return self.tokens[:, 1:]

    @property
    def icl_mask(self) -> Bool[Tensor, "batch seq"]:
        """Trigger occurrences from the second on: where the output can be recalled in context."""
        return self.occurrence >= 2

    @property
    def trigger_mask(self) -> Bool[Tensor, "batch seq"]:
        return self.occurrence >= 1


class SequenceGenerator:
    """Draws fresh :class:`Batch` es of ``config``'s task on ``device``.

    All randomness comes from the ``torch.Generator`` passed to :meth:`sample`, which must
    live on the same device; the same generator state gives the same batch.
    """

    def __init__(self, config: DataConfig, *, device: str | torch.device = "cpu", bigram: BigramModel | None = None):
        self.config = config
        self.device = torch.device(device)
        self.bigram = bigram or shakespeare_bigram()
        n = self.bigram.n_chars
        self.n_chars = n
        self.vocab_size = config.vocab_size
        self.noise_token = config.noise_token
        marginal = self.bigram.marginal.to(self.device)
        self.marginal = marginal
        # one CDF row per vocabulary entry: bigram rows for the characters, the marginal for the noise token
        rows = [self.bigram.transition.to(self.device)]
        if self.vocab_size > n:
            rows.append(marginal[None, :])
        self.cdf: Float[Tensor, "vocab n_chars"] = torch.cumsum(torch.cat(rows), dim=1).contiguous()
        self.marginal_cdf: Float[Tensor, " n_chars"] = torch.cumsum(marginal, dim=0).contiguous()
        self.fixed_triggers: Int[Tensor, " k"] | None = (
            torch.tensor(self.bigram.most_frequent(config.n_triggers), device=self.device)
            if config.fixed_triggers
            else None
        )

    def _inverse_cdf(self, cdf: Float[Tensor, "... n"], u: Float[Tensor, "... 1"]) -> Int[Tensor, ...]:
        idx = torch.searchsorted(cdf, u, right=True).squeeze(-1)
        return idx.clamp_max(self.n_chars - 1)  # guards u >= cdf[-1] from rounding

    def sample(self, batch_size: int, generator: torch.Generator, *, noise: float | None = None) -> Batch:
        """``batch_size`` fresh sequences; ``noise`` overrides the config's p (0 gives clean test data)."""
        cfg = self.config
        p = cfg.noise if noise is None else noise
        if not (0.0 <= p < 1.0):
            raise ValueError(f"noise must be in [0, 1), got {p}")
        if p > 0 and self.noise_token is None:
            raise ValueError("this task has no noise token")
        B, T, K, N, dev = batch_size, cfg.seq_len, cfg.n_triggers, self.n_chars, self.device

        if self.fixed_triggers is not None:
            triggers = self.fixed_triggers.expand(B, K)
        else:
            triggers = torch.multinomial(self.marginal.expand(B, N), K, replacement=False, generator=generator)
        if cfg.trigger_output == "uniform":  # over all N characters: output == trigger w.p. 1/N
            outputs = torch.randint(0, N, (B, K), device=dev, generator=generator)
        else:  # "exclude_trigger": uniform over the N - 1 characters other than its trigger
            outputs = torch.randint(0, N - 1, (B, K), device=dev, generator=generator)
            outputs = outputs + (outputs >= triggers).long()
        # lookup[b, v] = output of v if v is a trigger of sequence b, else -1
        lookup = torch.full((B, self.vocab_size), -1, dtype=torch.long, device=dev)
        lookup.scatter_(1, triggers, outputs)

        u = torch.rand(T + 1, B, 1, device=dev, generator=generator)  # position-major: u[t] is contiguous
        noisy = torch.rand(B, T, device=dev, generator=generator) < p if p > 0 else None

        tokens = torch.empty(B, T + 1, dtype=torch.long, device=dev)
        tokens[:, 0] = self._inverse_cdf(self.marginal_cdf.expand(B, N).contiguous(), u[0])
        for t in range(T):
            last = tokens[:, t]
            nxt = self._inverse_cdf(self.cdf[last], u[t + 1])  # bigram step, [B]
            out = lookup.gather(1, last[:, None]).squeeze(1)  # [B], -1 where last is no trigger
            if noisy is not None:
                out = torch.where(noisy[:, t] & (out >= 0), self.noise_token, out)
            tokens[:, t + 1] = torch.where(out >= 0, out, nxt)

        inputs = tokens[:, :-1]
        hits = inputs[:, :, None] == triggers[:, None, :]  # [B, T, K]
        occurrence = (hits.long().cumsum(dim=1) * hits).sum(-1)  # [B, T]
        answer = torch.where(hits, outputs[:, None, :], 0).sum(-1)
        answer = torch.where(hits.any(-1), answer, -1)
        return Batch(tokens=tokens, occurrence=occurrence, answer=answer, triggers=triggers.clone(), outputs=outputs)


def make_generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """An explicit, seeded ``torch.Generator`` on ``device``."""
    g = torch.Generator(device=torch.device(device))
    g.manual_seed(seed)
    return g
