"""The Python front door's arguments: every wrong one is a one-line UsageError naming the call and
the argument, raised before anything is written; a bare string is taken wherever a list of
edits, rhos, matrices, kinds or relations is, and gives what the list gives."""

from __future__ import annotations

import dataclasses
import inspect
import math

import pandas as pd
import pytest

import interp
from interp.checkpoint_sweeps.run import SweepConfig
from interp.errors import UsageError
from interp.laser.run import LaserSweep

NAN = math.nan


def refused(call, function: str, argument: str) -> str:
    """The message of the UsageError ``call()`` raises, checked to be one line naming ``function: argument``."""
    with pytest.raises(UsageError) as info:
        call()
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{function}: {argument} needs "), message
    return message


# --- the cases of issue 22, one by one ---------------------------------------------------------


def test_laser_sweep_out_none_is_refused_and_writes_nothing(tiny_gpt2, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    message = refused(lambda: interp.laser_sweep(tiny_gpt2, "factual", out=None), "laser_sweep", "out")
    assert "folder path" in message
    refused(lambda: interp.laser_sweep(tiny_gpt2, "factual", out=""), "laser_sweep", "out")
    assert list(tmp_path.iterdir()) == []  # no ./None


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"n": 2.5}, "n"), ({"n": "10"}, "n"), ({"n": NAN}, "n"), ({"n": 0}, "n"), ({"n": True}, "n"),
     ({"seed": "x"}, "seed"), ({"seed": -1}, "seed"), ({"seed": 1.0}, "seed")],
)
def test_build_task_counts(tiny_gpt2, kwargs, argument):
    message = refused(lambda: interp.build_task("ioi", tiny_gpt2, **kwargs), "build_task", argument)
    assert "an integer >=" in message


def test_build_task_name_and_model(tiny_gpt2):
    refused(lambda: interp.build_task(None, tiny_gpt2), "build_task", "name")
    assert "loaded text model" in refused(lambda: interp.build_task("ioi", None), "build_task", "model")


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"task": 5}, "task"), ({"task": None}, "task"), ({"n": "10"}, "n"), ({"n": NAN}, "n"), ({"seed": "x"}, "seed"),
     ({"seed": -1}, "seed"), ({"batch_size": 2.5}, "batch_size"), ({"batch_size": 0}, "batch_size"),
     ({"edits": 5}, "edits"), ({"progress": "no"}, "progress"), ({"model": "gpt2"}, "model")],
)
def test_evaluate_arguments(tiny_gpt2, kwargs, argument):
    arguments = {"model": tiny_gpt2, "task": "ioi", **kwargs}
    refused(lambda: interp.evaluate(**arguments), "evaluate", argument)


def test_evaluate_refuses_n_with_a_built_prompt_set(tiny_gpt2):
    facts = interp.build_task("factual", tiny_gpt2, n=4)
    with pytest.raises(UsageError, match="^evaluate: n=3 applies to a task name"):
        interp.evaluate(tiny_gpt2, facts, n=3)


def test_summarize_arguments(tiny_gpt2):
    refused(lambda: interp.summarize(None), "summarize", "table")
    refused(lambda: interp.summarize({"p_the": [0.5]}), "summarize", "table")
    table = interp.evaluate(tiny_gpt2, "factual", n=4, progress=False)
    refused(lambda: interp.summarize(table, "0"), "summarize", "idx")
    refused(lambda: interp.summarize(table, [0.5]), "summarize", "idx")
    assert interp.summarize(table, [0, 1])["n_prompts"] == 2


