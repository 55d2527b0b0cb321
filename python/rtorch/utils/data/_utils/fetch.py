"""Fetchers: turn one index (or list of indices) from the sampler into a collated batch."""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice
from typing import Any


class MapDatasetFetcher:
    """Fetches ``dataset[i]`` for each index (``__getitems__`` when the dataset has it)."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self._getitems = getattr(dataset, "__getitems__", None)
        self._getitem = dataset.__getitem__

    def fetch(self, index: Any) -> Any:
        if not self.auto_collation:
            return self.collate_fn(self._getitem(index))
        if self._getitems is not None:
            return self.collate_fn(self._getitems(index))
        getitem = self._getitem
        return self.collate_fn([getitem(i) for i in index])


class IterableDatasetFetcher:
    """Pulls samples from ``iter(dataset)``; raises StopIteration once it is exhausted."""

    def __init__(self, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.dataset_iter = iter(dataset)
        self.ended = False

    def fetch(self, index: Any) -> Any:
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        wanted = len(index)
        data = list(islice(self.dataset_iter, wanted))
        if len(data) < wanted:
            self.ended = True
            if not data or self.drop_last:
                raise StopIteration
        return self.collate_fn(data)


def create_fetcher(
    is_iterable: bool, dataset: Any, auto_collation: bool, collate_fn: Callable, drop_last: bool
) -> MapDatasetFetcher | IterableDatasetFetcher:
    cls = IterableDatasetFetcher if is_iterable else MapDatasetFetcher
    return cls(dataset, auto_collation, collate_fn, drop_last)
