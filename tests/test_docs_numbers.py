"""The numbers README.md and docs/*.md quote for committed runs equal the committed result files.

Every quoted number is one row of :data:`QUOTES`: the page, an *anchor* (the words around the number
as the page writes them, ``{}`` where a number stands, ``{label}`` where a label such as an edit
or a matrix name stands; any run of whitespace matches any other, so line wraps do not matter)
and, for each placeholder in order, the result file under ``results/`` and the key that holds the
value. A key is a dotted path into a JSON file or a parquet table, where ``[col=value,...]`` picks
the one row (or list item) with those fields (``~`` instead of ``=``: the field contains the value)
and a number picks a list item or a dict key; or a function of the loaded file, for a value the
text derives (a mean over steps, a share).

The value is formatted as the text writes it: to the decimals the text shows (``0.33`` -> two,
``122`` -> none, ``1e-4`` -> a one-digit mantissa), times the row's scale (``1.8M`` reads
``n_params`` in millions). Each anchor must occur exactly once in its page, so an edited sentence
fails here until its row is updated. Figures of runs that are not committed (``make demo`` prints
into the untracked ``results/demo/``, benchmarks, one-off runs) are not listed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from statistics import mean
from typing import Any

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]

LASER_SMOL = "results/laser/smollm2-135m/factual/best.json"
MINI = "results/checkpoint_sweep/mini-pythia/"
PHASES = MINI + "phases.json"
TRAIN = MINI + "train.json"
MINI_FACTUAL = MINI + "factual/summary.parquet"
GSM_SMOL = "results/gsm8k/smollm2-135m/summary.json"
GSM_GEMMA = "results/gsm8k/gemma-3-270m/summary.json"
READOUT_BEST = "results/gsm8k/readout-laser-gemma-3-270m/best.json"
READOUT_EVAL = "results/gsm8k/readout-eval-gemma-3-270m/summary.json"
ATTRIBUTION = "results/attribution/smollm2-135m/summary.json"
BIRTH = "results/toy/birth/summary.json"

Key = str | Callable[[Any], Any]


def loss_mean(last: int, n: int = 25) -> Callable[[dict], float]:
    """The mean training loss of the ``n`` steps ending at ``last`` (train.json's history)."""

    def value(train: dict) -> float:
        losses = {row["step"]: row["loss"] for row in train["history"]}
        return mean(losses[s] for s in range(last - n + 1, last + 1))

    value.__name__ = f"mean loss of steps {last - n + 1}..{last}"
    return value


def tokens_trained(train: dict) -> float:
    return train["config"]["steps"] * train["model"]["tokens_per_step"]


def epoch_share(train: dict) -> float:
    return 100 * tokens_trained(train) / train["model"]["tokens_per_epoch"]


@dataclass(frozen=True)
class Quote:
    page: str
    anchor: str
    values: tuple[tuple[str, Key], ...]  # (result file, key) per placeholder, in order
    scale: tuple[float, ...] = ()  # per placeholder (default 1): 1e-6 for a count written in millions

    @property
    def name(self) -> str:
        return f"{self.page}: {' '.join(self.anchor.split())[:70]}"


# fmt: off
QUOTES: tuple[Quote, ...] = (
    # README: the one result (LASER on SmolLM2, factual)
    Quote("README.md", "before and after LASER on layer {}'s {label}](results/laser/smollm2-135m/factual/",
          ((LASER_SMOL, "layer"), (LASER_SMOL, "matrix"))),
    Quote("README.md", "On {} held-out factual prompts, truncating SmolLM2's layer-{} `{label}` to rank {}",
          ((LASER_SMOL, "heldout.n"), (LASER_SMOL, "layer"), (LASER_SMOL, "matrix"), (LASER_SMOL, "k"))),
    Quote("README.md", "P(\" the\") collapses ({} -> {}) and P(answer) rises ({} -> {}),\nthe ratio of means from {}x to {}x.",
          ((LASER_SMOL, "heldout.baseline.mean_p_the"), (LASER_SMOL, "heldout.edited.mean_p_the"),
           (LASER_SMOL, "heldout.baseline.mean_p_answer"), (LASER_SMOL, "heldout.edited.mean_p_answer"),
           (LASER_SMOL, "heldout.baseline.ratio_of_means"), (LASER_SMOL, "heldout.edited.ratio_of_means"))),
    # README: training dynamics of mini-pythia
    Quote("README.md", "a {}M-parameter GPT-NeoX that `make dynamics` trains", ((TRAIN, "model.n_params"),), (1e-6,)),
    Quote("README.md", "and names held out; {} steps,", ((TRAIN, "config.steps"),)),
    Quote("README.md", "P(\" the\") passes 0.05 at step {}", ((PHASES, "factual.the_first"),)),
    Quote("README.md", "the factual answer later ({} at step 64, {} at step {});",
          ((MINI_FACTUAL, "[step=64,edit=none].mean_p_answer"), (PHASES, "factual.final.p_answer"), (PHASES, "factual.final.step"))),
    Quote("README.md", "the answer never overtakes \" the\" (ratio {} at step {})",
          ((PHASES, "factual.final.ratio_of_means"), (PHASES, "factual.final.step"))),
    Quote("README.md", "(P(IO) about {}, equal to P(S))", ((PHASES, "ioi.final.p_answer"),)),
    Quote("README.md", "the LASER edit chosen at step {} raises", ((PHASES, "factual.mid_step"),)),
    Quote("README.md", "(gain {}x before step {}, {}x at 512, {}x at 3000)",
          ((PHASES, "factual.laser_gain_by_step.0"), (PHASES, "factual.the_first"),
           (PHASES, "factual.laser_gain_by_step.512"), (PHASES, "factual.laser_gain_by_step.3000"))),
    Quote("README.md", "while P(answer) falls ({} -> {})",
          ((MINI_FACTUAL, "[step=3000,edit=none].mean_p_answer"), (MINI_FACTUAL, "[step=3000,edit~lowrank].mean_p_answer"))),
    # README: GSM8K (the quoted output of the committed runs)
    Quote("README.md", "embedded:smollm2-135m, GSM8K, n={}\n"
                       "baseline: accuracy {} ({}/{}), 95% CI [{}, {}], {} tokens/s\n"
                       "{label}: accuracy {} ({}/{}), 95% CI [{}, {}], {} tokens/s",
          ((GSM_SMOL, "n"), (GSM_SMOL, "baseline.accuracy"), (GSM_SMOL, "baseline.n_correct"), (GSM_SMOL, "baseline.n"),
           (GSM_SMOL, "baseline.ci_low"), (GSM_SMOL, "baseline.ci_high"), (GSM_SMOL, "baseline.tokens_per_s"),
           (GSM_SMOL, "edit"), (GSM_SMOL, "accuracy"), (GSM_SMOL, "n_correct"), (GSM_SMOL, "n"),
           (GSM_SMOL, "ci_low"), (GSM_SMOL, "ci_high"), (GSM_SMOL, "tokens_per_s"))),
    Quote("README.md", "embedded:gemma-3-270m, GSM8K, n={}\n"
                       "baseline: accuracy {} ({}/{}), 95% CI [{}, {}], {} tokens/s\n"
                       "{label}: accuracy {} ({}/{}), 95% CI [{}, {}], {} tokens/s",
          ((GSM_GEMMA, "n"), (GSM_GEMMA, "baseline.accuracy"), (GSM_GEMMA, "baseline.n_correct"), (GSM_GEMMA, "baseline.n"),
           (GSM_GEMMA, "baseline.ci_low"), (GSM_GEMMA, "baseline.ci_high"), (GSM_GEMMA, "baseline.tokens_per_s"),
           (GSM_GEMMA, "edit"), (GSM_GEMMA, "accuracy"), (GSM_GEMMA, "n_correct"), (GSM_GEMMA, "n"),
           (GSM_GEMMA, "ci_low"), (GSM_GEMMA, "ci_high"), (GSM_GEMMA, "tokens_per_s"))),
    Quote("README.md", "on Gemma, truncating layer {}'s `{label}` raises log P(whole answer) on held-out problems "
                       "(+{} nats, and +{} again on {} new ones)",
          ((READOUT_BEST, "layer"), (READOUT_BEST, "matrix"), (READOUT_BEST, "gain_heldout"),
           (READOUT_EVAL, "delta_logp_answer_full"), (READOUT_EVAL, "n_prompts"))),
    # docs/dynamics.md: the small preset's run (results/checkpoint_sweep/mini-pythia)
    Quote("docs/dynamics.md", "| `small` (default) | 128 / 4 / 4 / 512 | 128 | 4096 | 16 (2048) | {} | {}M | {}M ({}M) |",
          ((TRAIN, "config.steps"), (TRAIN, tokens_trained), (TRAIN, "model.n_params"), (TRAIN, "model.n_params_non_embedding")),
          (1, 1e-6, 1e-6, 1e-6)),
    Quote("docs/dynamics.md", "corpus cuts into {}M tokens of training sequences (with the 4096-token vocabulary): `small` reads {}% of it",
          ((TRAIN, "model.tokens_per_epoch"), (TRAIN, epoch_share)), (1e-6, 1)),
    Quote("docs/dynamics.md", "The loss falls from {} nats per token at step 1 (ln 4096 = 8.32) to {} by step 100, {} by step 1000 "
                              "and {} at step 3000 (means of 25 steps)",
          ((TRAIN, "history[step=1].loss"), (TRAIN, loss_mean(100)), (TRAIN, loss_mean(1000)), (TRAIN, loss_mean(3000)))),
    # docs/attribution.md: the committed SmolLM2 run
    Quote("docs/attribution.md", "and {} at {} steps on {} (the runs in [results/attribution]",
          ((ATTRIBUTION, "worst_completeness_error.value"), (ATTRIBUTION, "ig_steps"), (ATTRIBUTION, "n_prompts"))),
    # docs/toy.md: the one-layer trigger-bigram run of results/toy/birth
    Quote("docs/toy.md", "in-context accuracy with either ({} at {}, 0.651 at 1e-2;",
          ((BIRTH, "runs[setting=1layer_paper].icl_acc"), (BIRTH, "runs[setting=1layer_paper].lr"))),
)
# fmt: on

NUMBER = r"([-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?)"
LABEL = r"([\w.:\-]+)"


def anchor_regex(anchor: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\}|\{label\})", anchor)
    out = []
    for part in parts:
        if part == "{}":
            out.append(NUMBER)
        elif part == "{label}":
            out.append(LABEL)
        else:
            out.append(r"\s+".join(re.escape(word) for word in re.split(r"\s+", part)))
    return re.compile("".join(out))


