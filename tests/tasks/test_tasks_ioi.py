"""IOI generator: seeded, only single-token names, positions that point at the names."""

from __future__ import annotations

import itertools
import json
import logging
import time

import pytest

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.tasks import build_task
from interp.tasks.ioi import ORDERS, Template, count_distinct, load_templates

N = 40


@pytest.fixture(scope="module")
def ioi(ioi_tokenizer):
    return build_task("ioi", ioi_tokenizer, n=N, seed=0)


def _names() -> list[str]:
    return (prompts_dir() / "ioi" / "names.txt").read_text(encoding="utf-8").split()


def test_deterministic_under_seed(ioi, ioi_tokenizer):
    again = build_task("ioi", ioi_tokenizer, n=N, seed=0)
    assert again == ioi
    other = build_task("ioi", ioi_tokenizer, n=N, seed=1)
    assert other.prompts != ioi.prompts


def test_multi_token_names_dropped_and_counted(ioi, ioi_tokenizer):
    names = _names()
    multi = [n for n in names if ioi_tokenizer.single_token_id(" " + n) is None]
    assert 0 < len(multi) < len(names)  # the fixture tokenizer knows half the names
    assert ioi.skipped["multi_token_name"] == len(multi)
    assert ioi.n_skipped == sum(ioi.skipped.values())
    used = set(ioi.columns["io"]) | set(ioi.columns["s"])
    assert not used & set(multi)


def test_answers_and_positions(ioi, ioi_tokenizer):
    c = ioi.columns
    for i, prompt in enumerate(ioi.prompts):
        ids = ioi_tokenizer.encode_prompt(prompt)
        assert ids[0] == ioi_tokenizer.bos_token_id
        io, s = c["io"][i], c["s"][i]
        assert io != s
        assert ioi.answers[i] == " " + io
        assert ioi_tokenizer.decode(ioi.answer_ids[i]) == " " + io
        assert ioi_tokenizer.decode(ids[c["io_pos"][i]]) == " " + io
        assert ids[c["s_pos"][i]] == ids[c["s2_pos"][i]] == c["s_id"][i]
        assert ioi_tokenizer.decode(c["s_id"][i]) == " " + s
        assert ioi.distractor_ids[i] == (c["s_id"][i],)
        assert max(c["io_pos"][i], c["s_pos"][i]) < c["s2_pos"][i] < len(ids)
        if c["order"][i] == "ABBA":
            assert c["io_pos"][i] < c["s_pos"][i]
        else:
            assert c["s_pos"][i] < c["io_pos"][i]
        assert prompt.endswith(" to") and ids.count(ioi.answer_ids[i]) == 1  # stops right before the IO


def test_both_orders_and_many_templates(ioi):
    orders = ioi.columns["order"]
    assert orders.count("ABBA") == orders.count("BABA") == N // 2
    assert len(set(ioi.columns["template"])) > 5


def test_default_n_and_bad_n(ioi_tokenizer):
    assert len(build_task("ioi", ioi_tokenizer)) == 100
    with pytest.raises(UsageError, match="at least 1"):
        build_task("ioi", ioi_tokenizer, n=0)


def test_templates_render_both_orders():
    t = load_templates()[0]
    assert t.render("Mary", "John", "store", "drink", "ABBA") == "When Mary and John went to the store, John gave a drink to"
    assert t.render("Mary", "John", "store", "drink", "BABA") == "When John and Mary went to the store, John gave a drink to"


def _fake_ioi_dir(root, templates='["When {A} and {B} left, {B} waved to"]', names="Qxzvw\nJqyzk\n"):
    (root / "ioi").mkdir()
    (root / "ioi" / "templates.json").write_text(templates)
    (root / "ioi" / "names.txt").write_text(names)
    (root / "ioi" / "places.txt").write_text("park\n")
    (root / "ioi" / "objects.txt").write_text("book\n")


def test_no_single_token_names_is_an_error(ioi_tokenizer, tmp_path, monkeypatch):
    _fake_ioi_dir(tmp_path)
    monkeypatch.setenv("INTERP_PROMPTS", str(tmp_path))
    with pytest.raises(UsageError, match="0 of the 2 IOI names"):
        build_task("ioi", ioi_tokenizer, n=4)


