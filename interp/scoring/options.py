"""The reference-text options every command measuring an LM cost shares (``--lm-tokens``'s default).

Kept free of torch and model imports, so the CLI can build its options quickly; the text
itself is read and scored in :mod:`interp.scoring.lm_loss`.
"""

from __future__ import annotations

DEFAULT_LM_TOKENS = 4096  # reference-text tokens scored (per config of a sweep) for the LM cost
LM_CONTEXT = 128  # tokens per reference-text context
