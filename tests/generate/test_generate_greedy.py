"""Batched greedy generation: equal to one prompt at a time, with and without prefix reuse and
edits; the first generated step equals the bridge's hooked forward under every edit kind;
stopping; the model left as it was."""

from __future__ import annotations

import pytest
import torch

from interp.edits.apply import apply_edits
from interp.edits.means import sublayer_means
from interp.edits.spec import Edit
from interp.generate import GenerateConfig, Generator, cut_at_stop, plan_batches, split_common_prefix
from interp.generate.backend import bridge_sees_cache, generation_forward, hooks_active, plain_hf, plain_is_exact
from interp.scoring.lm_loss import lm_batches, lm_contexts
from interp.tasks import gsm8k_readout as gsm

QUESTIONS = (
    "Tom has 3 apples and buys 4 more. How many apples does he have?",
    "A box holds 12 pens. How many pens are in 2 boxes?",
    "The king had 5 horses and bought 10 more, then sold 3. How many horses are left in the town?",
    "How many is 2 and 2?",
)
MEAN_TEXT = " ".join(["When the morning came, the travellers went to the market in the town."] * 40)


def _prompts(model, n_shot: int = 2):
    few_shot = gsm.FewShotPrompt(tuple(gsm.wei_exemplars()[:n_shot]))
    prefix = model.tokenizer.encode_prompt(few_shot.prefix)
    suffixes = [model.tokenizer.tokenizer.encode(few_shot.suffix(q), add_special_tokens=False) for q in QUESTIONS]
    return prefix, suffixes


def _generate(model, prefix, suffixes, *, batch_size, reuse, max_new_tokens=8, backend="auto", stop=("Q:",)):
    config = GenerateConfig(max_new_tokens=max_new_tokens, batch_size=batch_size, stop=stop, reuse_prefix=reuse, backend=backend)
    generator = Generator(model, prefix, config)
    out = []
    for start in range(0, len(suffixes), batch_size):
        out.extend(generator.run_batch(suffixes[start : start + batch_size]).generations)
    return out


def _means(model, edits):
    keys = [(e.layer, "attn" if e.matrix.startswith("attn") else "mlp") for e in edits if e.kind == "mean"]
    if not keys:
        return None
    return sublayer_means(model, lm_batches(model, lm_contexts(model, MEAN_TEXT, "test", n_tokens=256, context=64)), keys)


EDITS = {
    "none": (),
    "lowrank": (Edit(0, "mlp_in", "lowrank", 0.25),),
    "attn-lowrank": (Edit(1, "attn_v", "lowrank", 0.25),),
    "zero": (Edit(1, "mlp_out", "zero"),),
    "random": (Edit(0, "mlp_out", "random", 0.5),),
    "mean": (Edit(1, "mlp_out", "mean"),),
}


@pytest.mark.parametrize("edit_name", ["none", "lowrank", "mean"])
def test_batched_equals_one_at_a_time_with_and_without_prefix_reuse(long_tiny, edit_name):
    edits = EDITS[edit_name]
    prefix, suffixes = _prompts(long_tiny)
    means = _means(long_tiny, edits)
    with apply_edits(long_tiny, edits, means=means):
        reference = _generate(long_tiny, prefix, suffixes, batch_size=1, reuse=False)
        for batch_size, reuse in ((4, True), (3, False)):
            got = _generate(long_tiny, prefix, suffixes, batch_size=batch_size, reuse=reuse)
            assert [g.token_ids for g in got] == [r.token_ids for r in reference], (batch_size, reuse)
            assert [g.text for g in got] == [r.text for r in reference]
    assert all(r.n_tokens >= 1 for r in reference)


def test_an_edit_changes_the_generation(long_tiny):
    prefix, suffixes = _prompts(long_tiny)
    base = _generate(long_tiny, prefix, suffixes, batch_size=4, reuse=True)
    with apply_edits(long_tiny, (Edit(1, "mlp_out", "zero"), Edit(0, "mlp_out", "zero"))):
        edited = _generate(long_tiny, prefix, suffixes, batch_size=4, reuse=True)
    assert [g.token_ids for g in base] != [g.token_ids for g in edited]
    again = _generate(long_tiny, prefix, suffixes, batch_size=4, reuse=True)
    assert [g.token_ids for g in again] == [g.token_ids for g in base]  # weights restored


@pytest.mark.parametrize("edit_name", list(EDITS))
def test_first_generated_step_equals_the_hooked_forward(long_tiny, edit_name):
    edits = EDITS[edit_name]
    prefix, suffixes = _prompts(long_tiny)
    means = _means(long_tiny, edits)
    with apply_edits(long_tiny, edits, means=means):
        with torch.inference_mode():
            expected = torch.stack([long_tiny.bridge(torch.tensor([prefix + s]))[0, -1] for s in suffixes])
        for reuse in (True, False):
            config = GenerateConfig(max_new_tokens=1, batch_size=4, stop=("Q:",), reuse_prefix=reuse)
            first = Generator(long_tiny, prefix, config).run_batch(suffixes).first_logits
            torch.testing.assert_close(first, expected.float(), atol=1e-4, rtol=1e-4)
    if edit_name != "none":
        with torch.inference_mode():
            unedited = torch.stack([long_tiny.bridge(torch.tensor([prefix + s]))[0, -1] for s in suffixes])
        assert not torch.allclose(unedited, expected, atol=1e-4)  # the edit mattered


