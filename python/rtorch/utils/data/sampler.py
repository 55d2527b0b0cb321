"""Samplers: iterables of dataset indices (or of lists of indices), as torch.utils.data."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from itertools import islice
from typing import Generic, TypeVar

import rtorch

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _fresh_generator() -> rtorch.Generator:
    """A generator seeded from the global one, so ``manual_seed`` makes shuffling repeatable."""
    seed = int(rtorch.empty((), dtype=rtorch.int64).random_().item())
    generator = rtorch.Generator()
    generator.manual_seed(seed)
    return generator


class Sampler(Generic[T_co]):
    """Base class of samplers: ``__iter__`` yields indices; ``__len__`` is optional."""

    def __init__(self, data_source: Sized | None = None) -> None:
        # Accepted for compatibility with old subclasses; unused, as in PyTorch.
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError


class SequentialSampler(Sampler[int]):
    """Yields ``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices: a permutation, or ``num_samples`` draws with replacement.

    Args:
        data_source (Dataset): dataset to sample from.
        replacement (bool): draw with replacement. Default: ``False``.
        num_samples (int): number of indices to yield. Default: ``len(data_source)``;
            without replacement, more than that yields several permutations back to back.
        generator (Generator): generator used for sampling.
    """

    def __init__(
        self,
        data_source: Sized,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: rtorch.Generator | None = None,
    ) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(
                f"replacement should be a boolean value, but got replacement={self.replacement}"
            )
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(
                "num_samples should be a positive integer value, "
                f"but got num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        generator = self.generator if self.generator is not None else _fresh_generator()
        if self.replacement:
            # Drawn in chunks of 32 like PyTorch, so a consumer that stops early costs little.
            for _ in range(self.num_samples // 32):
                yield from rtorch.randint(
                    n, (32,), dtype=rtorch.int64, generator=generator
                ).tolist()
            rest = self.num_samples % 32
            if rest:
                yield from rtorch.randint(
                    n, (rest,), dtype=rtorch.int64, generator=generator
                ).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from rtorch.randperm(n, generator=generator).tolist()
            yield from rtorch.randperm(n, generator=generator).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """Yields the given indices in a random order.

    Args:
        indices (sequence): the indices to permute.
        generator (Generator): generator used for sampling.
    """

    def __init__(self, indices: Sequence[int], generator: rtorch.Generator | None = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        indices = self.indices
        for i in rtorch.randperm(len(indices), generator=self.generator).tolist():
            yield indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """Yields indices ``0..len(weights)-1`` drawn with probabilities proportional to ``weights``.

    Args:
        weights (sequence): non-negative weights, not necessarily summing to one.
        num_samples (int): number of indices to draw.
        replacement (bool): draw with replacement (default); without it an index is drawn
            at most once.
        generator (Generator): generator used for sampling.
    """

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: rtorch.Generator | None = None,
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(  # noqa: TRY004
                f"replacement should be a boolean value, but got replacement={replacement}"
            )
        weights_tensor = rtorch.as_tensor(weights, dtype=rtorch.float64)
        if weights_tensor.dim() != 1:
            raise ValueError(
                "weights should be a 1d sequence but given "
                f"weights have shape {tuple(weights_tensor.shape)}"
            )
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        drawn = rtorch.multinomial(
            self.weights, self.num_samples, self.replacement, generator=self.generator
        )
        yield from drawn.tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``.

    Args:
        sampler (Sampler or iterable): the index source.
        batch_size (int): size of a batch.
        drop_last (bool): drop the last batch if it is smaller than ``batch_size``.

    Example:
        >>> list(BatchSampler(SequentialSampler(range(10)), batch_size=3, drop_last=False))
        [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    """

    def __init__(
        self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool
    ) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")  # noqa: TRY004
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        size = self.batch_size
        it = iter(self.sampler)
        while True:
            # islice pulls a whole batch in C, far cheaper than appending index by index.
            batch = list(islice(it, size))
            if len(batch) < size:
                if batch and not self.drop_last:
                    yield batch
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
