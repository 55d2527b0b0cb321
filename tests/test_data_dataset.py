"""Datasets and random_split: expectations computed by hand."""

from __future__ import annotations

import warnings

import pytest

import rtorch
from rtorch.utils.data import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)


class Squares(Dataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __getitem__(self, i: int) -> int:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return i * i

    def __len__(self) -> int:
        return self.n


class Counter(IterableDataset):
    def __init__(self, start: int, stop: int) -> None:
        self.start, self.stop = start, stop

    def __iter__(self):
        return iter(range(self.start, self.stop))

    def __len__(self) -> int:
        return self.stop - self.start


def test_tensor_dataset_rows_and_length():
    x = rtorch.arange(12.0).reshape(4, 3)
    y = rtorch.tensor([10, 11, 12, 13])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6.0, 7.0, 8.0] and yi.item() == 12
    assert ds[-1][1].item() == 13


def test_tensor_dataset_size_mismatch():
    with pytest.raises(AssertionError, match="Size mismatch between tensors"):
        TensorDataset(rtorch.zeros(3, 2), rtorch.zeros(4))


def test_dataset_base_getitem_and_add():
    with pytest.raises(NotImplementedError, match="Subclasses of Dataset should implement"):
        Dataset()[0]
    both = Squares(3) + Squares(2)
    assert isinstance(both, ConcatDataset)
    assert [both[i] for i in range(5)] == [0, 1, 4, 0, 1]


def test_concat_dataset_indexing():
    ds = ConcatDataset([Squares(2), Squares(0), Squares(3)])
    assert ds.cumulative_sizes == [2, 2, 5]
    assert len(ds) == 5
    assert [ds[i] for i in range(5)] == [0, 1, 0, 1, 4]
    assert ds[-1] == 4 and ds[-5] == 0
    with pytest.raises(ValueError, match="absolute value of index should not exceed"):
        ds[-6]
    with pytest.raises(AssertionError, match="should not be an empty iterable"):
        ConcatDataset([])
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        ConcatDataset([Counter(0, 2)])


def test_chain_dataset_and_iterable_add():
    ds = ChainDataset([Counter(0, 2), Counter(5, 7)])
    assert list(ds) == [0, 1, 5, 6]
    assert len(ds) == 4
    assert list(Counter(0, 1) + Counter(3, 4)) == [0, 3]
    with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
        list(ChainDataset([Squares(2)]))


def test_subset_and_getitems():
    ds = Subset(Squares(10), [9, 0, 3])
    assert len(ds) == 3
    assert [ds[i] for i in range(3)] == [81, 0, 9]
    assert ds.__getitems__([2, 0]) == [9, 81]


def test_subset_subclass_overriding_getitem_needs_getitems():
    class Doubled(Subset):
        def __getitem__(self, i):
            return 2 * super().__getitem__(i)

    with pytest.raises(NotImplementedError, match="overrides __getitem__ but not __getitems__"):
        Doubled(Squares(3), [1, 2]).__getitems__([0])


def test_stack_dataset_tuple_and_dict():
    a, b = Squares(3), TensorDataset(rtorch.tensor([5, 6, 7]))
    ds = StackDataset(a, b)
    s = ds[1]
    assert s[0] == 1 and s[1][0].item() == 6
    assert len(ds) == 3
    kw = StackDataset(x=a, y=Squares(3))
    assert kw[2] == {"x": 4, "y": 4}
    assert kw.__getitems__([0, 2]) == [{"x": 0, "y": 0}, {"x": 4, "y": 4}]
    assert ds.__getitems__([2])[0][0] == 4
    with pytest.raises(ValueError, match="Size mismatch between datasets"):
        StackDataset(Squares(2), Squares(3))
    with pytest.raises(ValueError, match="At least one dataset should be passed"):
        StackDataset()
    with pytest.raises(ValueError, match="both types are given"):
        StackDataset(Squares(2), y=Squares(2))


def test_random_split_absolute_lengths_partition():
    g = rtorch.Generator().manual_seed(0)
    parts = random_split(range(10), [3, 7], generator=g)
    assert [len(p) for p in parts] == [3, 7]
    items = sorted(x for p in parts for x in (p[i] for i in range(len(p))))
    assert items == list(range(10))


def test_random_split_fractions_remainder_goes_first():
    # floor(11 * 0.5) = 5 each, the remainder 1 goes to the first split.
    parts = random_split(range(11), [0.5, 0.5], generator=rtorch.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [6, 5]
    # floor(30 * 0.3) = 9, 9, 12 -> exact; floor(10 * 1/3) = 3 each, remainder 1 -> first.
    parts = random_split(range(10), [1 / 3, 1 / 3, 1 / 3])
    assert [len(p) for p in parts] == [4, 3, 3]
    parts = random_split(range(7), [0.25, 0.25, 0.25, 0.25])
    assert [len(p) for p in parts] == [2, 2, 2, 1]


def test_random_split_generator_determinism_and_errors():
    a = random_split(range(20), [10, 10], generator=rtorch.Generator().manual_seed(7))
    b = random_split(range(20), [10, 10], generator=rtorch.Generator().manual_seed(7))
    assert a[0].indices == b[0].indices
    rtorch.manual_seed(3)
    c = random_split(range(20), [10, 10])
    rtorch.manual_seed(3)
    d = random_split(range(20), [10, 10])
    assert c[1].indices == d[1].indices
    with pytest.raises(ValueError, match="Sum of input lengths does not equal"):
        random_split(range(5), [2, 2])
    with pytest.raises(ValueError, match="Fraction at index 2 is not between 0 and 1"):
        random_split(range(5), [0.5, 0.75, -0.25])


def test_random_split_warns_on_empty_split():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        parts = random_split(range(2), [0.1, 0.1, 0.8])
    # floors 0, 0, 1; the remainder 1 goes to split 0.
    assert [len(p) for p in parts] == [1, 0, 1]
    assert any("Length of split at index 1 is 0" in str(w.message) for w in caught)