@cache
def load(path: str) -> Any:
    file = REPO / path
    if file.suffix == ".parquet":
        return pd.read_parquet(file)
    return json.loads(file.read_text(encoding="utf-8"))


def _select(rows: list[dict], selector: str, where: str) -> dict:
    conditions = [re.fullmatch(r"(\w+)([=~])(.*)", c.strip()) for c in selector.split(",")]
    assert all(conditions), f"bad selector [{selector}] in {where}"

    def fits(row: dict) -> bool:
        return all(str(row.get(k)) == v if op == "=" else v in str(row.get(k)) for k, op, v in (c.groups() for c in conditions))

    found = [row for row in rows if fits(row)]
    assert len(found) == 1, f"[{selector}] picks {len(found)} rows of {where}, not one"
    return found[0]


def lookup(path: str, key: Key) -> Any:
    """The value ``key`` names in the result file ``path``."""
    data = load(path)
    if callable(key):
        return key(data)
    if isinstance(data, pd.DataFrame):
        data = data.to_dict("records")
    for token in re.findall(r"\[[^\]]*\]|[^.\[\]]+", key):
        if token.startswith("["):
            data = _select(data, token[1:-1], f"{path} ({key})")
        elif isinstance(data, list):
            data = data[int(token)]
        else:
            assert token in data, f"{path} has no {key!r} ({token!r} missing; it has {', '.join(map(str, data))})"
            data = data[token]
    return data