def test_checkpoint_sweep_steps_must_be_text(tiny_steps_dir, tmp_path):
    out = tmp_path / "sweep"
    message = refused(lambda: interp.checkpoint_sweep(str(tiny_steps_dir), steps=5, task="factual", out=out), "checkpoint_sweep", "steps")
    assert "got 5 (int)" in message
    assert not out.exists()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"n": "10"}, "n"), ({"n": NAN}, "n"), ({"seed": "x"}, "seed"), ({"seed": -1}, "seed"), ({"batch_size": 2.5}, "batch_size"),
     ({"out": None}, "out"), ({"model": None}, "model"), ({"laser": 5}, "laser"), ({"laser": [5]}, "laser"),
     ({"dtype": None}, "dtype"), ({"shard": 1}, "shard"), ({"keep_cache": "no"}, "keep_cache"), ({"relations": 5}, "relations")],
)
def test_checkpoint_sweep_arguments(tiny_steps_dir, tmp_path, kwargs, argument):
    arguments = {"model": str(tiny_steps_dir), "steps": "all", "task": "factual", "out": tmp_path / "sweep", **kwargs}
    refused(lambda: interp.checkpoint_sweep(**arguments), "checkpoint_sweep", argument)
    assert not (tmp_path / "sweep").exists()


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"n": "10"}, "n"), ({"n": NAN}, "n"), ({"seed": "x"}, "seed"), ({"seed": -1}, "seed"), ({"batch_size": 2.5}, "batch_size"),
     ({"task": 5}, "task"), ({"model": None}, "model"), ({"layers": None}, "layers"), ({"layers": 2.5}, "layers"),
     ({"rhos": None}, "rhos"), ({"rhos": [True]}, "rhos"), ({"matrices": 5}, "matrices"), ({"matrices": [1]}, "matrices"),
     ({"kinds": None}, "kinds"), ({"select_frac": "0.2"}, "select_frac"), ({"controls": "yes"}, "controls"),
     ({"lm_tokens": 2.5}, "lm_tokens"), ({"max_lm_loss_increase": "1"}, "max_lm_loss_increase"),
     ({"svd_cache_mb": -1}, "svd_cache_mb"), ({"device": None}, "device"), ({"lm_text": 5}, "lm_text")],
)
def test_laser_sweep_arguments(tiny_gpt2, tmp_path, kwargs, argument):
    arguments = {"model": tiny_gpt2, "task": "factual", "out": tmp_path / "run", **kwargs}
    refused(lambda: interp.laser_sweep(**arguments), "laser_sweep", argument)
    assert not (tmp_path / "run").exists()


def test_parser_errors_name_the_api_argument(tiny_gpt2, tmp_path):
    """A string is read by the CLI's parser, whose message names the argument as the call spells it."""
    with pytest.raises(UsageError, match="^rhos must be comma-separated numbers"):
        interp.laser_sweep(tiny_gpt2, "factual", out=tmp_path / "run", rhos="0.5,x")
    with pytest.raises(UsageError, match="^matrices is empty"):
        interp.laser_sweep(tiny_gpt2, "factual", out=tmp_path / "run", matrices=[])
    with pytest.raises(UsageError, match="unknown matrix 'mlp_i'"):
        interp.laser_sweep(tiny_gpt2, "factual", out=tmp_path / "run", matrices="mlp_i")
    with pytest.raises(UsageError, match="cannot parse edit"):
        interp.evaluate(tiny_gpt2, "factual", edits="28:mlp_in")
    assert not (tmp_path / "run").exists()


def test_unknown_options_are_named(tiny_gpt2, tiny_steps_dir, tmp_path):
    with pytest.raises(UsageError, match="^laser_sweep: unknown option 'rho'; it takes .*rhos"):
        interp.laser_sweep(tiny_gpt2, "factual", out=tmp_path / "run", rho=0.5)
    with pytest.raises(UsageError, match="^checkpoint_sweep: unknown option 'nn'"):
        interp.checkpoint_sweep(str(tiny_steps_dir), steps="all", task="factual", out=tmp_path / "s", nn=3)
    with pytest.raises(UsageError, match="^apply_edits: unknown option 'cache'"):
        interp.apply_edits(tiny_gpt2, "1:mlp_in:0.5", cache=None)
    refused(lambda: interp.apply_edits(tiny_gpt2, 5), "apply_edits", "edits")
    refused(lambda: interp.apply_edits(tiny_gpt2, "1:mlp_in:0.5", seed=-1), "apply_edits", "seed")


# --- every argument, of every call ----------------------------------------------------------------


class Wrong:
    """A value no argument takes."""

    def __repr__(self) -> str:
        return "Wrong()"


def _sweep_fields(config: type, explicit: tuple[str, ...]) -> list[str]:
    return [f.name for f in dataclasses.fields(config) if f.name not in explicit]


@pytest.mark.parametrize("argument", ["model", "task", "out", "layers", *_sweep_fields(LaserSweep, ("out", "model", "task", "layers"))])
def test_every_laser_sweep_argument_is_checked(tiny_gpt2, tmp_path, argument):
    arguments = {"model": tiny_gpt2, "task": "factual", "out": tmp_path / "run", argument: Wrong()}
    message = refused(lambda: interp.laser_sweep(**arguments), "laser_sweep", argument)
    assert message.endswith("got Wrong() (Wrong)")


