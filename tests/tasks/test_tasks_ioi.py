"""IOI generator: seeded, only single-token names, positions that point at the names."""

from __future__ import annotations

import pytest

from interp.errors import UsageError
from interp.paths import prompts_dir
from interp.tasks import build_task
from interp.tasks.ioi import load_templates

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
