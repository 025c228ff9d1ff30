"""Edit spellings: parsing, labels, and one-line errors for bad input."""

from __future__ import annotations

import pytest

from interp.edits.grid import Grid, parse_floats, parse_layers, parse_names
from interp.edits.spec import Edit, edits_label, parse_edits
from interp.errors import UsageError


@pytest.mark.parametrize(
    "text, expected",
    [
        ("28:mlp_in:0.01", Edit(28, "mlp_in", "lowrank", 0.01)),
        ("28:mlp_in:lowrank:0.01", Edit(28, "mlp_in", "lowrank", 0.01)),
        ("3:mlp_out:random:0.5", Edit(3, "mlp_out", "random", 0.5)),
        ("0:attn_v:zero", Edit(0, "attn_v", "zero")),
        (" 2 : mlp_gate : mean ", Edit(2, "mlp_gate", "mean")),
        ("1:mlp_in:1", Edit(1, "mlp_in", "lowrank", 1.0)),
    ],
)
def test_parse(text, expected):
    edit = Edit.parse(text)
    assert edit == expected
    assert Edit.parse(edit.label) == edit  # the label is a spelling too


@pytest.mark.parametrize(
    "text, needle",
    [
        ("28:mlp_in:shrink:0.1", "unknown edit kind 'shrink'"),
        ("28:mlp_in:shrink", "unknown edit kind 'shrink'"),
        ("28:mlp_in:random", "needs a rho"),
        ("28:mlp_in:lowrank", "needs a rho"),
        ("28:mlp_in:0", "rho must be in (0, 1]"),
        ("28:mlp_in:-0.5", "rho must be in (0, 1]"),
        ("28:mlp_in:1.5", "rho must be in (0, 1]"),
        ("28:mlp_in:zero:0.1", "takes no rho"),
        ("x:mlp_in:0.1", "not an integer"),
        ("-1:mlp_in:0.1", "layer must be an integer >= 0"),
        ("28:mlp_middle:0.1", "unknown matrix 'mlp_middle'"),
        ("28:mlp_in", "cannot parse edit"),
        ("28:mlp_in:random:abc", "not a number"),
    ],
)
def test_parse_errors(text, needle):
    with pytest.raises(UsageError) as err:
        Edit.parse(text)
    assert needle in str(err.value)
    assert "\n" not in str(err.value)


def test_duplicate_edits_rejected():
    with pytest.raises(UsageError, match="two edits of layer 3 mlp_in"):
        parse_edits(["3:mlp_in:0.1", "3:mlp_in:zero"])
    assert len(parse_edits(["3:mlp_in:0.1", "3:mlp_out:zero", "4:mlp_in:random:0.2"])) == 3


def test_labels():
    assert edits_label(()) == "baseline"
    assert edits_label((Edit(1, "mlp_in", rho=0.5), Edit(2, "mlp_out", "zero"))) == "1:mlp_in:lowrank:0.5+2:mlp_out:zero"


def test_parse_layers():
    assert parse_layers("all", 4) == (0, 1, 2, 3)
    assert parse_layers("1:3", 4) == (1, 2)
    assert parse_layers("2:", 4) == (2, 3)
    assert parse_layers("-2:", 30) == (28, 29)
    assert parse_layers("3,1,1", 4) == (1, 3)
    assert parse_layers("last-third", 30) == tuple(range(20, 30))
    for bad, needle in (("5", "layer 5 is out of range: the model has 4 layers"), ("2:9", "out of range"),
                        ("3:1", "grid is empty"), ("a:b", "--layers must be")):
        with pytest.raises(UsageError, match=needle):
            parse_layers(bad, 4)


def test_grid_configs_and_empty_grid():
    grid = Grid(layers=(0, 1), matrices=("mlp_in",), rhos=(0.5, 0.1), kinds=("lowrank", "zero", "random"))
    labels = [c[0].label for c in grid.configs()]
    assert labels == [
        "0:mlp_in:lowrank:0.5", "0:mlp_in:lowrank:0.1", "0:mlp_in:zero", "0:mlp_in:random:0.5", "0:mlp_in:random:0.1",
        "1:mlp_in:lowrank:0.5", "1:mlp_in:lowrank:0.1", "1:mlp_in:zero", "1:mlp_in:random:0.5", "1:mlp_in:random:0.1",
    ]
    with pytest.raises(UsageError, match="empty"):
        parse_floats("")
    with pytest.raises(UsageError, match="empty"):
        parse_names(" , ")
    with pytest.raises(UsageError, match="empty"):
        Grid(layers=(), matrices=("mlp_in",), rhos=(0.5,))
