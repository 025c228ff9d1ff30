"""Step selection (all / log / list) and shards."""

from __future__ import annotations

import pytest

from interp.errors import UsageError
from interp.models.checkpoints import PYTHIA_STEPS
from interp.sweeps.steps import Shard, log_steps, resolve_steps


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
