"""Samplers: semantics, statistics and DistributedSampler partitions computed by hand."""

from __future__ import annotations

from collections import Counter

import pytest

import rtorch
from rtorch.utils.data import (
    BatchSampler,
    DistributedSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)


def test_sampler_base_and_sequential():
    with pytest.raises(NotImplementedError):
        iter(Sampler())
    s = SequentialSampler(range(5))
    assert list(s) == [0, 1, 2, 3, 4] and len(s) == 5
    assert list(SequentialSampler([])) == []


def test_random_sampler_is_a_permutation_and_repeatable():
    g = rtorch.Generator().manual_seed(0)
    first = list(RandomSampler(range(50), generator=g))
    assert sorted(first) == list(range(50)) and first != list(range(50))
    again = list(RandomSampler(range(50), generator=rtorch.Generator().manual_seed(0)))
    assert first == again
    rtorch.manual_seed(5)
    a = list(RandomSampler(range(20)))
    rtorch.manual_seed(5)
    b = list(RandomSampler(range(20)))
    assert a == b
    # Each epoch (new iterator) draws a new permutation.
    s = RandomSampler(range(20), generator=rtorch.Generator().manual_seed(1))
    assert list(s) != list(s)


def test_random_sampler_num_samples_without_replacement_chains_permutations():
    s = RandomSampler(range(10), num_samples=25, generator=rtorch.Generator().manual_seed(2))
    out = list(s)
    assert len(out) == 25 == len(s)
    assert sorted(out[:10]) == list(range(10)) and sorted(out[10:20]) == list(range(10))
    assert len(set(out[20:])) == 5
    assert len(list(RandomSampler(range(10), num_samples=3))) == 3


def test_random_sampler_with_replacement_statistics():
    s = RandomSampler(
        range(4), replacement=True, num_samples=4000, generator=rtorch.Generator().manual_seed(3)
    )
    out = list(s)
    assert len(out) == 4000 and set(out) <= {0, 1, 2, 3}
    counts = Counter(out)
    for k in range(4):  # each ~1000; binomial std ~27, allow > 5 std
        assert abs(counts[k] - 1000) < 150
    assert len(list(RandomSampler(range(4), replacement=True, num_samples=33))) == 33


def test_random_sampler_errors():
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        RandomSampler([])


def test_subset_random_sampler():
    s = SubsetRandomSampler([10, 20, 30, 40], generator=rtorch.Generator().manual_seed(0))
    out = list(s)
    assert sorted(out) == [10, 20, 30, 40] and len(s) == 4


def test_weighted_random_sampler_statistics():
    g = rtorch.Generator().manual_seed(0)
    out = list(WeightedRandomSampler([0.0, 1.0, 3.0], 4000, generator=g))
    counts = Counter(out)
    assert counts[0] == 0
    assert abs(counts[2] / 4000 - 0.75) < 0.04  # std of the frequency ~0.007
    no_repl = list(WeightedRandomSampler([1.0, 1.0, 1.0, 0.0], 3, replacement=False))
    assert sorted(no_repl) == [0, 1, 2]
    assert len(WeightedRandomSampler([1, 2], 7)) == 7


def test_weighted_random_sampler_errors():
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        WeightedRandomSampler([1.0], 0)
    with pytest.raises(ValueError, match="replacement should be a boolean value"):
        WeightedRandomSampler([1.0], 1, replacement=0)
    with pytest.raises(ValueError, match=r"weights should be a 1d sequence.*\(2, 1\)"):
        WeightedRandomSampler([[1.0], [2.0]], 1)


def test_batch_sampler_last_batch_and_drop_last():
    s = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False)
    assert list(s) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]] and len(s) == 4
    s = BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=True)
    assert list(s) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]] and len(s) == 3
    s = BatchSampler(range(6), batch_size=3, drop_last=True)
    assert list(s) == [[0, 1, 2], [3, 4, 5]] and len(s) == 2
    assert list(BatchSampler([], 2, False)) == []
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        BatchSampler(range(3), 2, None)


def test_distributed_sampler_pads_by_repeating_head():
    # 10 items over 3 replicas: 4 each, total 12, padded with items 0 and 1.
    parts = [list(DistributedSampler(range(10), 3, r, shuffle=False)) for r in range(3)]
    assert parts == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]
    assert len(DistributedSampler(range(10), 3, 0, shuffle=False)) == 4


def test_distributed_sampler_drop_last():
    parts = [
        list(DistributedSampler(range(10), 3, r, shuffle=False, drop_last=True)) for r in range(3)
    ]
    assert parts == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    # Divisible length: drop_last changes nothing.
    assert list(DistributedSampler(range(6), 2, 1, shuffle=False, drop_last=True)) == [1, 3, 5]


def test_distributed_sampler_tiny_dataset_repeats_several_times():
    # 2 items over 5 replicas: [0, 1] padded to [0, 1, 0, 1, 0].
    parts = [list(DistributedSampler(range(2), 5, r, shuffle=False)) for r in range(5)]
    assert parts == [[0], [1], [0], [1], [0]]


def test_distributed_sampler_shuffle_partitions_and_epochs():
    samplers = [DistributedSampler(range(12), 4, r, shuffle=True, seed=3) for r in range(4)]
    parts = [list(s) for s in samplers]
    assert sorted(i for p in parts for i in p) == list(range(12))
    assert parts == [list(DistributedSampler(range(12), 4, r, seed=3)) for r in range(4)]
    for s in samplers:
        s.set_epoch(1)
    parts1 = [list(s) for s in samplers]
    assert sorted(i for p in parts1 for i in p) == list(range(12))
    assert parts1 != parts
    # The shuffle is the permutation of seed + epoch, strided by rank.
    g = rtorch.Generator().manual_seed(3 + 1)
    perm = rtorch.randperm(12, generator=g).tolist()
    assert parts1[2] == perm[2::4]


def test_distributed_sampler_errors():
    with pytest.raises(
        ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"
    ):
        DistributedSampler(range(4), num_replicas=3, rank=3)
    with pytest.raises(ValueError, match="Invalid rank -1"):
        DistributedSampler(range(4), num_replicas=3, rank=-1)
    with pytest.raises(RuntimeError, match="Requires distributed package to be available"):
        DistributedSampler(range(4))
