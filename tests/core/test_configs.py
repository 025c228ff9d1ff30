"""Configs hold parsed values, serialise to JSON and load back on any machine (the paths need not exist)."""

from __future__ import annotations

import json

import pytest

from interp.attribution.run import AttributionRun, run_attribution
from interp.checkpoint_sweeps.run import SweepConfig
from interp.edits.grid import LayerSpec
from interp.edits.spec import Edit, parse_edits
from interp.errors import UsageError
from interp.gsm8k.run import GSM8KRun
from interp.io import to_jsonable
from interp.laser.run import LaserSweep
from interp.models.spec import ModelSpec
from interp.scoring.run import EvalRun
from interp.toy.configs import RunConfig, preset, with_overrides


def _round_trip(config):
    text = json.dumps(to_jsonable(config))
    return type(config).from_dict(json.loads(text))


def test_eval_run_round_trip():
    config = EvalRun(out="/elsewhere/out", model=ModelSpec.parse("gpt2"), task="ioi", n=7,
                     edits=parse_edits(["3:mlp_in:0.1", "2:attn_o:zero", "1:mlp_out:remove_top:2"]), lm_cost=False)
    assert _round_trip(config) == config
    assert json.loads(json.dumps(to_jsonable(config)))["edits"] == ["3:mlp_in:lowrank:0.1", "2:attn_o:zero", "1:mlp_out:remove_top:2"]


def test_a_saved_config_loads_where_its_folders_do_not_exist():
    saved = {"out": "/nowhere/out", "model": {"source": "local", "name": "/nowhere/model", "step": 5},
             "task": "factual", "edits": ["1:mlp_in:0.5"], "model_display": "ignored"}
    config = EvalRun.from_dict(saved)
    assert config.model == ModelSpec("local", "/nowhere/model", 5) and config.edits == (Edit(1, "mlp_in", "lowrank", 0.5),)


def test_laser_sweep_round_trip():
    config = LaserSweep(out="o", model=ModelSpec.parse("embedded:gemma-3-270m"), layers=LayerSpec.parse("last-third"),
                        matrices=("mlp_in",), rhos=(0.5, 0.01), kinds=("lowrank", "remove_top"), n=10)
    again = _round_trip(config)
    assert again == config and again.layers.resolve(18) == tuple(range(12, 18))


def test_sweep_config_round_trip():
    config = SweepConfig(out="o", model=ModelSpec("hub", "EleutherAI/pythia-160m"), steps="log", task="factual",
                         laser=(Edit.parse("5:mlp_in:0.05"), Edit.parse("5:mlp_in:0.5")))
    assert _round_trip(config) == config


def test_gsm8k_run_round_trip_and_older_folders():
    config = GSM8KRun(out="o", model=ModelSpec.parse("EleutherAI/pythia-160m", "step14000"), n=200, data="/nowhere/test.jsonl",
                      edits=parse_edits(["20:mlp_in:0.1", "3:mlp_out:zero"]), matrices=("mlp_in",), rhos=(0.5,))
    assert _round_trip(config) == config  # loads where its data file does not exist
    # a folder written while the model was a string with its own checkpoint field
    older = {"out": "o", "model": "EleutherAI/pythia-160m", "checkpoint": "step14000", "n": 200, "edits": ["20:mlp_in:lowrank:0.1"]}
    again = GSM8KRun.from_dict(older)
    assert again.model == ModelSpec("hub", "EleutherAI/pythia-160m", 14000) and again.edits == (Edit(20, "mlp_in", "lowrank", 0.1),)
    with pytest.raises(UsageError, match="must be a ModelSpec"):
        GSM8KRun(out="o", model="gpt2")


