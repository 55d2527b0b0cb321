"""DistributedSampler: each of ``num_replicas`` processes reads its own share of a dataset."""

from __future__ import annotations

import math
from collections.abc import Iterator

import rtorch

from .dataset import Dataset
from .sampler import Sampler

__all__ = ["DistributedSampler"]


def _default_world() -> tuple[int, int]:
    """(world size, rank) of the initialized process group, if rtorch.distributed has one."""
    try:
        import rtorch.distributed as dist  # type: ignore[import-not-found]
    except ImportError:
        raise RuntimeError("Requires distributed package to be available") from None
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError("Requires distributed package to be available")
    return dist.get_world_size(), dist.get_rank()


class DistributedSampler(Sampler):
    """Restricts loading to the indices of one replica: ``rank, rank + num_replicas, ...``.

    The index list (shuffled with ``seed + epoch`` when ``shuffle``) is padded by repeating
    its head until it divides evenly among replicas, or trimmed with ``drop_last``, so every
    replica yields the same number of samples. Call :meth:`set_epoch` at the start of each
    epoch so the shuffle differs between epochs.

    Args:
        dataset (Dataset): dataset to sample from.
        num_replicas (int): number of processes (default: the process group's world size).
        rank (int): this process's rank (default: the process group's rank).
        shuffle (bool): shuffle the indices. Default: ``True``.
        seed (int): shuffle seed, the same on every replica. Default: ``0``.
        drop_last (bool): drop the tail instead of padding. Default: ``False``.
    """

    def __init__(
        self,
        dataset: Dataset,
        num_replicas: int | None = None,
        rank: int | None = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        if num_replicas is None or rank is None:
            world, own_rank = _default_world()
            num_replicas = world if num_replicas is None else num_replicas
            rank = own_rank if rank is None else rank
        if rank >= num_replicas or rank < 0:
            raise ValueError(
                f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]"
            )
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)  # type: ignore[arg-type]
        if drop_last and n % num_replicas != 0:
            self.num_samples = math.ceil((n - num_replicas) / num_replicas)
        else:
            self.num_samples = math.ceil(n / num_replicas)
        self.total_size = self.num_samples * num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)  # type: ignore[arg-type]
        if self.shuffle:
            generator = rtorch.Generator()
            generator.manual_seed(self.seed + self.epoch)
            indices = rtorch.randperm(n, generator=generator).tolist()
        else:
            indices = list(range(n))
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            missing = self.total_size - len(indices)
            if missing > 0:
                # Repeat the list as often as needed (a tiny dataset may need several rounds).
                repeats = math.ceil(missing / len(indices))
                indices += (indices * repeats)[:missing]
        return iter(indices[self.rank : self.total_size : self.num_replicas])

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; with ``shuffle`` it changes the permutation used by every replica."""
        self.epoch = epoch
