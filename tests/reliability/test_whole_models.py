"""Models load only when whole: weights that do not match their config, a folder without tokenizer
files and nonsense sizes in a config are one-line errors naming what is missing, never a model
completed with random tensors (issue 22, item 2)."""

from __future__ import annotations

import json
import shutil

import pytest
from cli_helpers import assert_one_line_error, run
from safetensors.torch import load_file, save_file

from interp.errors import UsageError
from interp.models.loading import load_model
from interp.models.tiny import TinyConfig, make_tiny_model


@pytest.fixture(scope="module")
def broken(tmp_path_factory, tiny_model_dirs, tiny_tokenizer):
    """Damaged copies of the tiny GPT-2 folder, by what is wrong with them."""
    root = tmp_path_factory.mktemp("whole")
    gpt2 = tiny_model_dirs["gpt2"]
    folders = {}
    # config declares 5 layers, the weights hold 2
    five = make_tiny_model(root / "five-declared", TinyConfig(arch="gpt2", n_layers=5), tiny_tokenizer)
    shutil.copy(gpt2 / "model.safetensors", five / "model.safetensors")
    folders["layers"] = five
    # Llama weights in a GPT-2 folder
    folders["llama"] = shutil.copytree(gpt2, root / "llama-weights")
    shutil.copy(tiny_model_dirs["llama"] / "model.safetensors", folders["llama"] / "model.safetensors")
    # no tokenizer files at all
    folders["no-tokenizer"] = shutil.copytree(gpt2, root / "no-tokenizer")
    for path in folders["no-tokenizer"].glob("tokenizer*"):
        path.unlink()
    # a nonsense size in config.json
    folders["n_layer"] = shutil.copytree(gpt2, root / "negative-layers")
    config = json.loads((gpt2 / "config.json").read_text())
    (folders["n_layer"] / "config.json").write_text(json.dumps({**config, "n_layer": -1}))
    return {key: str(path) for key, path in folders.items()}


def test_fewer_layers_stored_than_declared(broken):
    result = run("predict", "--model", broken["layers"], "The city of")
    # 3 missing blocks of 12 tensors each; the names say which blocks
    assert_one_line_error(result, "do not match its config.json", "36 tensors", "missing", "transformer.h.2.")


def test_another_architectures_weights(broken):
    result = run("predict", "--model", broken["llama"], "The city of")
    assert_one_line_error(result, "missing", "unexpected", "model.layers.0.", "transformer.h.0.")


def test_folder_without_tokenizer(broken):
    assert_one_line_error(run("predict", "--model", broken["no-tokenizer"], "The city of"), "no tokenizer files", "tokenizer.json")


def test_missing_tokenizer_is_not_blamed_on_the_task(broken, tmp_path):
    result = run("eval", "--model", broken["no-tokenizer"], "--task", "factual", "--n", "4", "--out", str(tmp_path / "ev"))
    assert_one_line_error(result, "no tokenizer files")
    assert "facts.jsonl" not in result.output


def test_nonsense_size_in_config(broken):
    assert_one_line_error(run("predict", "--model", broken["n_layer"], "The city of"), "n_layer is -1", ">= 1")


@pytest.mark.parametrize("case", ["layers", "llama", "no-tokenizer", "n_layer"])
def test_python_load_refuses(broken, case):
    with pytest.raises(UsageError):
        load_model(broken[case], device="cpu")


def test_whole_tiny_models_load_with_their_weights(tiny_model_dirs):
    """The check must not refuse a whole folder, and what loads is the stored weights."""
    for arch, folder in tiny_model_dirs.items():
        model = load_model(str(folder), device="cpu")
        stored = load_file(str(folder / "model.safetensors"))
        # the bridge wraps each module in place: its state-dict names carry "._original_component"
        own = {k.replace("._original_component", ""): v for k, v in model.bridge.original_model.state_dict().items()}
        shared = [k for k in stored if k in own]
        assert len(shared) > len(stored) // 2, (arch, sorted(stored)[:5])
        assert all(own[k].equal(stored[k]) for k in shared), arch


@pytest.fixture
def toy_step(tmp_path):
    from interp.toy.checkpoint import save_checkpoint, write_run_config
    from interp.toy.configs import preset, with_overrides
    from interp.toy.model import ToyTransformer

    cfg = with_overrides(preset("chen", steps=2), {"model.d_model": 16, "model.d_mlp": 16, "model.n_ctx": 16, "data.seq_len": 16})
    write_run_config(tmp_path / "run", cfg)
    return save_checkpoint(tmp_path / "run", 0, ToyTransformer(cfg.model), cfg)


def test_toy_step_loads_whole(toy_step):
    from interp.toy.checkpoint import load_checkpoint

    model, _ = load_checkpoint(toy_step)
    stored = load_file(str(toy_step / "model.safetensors"))
    assert all(model.state_dict()[k].equal(v) for k, v in stored.items())


@pytest.mark.parametrize("damage", ["drop", "extra", "resize"])
def test_toy_step_that_does_not_match_its_config(toy_step, damage):
    from interp.toy.checkpoint import load_checkpoint

    weights = toy_step / "model.safetensors"
    state = load_file(str(weights))
    name = sorted(state)[0]
    if damage == "drop":
        del state[name]
    elif damage == "extra":
        state["blocks.9.stray"] = state[name].clone()
    else:
        state[name] = state[name][..., :1].clone()
    save_file(state, str(weights))
    with pytest.raises(UsageError, match="do not match its config.json") as err:
        load_checkpoint(toy_step)
    assert ("blocks.9.stray" if damage == "extra" else name) in str(err.value)
    assert len(str(err.value).splitlines()) == 1
