"""Step selection (all / log / list) and shards."""

from __future__ import annotations

import pytest

from interp.checkpoint_sweeps.steps import PAPER_STEPS, Shard, log_steps, resolve_steps
from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS


def test_log_steps_on_pythia_schedule():
    steps = log_steps(PYTHIA_STEPS)
    assert steps[:11] == [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert steps[-1] == PYTHIA_STEPS[-1]
    assert set(steps) <= set(PYTHIA_STEPS)
    late = [s for s in steps if s > 512]
    # about two steps per octave from 512 to 143000 (8.1 octaves)
    assert 12 <= len(late) <= 18
    ratios = [b / a for a, b in zip(late, late[1:])]
    assert all(1.05 < r < 2.1 for r in ratios)


def test_log_steps_include_14000():
    """The step at which the paper reports its Pythia ratios; only where the schedule has it."""
    steps = log_steps(PYTHIA_STEPS)
    assert 14000 in steps
    assert [s for s in steps if 8000 <= s <= 23000] == [8000, 12000, 14000, 16000, 23000]
    assert 14000 not in log_steps([0, 100, 200, 300])
    assert log_steps([0, 1000, 14000, 20000]) == [0, 1000, 14000, 20000]


def test_paper_steps():
    steps = resolve_steps("paper", PYTHIA_STEPS, "EleutherAI/pythia-1b")
    assert steps == list(PAPER_STEPS)
    assert steps[0] == 0 and steps[-1] == 14000 and 14000 in steps
    assert steps == sorted(set(steps)) and set(steps) <= set(PYTHIA_STEPS)
    # the whole Pythia schedule up to 14000: early powers of two, then every 1000 steps
    assert steps == [s for s in PYTHIA_STEPS if s <= 14000]
    assert resolve_steps(" Paper ", PYTHIA_STEPS, "pythia") == steps


def test_paper_steps_on_a_schedule_without_them():
    with pytest.raises(UsageError, match=r"--steps paper names Pythia checkpoints 0\.\.14000, but /tmp/run lacks 1000"):
        resolve_steps("paper", [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512], "/tmp/run")


def test_log_steps_of_a_short_local_run():
    assert log_steps([0, 1, 2, 4]) == [0, 1, 2, 4]
    assert log_steps([0, 100, 200, 300]) == [0, 100, 300]


def test_all_and_lists():
    assert resolve_steps("all", [4, 0, 2], "run") == [0, 2, 4]
    assert resolve_steps("1000, step0,512", PYTHIA_STEPS, "pythia") == [0, 512, 1000]


def test_a_step_not_in_the_schedule_names_the_nearest():
    with pytest.raises(UsageError, match="step 1500 is not a checkpoint of EleutherAI/pythia-70m; nearest valid steps: 1000 or 2000"):
        resolve_steps("0,1500", PYTHIA_STEPS, "EleutherAI/pythia-70m")


@pytest.mark.parametrize("count", [1, 2, 3, 5, 7, 154, 200])
def test_shards_partition_the_steps(count):
    steps = list(PYTHIA_STEPS)
    shares = [Shard(i, count).select(steps) for i in range(count)]
    flat = [s for share in shares for s in share]
    assert sorted(flat) == steps  # every step once: disjoint and complete
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("text", ["2/2", "-1/3", "1/0", "1", "a/b", "1/2/3", "0/"])
def test_bad_shards(text):
    with pytest.raises(UsageError, match="--shard must be I/N with 0 <= I < N"):
        Shard.parse(text)


def test_shard_parse():
    assert Shard.parse(" 3/8 ") == Shard(3, 8)
    assert Shard.parse(None) == Shard(0, 1)