@pytest.mark.parametrize("argument", ["model", "steps", "task", "out", "laser", *_sweep_fields(SweepConfig, ("out", "model", "steps", "task", "laser"))])
def test_every_checkpoint_sweep_argument_is_checked(tiny_steps_dir, tmp_path, argument):
    arguments = {"model": str(tiny_steps_dir), "steps": "all", "task": "factual", "out": tmp_path / "sweep", argument: Wrong()}
    refused(lambda: interp.checkpoint_sweep(**arguments), "checkpoint_sweep", argument)


@pytest.mark.parametrize(
    ("function", "required"),
    [("build_task", {"name": "ioi"}), ("evaluate", {"task": "ioi"}), ("summarize", {}), ("apply_edits", {"edits": "1:mlp_in:0.5"})],
)
def test_every_argument_of_the_other_calls_is_checked(tiny_gpt2, function, required):
    call = getattr(interp, function)
    names = [p.name for p in inspect.signature(call).parameters.values() if p.kind != p.VAR_KEYWORD]
    if function == "apply_edits":
        names.remove("model")  # checked on entering the block (a TypeError, as tests/core/test_first_hour.py asserts)
    base = {"model": tiny_gpt2, **required} if function != "summarize" else {"table": {"p_answer": [0.5]}}
    for name in names:
        arguments = {**base, name: Wrong()}
        refused(lambda a=arguments: call(**a), function, name)


# --- a bare string is the list ---------------------------------------------------------------------


def test_bare_edit_string_equals_the_list(tiny_gpt2):
    facts = interp.build_task("factual", tiny_gpt2, n=6)
    listed = interp.evaluate(tiny_gpt2, facts, edits=["1:mlp_in:0.5"], progress=False)
    bare = interp.evaluate(tiny_gpt2, facts, edits="1:mlp_in:0.5", progress=False)
    pd.testing.assert_frame_equal(bare, listed)
    assert (listed["p_answer"] != listed["baseline_p_answer"]).any()  # the edit did something
    with interp.apply_edits(tiny_gpt2, "1:mlp_in:0.5") as report:
        assert report.n_matrices_edited == 1


def _laser_tables(model, out, **grid) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    best = interp.laser_sweep(model, "factual", out=out, layers="1", n=6, device="cpu", **grid)
    return pd.read_parquet(out / "results.parquet"), pd.read_parquet(out / "summary.parquet"), best["edit"]


def test_bare_grid_strings_equal_the_lists(tiny_gpt2, tmp_path):
    listed = _laser_tables(tiny_gpt2, tmp_path / "listed", rhos=[0.5, 0.1], matrices=["mlp_in"], kinds=["lowrank", "zero"])
    bare = _laser_tables(tiny_gpt2, tmp_path / "bare", rhos="0.5,0.1", matrices="mlp_in", kinds="lowrank,zero")
    pd.testing.assert_frame_equal(bare[0], listed[0])
    pd.testing.assert_frame_equal(bare[1], listed[1])
    assert bare[2] == listed[2]
    edited = listed[1][listed[1]["kind"] != "none"]
    assert set(zip(edited["kind"], edited["rho"].fillna(0))) == {("lowrank", 0.5), ("lowrank", 0.1), ("zero", 0)}
    number = _laser_tables(tiny_gpt2, tmp_path / "number", rhos=0.5, matrices="mlp_in")
    single = _laser_tables(tiny_gpt2, tmp_path / "single", rhos=[0.5], matrices=["mlp_in"])
    pd.testing.assert_frame_equal(number[0], single[0])
    assert list(single[1]["rho"][single[1]["kind"] == "lowrank"]) == [0.5]


def test_bare_laser_string_equals_the_list(tiny_steps_dir, tmp_path):
    def results(out, laser):
        report = interp.checkpoint_sweep(str(tiny_steps_dir), steps="0,1", task="factual", out=out, laser=laser, n=4, device="cpu")
        assert report.evaluated == [0, 1]
        return pd.read_parquet(out / "results.parquet")

    listed = results(tmp_path / "listed", ["1:mlp_in:0.5"])
    bare = results(tmp_path / "bare", "1:mlp_in:0.5")
    pd.testing.assert_frame_equal(bare, listed)
    assert set(listed["edit"]) == {"none", "1:mlp_in:lowrank:0.5"}
