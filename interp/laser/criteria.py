"""What a LASER sweep's best config can be chosen on (``--select-by``).

Kept free of torch and model imports, so the CLI can validate options quickly.
"""

from __future__ import annotations

#: what the best config can be chosen on (``--select-by``): a per-prompt column -> its description
SELECT_BY = {
    "log_ratio": "mean log P(answer)/P(the)",
    "logp_answer_full": "mean teacher-forced log P(whole answer)",
    "exact": "exact-match accuracy (the greedy continuation is the whole answer)",
}