@pytest.mark.parametrize(
    "template, message",
    [
        ('["When {A} and {B} left, {A} waved to"]', r"\{A\} \.\.\. \{B\} \.\.\. \{B\}"),
        ('["When {A} and {B} left the {CITY}, {B} waved to"]', "unknown placeholder"),
        ('["When {A} and {B} left,{B} waved to"]', "follow a space"),
        ('["When {A} and {B} left, {B} waved to "]', "trailing whitespace"),
        ('{"templates": []}', "list of template strings"),
    ],
)
def test_bad_template_is_an_error(ioi_tokenizer, tmp_path, monkeypatch, template, message):
    _fake_ioi_dir(tmp_path, templates=template)
    monkeypatch.setenv("INTERP_PROMPTS", str(tmp_path))
    with pytest.raises(UsageError, match=message):
        build_task("ioi", ioi_tokenizer, n=2)


# -- --n above what the data can make ------------------------------------------------------------------

SMALL_TEMPLATES = [
    "When {A} and {B} went to the {PLACE}, {B} gave a {OBJECT} to",
    "Then, {A} and {B} had a long argument, and afterwards {B} said to",  # no place, no object
]


@pytest.fixture
def small_ioi_data(tmp_path, monkeypatch, ioi_tokenizer):
    """An IOI data folder with 4 single-token names, 2 templates, 3 places and 2 objects."""
    names = [n for n in _names() if ioi_tokenizer.single_token_id(" " + n) is not None][:4]
    folder = tmp_path / "ioi"
    folder.mkdir()
    (folder / "templates.json").write_text(json.dumps(SMALL_TEMPLATES))
    (folder / "names.txt").write_text("\n".join(names) + "\n")
    (folder / "places.txt").write_text("store\ngarden\nschool\n")
    (folder / "objects.txt").write_text("drink\nbook\n")
    monkeypatch.setenv("INTERP_PROMPTS", str(tmp_path))
    return names


def _all_prompts(names: list[str]) -> set[str]:
    """Every prompt the small data makes, by brute force."""
    templates = [Template(t) for t in SMALL_TEMPLATES]
    return {
        t.render(io, s, place, obj, order)
        for t, io, s, place, obj, order in itertools.product(templates, names, names, ["store", "garden", "school"], ["drink", "book"], ORDERS)
        if io != s
    }


def test_count_distinct_matches_brute_force(small_ioi_data, ioi_tokenizer):
    assert count_distinct(ioi_tokenizer) == len(_all_prompts(small_ioi_data)) == 4 * 3 * 2 * (3 * 2 + 1)


def test_count_distinct_of_the_shipped_data_without_enumerating(ioi_tokenizer):
    start = time.perf_counter()
    assert count_distinct(ioi_tokenizer) > 10**7
    assert time.perf_counter() - start < 5  # counted, not made (making 10^7 prompts takes over an hour)


def test_huge_n_is_capped_at_the_distinct_prompts_and_says_so(small_ioi_data, ioi_tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="interp"):
        ioi = build_task("ioi", ioi_tokenizer, n=10**12, seed=0)
    every = _all_prompts(small_ioi_data)
    assert len(set(ioi.prompts)) == len(ioi.prompts) and set(ioi.prompts) <= every
    assert len(ioi) + ioi.skipped["name_split_in_context"] == len(every)  # each tried once
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(m.startswith(f"ioi: {10**12} prompts asked for") and f"make {len(every)} distinct prompts; using {len(every)}" in m for m in messages), messages


def test_most_of_the_prompts_are_distinct_and_seeded(small_ioi_data, ioi_tokenizer, caplog):
    with caplog.at_level(logging.WARNING, logger="interp"):
        first = build_task("ioi", ioi_tokenizer, n=100, seed=3)
    assert len(first) == 100 and len(set(first.prompts)) == 100
    assert build_task("ioi", ioi_tokenizer, n=100, seed=3) == first
    assert build_task("ioi", ioi_tokenizer, n=100, seed=4).prompts != first.prompts
    assert not [r for r in caplog.records if r.levelname == "WARNING"]


def test_prompts_are_distinct_when_a_random_draw_repeats(ioi_tokenizer):
    ioi = build_task("ioi", ioi_tokenizer, n=1000, seed=2)  # seed 2 draws one prompt twice: it is drawn again
    assert len(set(ioi.prompts)) == len(ioi) == 1000
