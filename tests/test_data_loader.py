"""DataLoader in the main process: order, batching, shuffling, len and argument checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rtorch
from rtorch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    SequentialSampler,
    TensorDataset,
)


class Range(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i: int) -> int:
        return i

    def __len__(self) -> int:
        return self.n


class Stream(IterableDataset):
    def __init__(self, n: int, reported: int | None = None) -> None:
        self.n, self.reported = n, reported

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n if self.reported is None else self.reported


class BatchFetching(Range):
    def __init__(self, n: int) -> None:
        super().__init__(n)
        self.calls: list = []

    def __getitems__(self, indices: list) -> list:
        self.calls.append(list(indices))
        return [10 * i for i in indices]


def test_order_batch_shapes_and_last_batch():
    x = rtorch.arange(20.0).reshape(10, 2)
    y = rtorch.arange(10)
    batches = list(DataLoader(TensorDataset(x, y), batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[2][0].tolist() == [[16.0, 17.0], [18.0, 19.0]]


def test_drop_last_and_len():
    loader = DataLoader(Range(10), batch_size=4, drop_last=True)
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(loader) == 2
    assert len(DataLoader(Range(10), batch_size=4)) == 3
    assert len(DataLoader(Range(10), batch_size=None)) == 10


def test_default_batch_size_is_one():
    out = list(DataLoader(Range(3)))
    assert [b.tolist() for b in out] == [[0], [1], [2]]


def test_shuffle_with_generator_is_repeatable_and_complete():
    def epoch(seed):
        loader = DataLoader(
            Range(30), batch_size=7, shuffle=True, generator=rtorch.Generator().manual_seed(seed)
        )
        return [i for b in loader for i in b.tolist()]

    a, b = epoch(4), epoch(4)
    assert a == b and sorted(a) == list(range(30)) and a != list(range(30))
    assert epoch(5) != a
    loader = DataLoader(Range(30), shuffle=True, generator=rtorch.Generator().manual_seed(0))
    e1 = [b.item() for b in loader]
    e2 = [b.item() for b in loader]
    assert e1 != e2  # reshuffled at every epoch


def test_shuffle_follows_global_seed():
    rtorch.manual_seed(11)
    a = [b.tolist() for b in DataLoader(Range(12), batch_size=5, shuffle=True)]
    rtorch.manual_seed(11)
    b = [b.tolist() for b in DataLoader(Range(12), batch_size=5, shuffle=True)]
    assert a == b


def test_batch_size_none_converts_each_sample():
    class Arrays(Range):
        def __getitem__(self, i):
            return np.full(2, i, dtype=np.int16), i

    out = list(DataLoader(Arrays(3), batch_size=None))
    assert len(out) == 3
    arr, idx = out[1]
    assert isinstance(arr, rtorch.Tensor) and arr.dtype == rtorch.int16 and arr.tolist() == [1, 1]
    assert idx == 1  # numbers are left alone without batching


def test_getitems_is_used_for_whole_batches():
    ds = BatchFetching(5)
    out = [b.tolist() for b in DataLoader(ds, batch_size=2)]
    assert out == [[0, 10], [20, 30], [40]]
    assert ds.calls == [[0, 1], [2, 3], [4]]


def test_custom_sampler_batch_sampler_and_collate():
    loader = DataLoader(Range(6), sampler=[5, 3, 1], batch_size=2)
    assert [b.tolist() for b in loader] == [[5, 3], [1]]
    bs = BatchSampler(SequentialSampler(range(5)), 3, drop_last=False)
    loader = DataLoader(Range(5), batch_sampler=bs, collate_fn=lambda b: sum(b))
    assert list(loader) == [3, 7] and len(loader) == 2


def test_iterable_dataset_batches_and_drop_last():
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2)] == [[0, 1], [2, 3], [4]]
    assert [b.tolist() for b in DataLoader(Stream(5), batch_size=2, drop_last=True)] == [
        [0, 1],
        [2, 3],
    ]
    assert list(DataLoader(Stream(3), batch_size=None)) == [0, 1, 2]  # ints not converted
    assert len(DataLoader(Stream(5), batch_size=2)) == 3
    assert len(DataLoader(Stream(5), batch_size=2, drop_last=True)) == 2


def test_iterable_dataset_longer_than_reported_warns():
    loader = DataLoader(Stream(4, reported=2), batch_size=None)
    assert len(loader) == 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert len(list(loader)) == 4
    assert any("was reported to be 2" in str(w.message) for w in caught)


def test_argument_validation_messages():
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(Range(3), sampler=[0, 1], shuffle=True)
    with pytest.raises(
        ValueError, match="batch_sampler option is mutually exclusive with batch_size"
    ):
        DataLoader(Range(3), batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(Range(3), batch_sampler=[[0]], drop_last=True)
    with pytest.raises(ValueError, match="batch_size=None option disables auto-batching"):
        DataLoader(Range(3), batch_size=None, drop_last=True)
    with pytest.raises(ValueError, match="num_workers option should be non-negative"):
        DataLoader(Range(3), num_workers=-1)
    with pytest.raises(ValueError, match="timeout option should be non-negative"):
        DataLoader(Range(3), timeout=-1)
    with pytest.raises(ValueError, match="prefetch_factor option could only be specified"):
        DataLoader(Range(3), prefetch_factor=2)
    with pytest.raises(ValueError, match="persistent_workers option needs num_workers > 0"):
        DataLoader(Range(3), persistent_workers=True)
    with pytest.raises(ValueError, match="multiprocessing_context can only be used with"):
        DataLoader(Range(3), multiprocessing_context="fork")
    with pytest.raises(ValueError, match="should specify a valid start method"):
        DataLoader(Range(3), num_workers=1, multiprocessing_context="thread")
    with pytest.raises(TypeError, match="should be a valid context object"):
        DataLoader(Range(3), num_workers=1, multiprocessing_context=3)
    with pytest.raises(
        ValueError, match="expected unspecified shuffle option, but got shuffle=True"
    ):
        DataLoader(Stream(3), shuffle=True)
    with pytest.raises(ValueError, match="expected unspecified sampler option"):
        DataLoader(Stream(3), sampler=[0])
    with pytest.raises(ValueError, match="expected unspecified batch_sampler option"):
        DataLoader(Stream(3), batch_sampler=[[0]])


def test_attributes_frozen_after_init():
    loader = DataLoader(Range(3), batch_size=2)
    with pytest.raises(
        ValueError, match="batch_size attribute should not be set after DataLoader is initialized"
    ):
        loader.batch_size = 3
    loader.num_workers = 0  # not frozen, as in PyTorch


def test_pin_memory_is_accepted_with_a_warning():
    with pytest.warns(UserWarning, match="no accelerator is found"):
        out = list(DataLoader(Range(2), batch_size=2, pin_memory=True))
    assert out[0].tolist() == [0, 1]


def test_main_process_has_no_worker_info():
    from rtorch.utils.data import get_worker_info

    assert get_worker_info() is None


def test_timeout_needs_workers():
    with pytest.raises(AssertionError, match="requires timeout == 0"):
        iter(DataLoader(Range(2), timeout=1))