def test_gsm8k_run_holds_a_layer_spec():
    config = GSM8KRun(out="o", laser_grid=True, layers=LayerSpec.parse("-2:"), matrices=("mlp_in",), rhos=(0.5,))
    again = _round_trip(config)
    assert again == config and again.layers.resolve(30) == (28, 29)
    assert GSM8KRun.from_dict({"out": "o", "layers": "20,24"}).layers == LayerSpec.parse("20,24")  # as config.json holds it
    with pytest.raises(UsageError, match="LayerSpec"):
        GSM8KRun(out="o", laser_grid=True, layers="all")


def test_attribution_run_round_trip_reads_no_file(tmp_path):
    missing = tmp_path / "nowhere" / "prompts.txt"
    config = AttributionRun(out=str(tmp_path / "out"), model=ModelSpec("local", "/nowhere/model"), prompts_file=str(missing),
                            layers=LayerSpec.parse("1,3"), ig_steps=4)
    assert _round_trip(config) == config  # built and loaded back where neither the model nor the prompts exist
    with pytest.raises(UsageError, match="does not exist"):
        run_attribution(config)  # the files are read when the run starts
    assert not (tmp_path / "out").exists()
    with pytest.raises(UsageError, match="must be a ModelSpec"):
        AttributionRun(out="o", model="gpt2", prompt="x")
    with pytest.raises(UsageError, match="must be a LayerSpec"):
        AttributionRun(out="o", prompt="x", layers="all")


def test_toy_run_config_round_trip():
    for config in (preset("chen"), preset("birth", n_layers=1), with_overrides(preset("chen"), {"model.mlp": "[1, 0]"})):
        assert _round_trip(config) == config
        assert RunConfig.from_dict(json.loads(config.to_json())) == config
    mlp = with_overrides(preset("chen"), {"model.mlp": "[1, 0]"}).to_dict()["model"]["mlp"]
    assert mlp == [True, False] and all(type(x) is bool for x in mlp)  # written as JSON true/false, not 1/0
    with pytest.raises(UsageError, match="not a toy run config"):
        RunConfig.from_dict({"name": "chen", "data": {}, "model": {}})  # no optim
    with pytest.raises(UsageError, match="not a toy run config"):
        RunConfig.from_dict({**preset("chen").to_dict(), "colour": "red"})


def test_configs_refuse_unparsed_values():
    with pytest.raises(UsageError, match="must be a ModelSpec"):
        EvalRun(out="o", model="gpt2")
    with pytest.raises(UsageError, match="parsed edits"):
        SweepConfig(out="o", model=ModelSpec.parse("gpt2"), steps="all", task="factual", laser=("1:mlp_in:0.5",))
    with pytest.raises(UsageError, match="LayerSpec"):
        LaserSweep(out="o", layers="all")


def test_layer_spec():
    assert LayerSpec.parse("28:").resolve(30) == (28, 29)
    assert LayerSpec.parse("-2:").resolve(30) == (28, 29)
    assert LayerSpec.parse("1,3").resolve(4) == (1, 3)
    with pytest.raises(UsageError, match="--layers must be"):
        LayerSpec.parse("a:b")
    with pytest.raises(UsageError, match="out of range"):
        LayerSpec.parse("7").resolve(4)


def test_model_spec_of_a_toy_run_and_its_step_folder(tmp_path):
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=2), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    write_run_config(tmp_path / "run", cfg)
    for step in (0, 2):
        save_checkpoint(tmp_path / "run", step, ToyTransformer(cfg.model), cfg)
    run = str((tmp_path / "run").resolve())
    assert ModelSpec.parse(str(tmp_path / "run")) == ModelSpec("toy", run)
    assert ModelSpec.parse(str(tmp_path / "run"), "2") == ModelSpec("toy", run, 2)
    assert ModelSpec.parse(str(tmp_path / "run" / "step2")) == ModelSpec("toy", run, 2)
    from interp.models.loading import load_model

    model = load_model(str(tmp_path / "run"), device="cpu")
    assert model.is_toy and model.spec.step == 2 and model.tokenizer is None and model.n_layers == 2
