"""Model loading: bridge vs Hugging Face, local folders, fake-hub Pythia checkpoints, errors."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM

from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS, nearest_steps, parse_step
from interp.models.loading import ModelSpec, load_model
from interp.models.tiny import TinyConfig, make_tiny_checkpoints


def test_bridge_logits_match_huggingface(tiny_model, tiny_model_dirs):
    """The bridge runs the raw HF weights: logits equal the HF model's within 1e-4."""
    arch = {"gpt2": "gpt2", "gpt_neox": "gpt-neox", "llama": "llama"}[tiny_model.arch.model_type]
    hf = AutoModelForCausalLM.from_pretrained(tiny_model_dirs[arch], attn_implementation="eager").eval()
    ids = torch.randint(1, 300, (3, 12), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    mask[2, 8:] = 0
    with torch.no_grad():
        ours = tiny_model.bridge(ids, attention_mask=mask)
        theirs = hf(ids, attention_mask=mask).logits
    assert torch.allclose(ours, theirs, atol=1e-4)


def test_weights_are_raw_not_folded(tiny_gpt2, tiny_model_dirs):
    """No LayerNorm folding or centring: the bridge's MLP matrix is the file's matrix."""
    saved = load_file(tiny_model_dirs["gpt2"] / "model.safetensors")
    live = tiny_gpt2.raw_blocks[1].mlp.c_fc.weight
    assert torch.equal(live, saved["transformer.h.1.mlp.c_fc.weight"])
    assert tiny_gpt2.raw_blocks[1].ln_2.weight.shape == (64,)


def test_pythia_checkpoint_resolves_the_right_revision(fake_pythia):
    """`--checkpoint 1000` / `step1` load refs/step1000 / refs/step1 from the (fake) hub cache."""
    import os
    from pathlib import Path

    repo = Path(os.environ["HF_HUB_CACHE"]) / "models--EleutherAI--pythia-14m"
    for step in (1, 1000):
        model = load_model(fake_pythia, f"step{step}" if step == 1 else step, device="cpu")
        commit = (repo / "refs" / f"step{step}").read_text()
        saved = load_file(repo / "snapshots" / commit / "model.safetensors")
        live = model.raw_blocks[0].mlp.dense_h_to_4h.weight
        assert torch.equal(live, saved["gpt_neox.layers.0.mlp.dense_h_to_4h.weight"])
        assert model.spec.display == f"{fake_pythia}@step{step}"


def test_pythia_step_not_in_schedule_names_nearest():
    with pytest.raises(UsageError, match=r"nearest valid steps: 1000 or 2000"):
        ModelSpec.parse("EleutherAI/pythia-160m", "1500")
    with pytest.raises(UsageError, match=r"512 or 1000"):
        ModelSpec.parse("EleutherAI/pythia-160m", "step700")


def test_checkpoint_on_non_pythia_model_is_refused():
    with pytest.raises(UsageError, match="training checkpoints"):
        ModelSpec.parse("gpt2", "1000")
    with pytest.raises(UsageError, match="no training checkpoints"):
        ModelSpec.parse("embedded:smollm2-135m", "1000")


def test_schedule_and_step_parsing():
    assert len(PYTHIA_STEPS) == 154
    assert PYTHIA_STEPS[:11] == (0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    assert PYTHIA_STEPS[-1] == 143000
    assert parse_step("step14000") == parse_step("14000") == parse_step(14000) == 14000
    with pytest.raises(UsageError):
        parse_step("step-x")
    assert nearest_steps(1500, PYTHIA_STEPS) == [1000, 2000]


def test_unknown_model_offline_is_one_clear_error():
    with pytest.raises(UsageError, match="embedded:smollm2-135m"):
        load_model("nobody/no-such-model", device="cpu")


def test_local_folder_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="not a model folder"):
        load_model(str(tmp_path / "empty"), device="cpu")
    with pytest.raises(UsageError, match="does not exist"):
        ModelSpec.parse(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="unknown embedded model"):
        ModelSpec.parse("embedded:nope")


def test_local_step_folders(tmp_path, tiny_tokenizer):
    make_tiny_checkpoints(tmp_path / "run", [0, 2], TinyConfig(arch="llama"))
    model = load_model(str(tmp_path / "run"), 2, device="cpu")
    assert model.spec.step == 2 and model.arch.model_type == "llama"
    with pytest.raises(UsageError, match="nearest valid steps: 2"):
        load_model(str(tmp_path / "run"), 3, device="cpu")
    with pytest.raises(UsageError, match="step"):
        load_model(str(tmp_path / "run"), device="cpu")  # a run folder, no checkpoint given


def test_bos_policy_and_registry(tiny_model):
    ids = tiny_model.tokenizer.encode_prompt(" the")
    assert ids[0] == tiny_model.tokenizer.bos_token_id  # tiny families prepend BOS
    arch = tiny_model.arch
    for name in ("mlp_in", "mlp_out"):
        ref = arch.ref(name)
        block = tiny_model.raw_blocks[0]
        param = block.get_parameter(ref.path)
        assert param.ndim == 2
    with pytest.raises(UsageError, match="choose from"):
        arch.ref("mlp_nonexistent")