def test_plain_and_bridge_trees_generate_the_same(long_tiny):
    prefix, suffixes = _prompts(long_tiny)
    plain = _generate(long_tiny, prefix, suffixes, batch_size=4, reuse=True, backend="plain")
    bridge = _generate(long_tiny, prefix, suffixes, batch_size=4, reuse=True, backend="bridge")
    assert [g.token_ids for g in plain] == [g.token_ids for g in bridge]


def test_backend_choice(long_tiny):
    arch = long_tiny.arch.model_type
    assert not hooks_active(long_tiny)
    # GPT-NeoX's bridge reads its own q/k/v copies, so only the bridge tree is exact there
    assert plain_is_exact(long_tiny) == (arch != "gpt_neox")
    with long_tiny.bridge.hooks(fwd_hooks=[("blocks.0.hook_mlp_out", lambda act, hook: act)]):
        assert hooks_active(long_tiny)
        assert not plain_is_exact(long_tiny)
        with generation_forward(long_tiny) as backend:
            assert backend == "bridge"


def test_the_module_tree_and_hooks_are_restored(long_tiny):
    before = {name: type(m) for name, m in long_tiny.raw_model.named_modules()}
    pre_hooks = sum(len(m._forward_pre_hooks) for m in long_tiny.raw_model.modules())
    implementation = long_tiny.raw_model.config._attn_implementation
    ids = torch.tensor([_prompts(long_tiny)[0]])
    with torch.inference_mode():
        logits = long_tiny.bridge(ids)
    with plain_hf(long_tiny):
        assert {type(m) for m in long_tiny.raw_model.modules()} != set(before.values())
    with bridge_sees_cache(long_tiny):
        pass
    _generate(long_tiny, *_prompts(long_tiny), batch_size=2, reuse=True)
    assert {name: type(m) for name, m in long_tiny.raw_model.named_modules()} == before
    assert long_tiny.raw_model.config._attn_implementation == implementation
    assert sum(len(m._forward_pre_hooks) for m in long_tiny.raw_model.modules()) == pre_hooks
    with torch.inference_mode():
        assert torch.equal(long_tiny.bridge(ids), logits)


def test_stop_string_and_length(tiny_gpt2):
    prefix, suffixes = _prompts(tiny_gpt2, n_shot=0)
    free = _generate(tiny_gpt2, prefix, suffixes[:2], batch_size=2, reuse=True, max_new_tokens=6, stop=())
    assert all(g.finish == "length" and g.n_tokens == 6 for g in free if g.finish != "eos")
    first_token_text = tiny_gpt2.tokenizer.tokenizer.decode([free[0].token_ids[0]])
    stopped = _generate(tiny_gpt2, prefix, suffixes[:1], batch_size=1, reuse=True, max_new_tokens=6, stop=(first_token_text,))
    assert stopped[0].finish == "stop"
    assert stopped[0].token_ids == free[0].token_ids[:1]
    assert stopped[0].text == ""


def test_zero_shot_without_a_prefix(long_tiny_dirs):
    from interp.models.loading import load_model

    model = load_model(str(long_tiny_dirs["llama"]), device="cpu")
    model = type(model)(model.bridge, type(model.tokenizer)(model.tokenizer.tokenizer, False), model.arch, model.spec)
    prefix, suffixes = _prompts(model, n_shot=0)
    assert prefix == []
    batched = _generate(model, prefix, suffixes, batch_size=4, reuse=True)
    single = _generate(model, prefix, suffixes, batch_size=1, reuse=False)
    assert [g.token_ids for g in batched] == [g.token_ids for g in single]


def test_cut_at_stop_and_plan_batches():
    assert cut_at_stop("So 7.\n\nQ: next", ("Q:",)) == ("So 7.\n\n", True)
    assert cut_at_stop("no stop", ("Q:",)) == ("no stop", False)
    assert cut_at_stop("a</s>b Q:", ("Q:", "</s>")) == ("a", True)
    assert plan_batches([5, 1, 3, 1], 2) == [[1, 3], [2, 0]]
    assert split_common_prefix([[1, 2, 3, 4], [1, 2, 5]]) == ((1, 2), ((3, 4), (5,)))
    assert split_common_prefix([[1, 2, 3], [1, 2, 3]]) == ((1, 2), ((3,), (3,)))  # every rest keeps a token
    assert split_common_prefix([[7, 8]]) == ((7,), ((8,),))


def test_bad_generation_options():
    from interp.errors import UsageError

    with pytest.raises(UsageError, match="--max-new-tokens"):
        GenerateConfig(max_new_tokens=0)
    with pytest.raises(UsageError, match="--batch-size"):
        GenerateConfig(batch_size=0)