def as_written(value: float, text: str) -> str:
    """``value`` formatted to the precision of ``text`` (its decimals, or its mantissa's in e-notation)."""
    plain = text.replace(",", "").lstrip("+")
    mantissa, _, exponent = plain.partition("e")
    decimals = len(mantissa.partition(".")[2])
    if exponent:
        return f"{float(f'{value:.{decimals}e}'):g}"
    return f"{value:.{decimals}f}"


def same_number(value: float, text: str) -> bool:
    plain = text.replace(",", "").lstrip("+")
    if "e" in plain:
        return float(as_written(value, text)) == float(plain)
    return as_written(value, text) == plain and not (text.startswith("+") and value < 0)


def page_text(page: str) -> str:
    return (REPO / page).read_text(encoding="utf-8")


@pytest.mark.parametrize("quote", QUOTES, ids=lambda q: q.name)
def test_quoted_numbers_equal_the_committed_results(quote: Quote):
    pattern = anchor_regex(quote.anchor)
    assert pattern.groups == len(quote.values), f"{quote.name}: {pattern.groups} placeholders, {len(quote.values)} values"
    matches = list(pattern.finditer(page_text(quote.page)))
    assert len(matches) == 1, (f"{quote.page}: the anchor {quote.anchor!r} occurs {len(matches)} times, not once: "
                               "the text changed; update its row in QUOTES")
    scales = quote.scale or (1,) * len(quote.values)
    wrong = []
    for text, (path, key), scale in zip(matches[0].groups(), quote.values, scales, strict=True):
        value = lookup(path, key)
        name = key if isinstance(key, str) else key.__name__
        if isinstance(value, str):
            if text != value:
                wrong.append(f"{text!r} but {path} {name} is {value!r}")
        elif not same_number(float(value) * scale, text):
            wrong.append(f"{text} but {path} {name} is {value!r} (as written: {as_written(float(value) * scale, text)})")
    assert not wrong, f"{quote.page} quotes " + "; ".join(wrong)


@pytest.mark.parametrize(("value", "text", "same"), [
    (0.3284, "0.33", True), (0.3284, "0.328", True), (0.3284, "0.329", False), (122.42, "122", True),
    (1.0318e-4, "1e-4", True), (1.6e-4, "1e-4", False), (0.1430, "+0.14", True), (-0.1430, "+0.14", False),
    (6552, "6,552", True), (235, "235", True), (234, "235", False), (0.025, "0.025", True), (0.01, "0.010", True),
])
def test_numbers_compare_as_written(value, text, same):
    assert same_number(value, text) is same


def test_the_anchor_regex_matches_across_line_wraps_and_reads_each_placeholder():
    pattern = anchor_regex("On {} held-out `{label}` to rank {}")
    assert pattern.search("x On 235\nheld-out  `mlp_in` to rank 5.").groups() == ("235", "mlp_in", "5")
    assert pattern.search("On 235 held-in `mlp_in` to rank 5") is None


def test_every_result_file_of_the_table_is_committed():
    files = {path for quote in QUOTES for path, _ in quote.values}
    missing = [path for path in sorted(files) if not (REPO / path).is_file()]
    assert not missing, f"QUOTES names result files that are not there: {missing}"
