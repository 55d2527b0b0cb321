"""Parity with PyTorch's torch.utils.data where PyTorch is installed (skipped otherwise).

Run where PyTorch is importable; here (PyTorch in its own virtualenv) for example:
``PYTHONPATH=python:.venv/lib/python3.11/site-packages /work/torchvenv/bin/python -m pytest
tests/test_data_parity.py``.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import rtorch
import rtorch.utils.data as rdata

Pair = namedtuple("Pair", "a b")


def plain(obj):
    """A library-neutral picture of a batch: tensors become (dtype name, shape, values)."""
    if hasattr(obj, "dtype") and hasattr(obj, "tolist") and not isinstance(obj, np.ndarray):
        return ("tensor", str(obj.dtype).split(".")[-1], tuple(obj.shape), obj.tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, {k: plain(v) for k, v in obj.items()})
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return ("namedtuple", type(obj).__name__, [plain(v) for v in obj])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [plain(v) for v in obj])
    return obj


def batches(lib, make):
    return [
        [1.5, 2.5],
        [1, 2],
        [True, False],
        ["a", "b"],
        [np.array([1, 2], dtype=np.int32), np.array([3, 4], dtype=np.int32)],
        [np.float32(1.0), np.float32(2.0)],
        [(1, "x", {"k": 2.0}), (3, "y", {"k": 4.0})],
        [Pair(1.0, [1, 2]), Pair(2.0, [3, 4])],
        [{"t": make([1.0, 2.0]), "n": [0, 1]}, {"t": make([3.0, 4.0]), "n": [2, 3]}],
    ]


def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    for ours, theirs in zip(
        batches(rtorch, rtorch.tensor), batches(torch, torch.tensor), strict=True
    ):
        assert plain(rdata.default_collate(ours)) == plain(torch_collate(theirs))


def test_default_convert_matches_torch():
    pytest.importorskip("torch")
    from torch.utils.data import default_convert as torch_convert

    sample = (np.arange(3.0), 2, "s", {"a": np.int16(4)}, Pair(np.zeros(2, np.uint8), 1.5))
    assert plain(rdata.default_convert(sample)) == plain(torch_convert(sample))


@pytest.mark.parametrize("n", [1, 2, 7, 10, 12])
@pytest.mark.parametrize("replicas", [1, 3, 5])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_partitions_match_torch(n, replicas, drop_last):
    pytest.importorskip("torch")
    from torch.utils.data import DistributedSampler as TorchSampler

    for rank in range(replicas):
        ours = rdata.DistributedSampler(
            range(n), replicas, rank, shuffle=False, drop_last=drop_last
        )
        theirs = TorchSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize(
    "n, lengths",
    [(11, [0.5, 0.5]), (10, [1 / 3, 1 / 3, 1 / 3]), (7, [0.25] * 4), (30, [0.3, 0.3, 0.4])],
)
def test_random_split_lengths_match_torch(n, lengths):
    torch = pytest.importorskip("torch")

    ours = [len(s) for s in rdata.random_split(range(n), lengths)]
    theirs = [len(s) for s in torch.utils.data.random_split(range(n), lengths)]
    assert ours == theirs


@pytest.mark.parametrize(
    "batch_size, drop_last", [(1, False), (3, False), (3, True), (None, False)]
)
def test_loader_batches_match_torch(batch_size, drop_last):
    torch = pytest.importorskip("torch")

    x = np.arange(20.0).reshape(10, 2)
    ours = rdata.DataLoader(
        rdata.TensorDataset(rtorch.tensor(x), rtorch.arange(10)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(x), torch.arange(10)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    assert [plain(b) for b in ours] == [plain(b) for b in theirs]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sampler": [0], "shuffle": True},
        {"batch_sampler": [[0]], "batch_size": 2},
        {"batch_size": None, "drop_last": True},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
        {"multiprocessing_context": "spawn"},
        {"num_workers": 1, "multiprocessing_context": "nope"},
    ],
)
def test_argument_errors_match_torch(kwargs):
    torch = pytest.importorskip("torch")

    with pytest.raises(Exception) as ours:
        rdata.DataLoader(list(range(3)), **kwargs)
    with pytest.raises(Exception) as theirs:
        torch.utils.data.DataLoader(list(range(3)), **kwargs)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)
