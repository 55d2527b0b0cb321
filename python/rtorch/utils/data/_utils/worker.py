"""DataLoader worker processes: the loop they run, get_worker_info, and error transport."""

from __future__ import annotations

import os
import queue
import random
import sys
import traceback
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from typing import Any

import rtorch

from .fetch import create_fetcher

__all__ = ["ExceptionWrapper", "WorkerInfo", "get_worker_info"]

# How often a blocked worker or main process wakes up to check that its peer is alive.
MP_STATUS_CHECK_INTERVAL = 0.5


class WorkerInfo:
    """What a worker knows about itself: ``id``, ``num_workers``, ``seed`` and ``dataset``."""

    id: int
    num_workers: int
    seed: int
    dataset: Any
    __initialized = False

    def __init__(self, **kwargs: Any) -> None:
        for k, v in kwargs.items():
            setattr(self, k, v)
        self.__keys = tuple(kwargs.keys())
        self.__initialized = True

    def __setattr__(self, key: str, val: Any) -> None:
        if self.__initialized:
            raise RuntimeError(f"Cannot assign attributes to {self.__class__.__name__} objects")
        super().__setattr__(key, val)

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={getattr(self, k)}" for k in self.__keys)
        return f"{self.__class__.__name__}({items})"


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """In a DataLoader worker, its :class:`WorkerInfo`; in the main process, None.

    ``dataset`` is the worker's own copy of the dataset; ``seed`` is ``base_seed + id``,
    already used to seed rtorch, ``random`` and numpy in that worker. An
    :class:`IterableDataset` uses it to give each worker its own shard.
    """
    return _worker_info


class ExceptionWrapper:
    """An exception with its traceback as text, to be re-raised in another process."""

    def __init__(self, exc_info: tuple | None = None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        """Raise an exception of the original class whose message carries the traceback."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            # KeyError repr()s its message, which would escape the traceback's newlines.
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001
            # The class needs other constructor arguments: keep the message at least.
            raise RuntimeError(msg) from None
        raise exception


class _KeyErrorMessage(str):
    def __repr__(self) -> str:
        return self


@dataclass(frozen=True)
class IterableDatasetStopIteration:
    """A worker's iterable dataset is exhausted."""

    worker_id: int


@dataclass(frozen=True)
class ResumeIteration:
    """Start a new epoch (persistent workers); the worker echoes it back as an ack."""

    epoch: int


def _dumps(obj: Any) -> bytes:
    return bytes(ForkingPickler.dumps(obj))


def _seed_worker(seed: int, base_seed: int, worker_id: int) -> None:
    random.seed(seed)
    rtorch.manual_seed(seed)
    try:
        import numpy as np
    except ImportError:
        return
    # numpy's global generator takes 32-bit words; derive them from (base seed, worker id)
    # so workers differ and a new base seed changes every worker's stream.
    words = np.random.SeedSequence([worker_id, base_seed & 0xFFFFFFFFFFFFFFFF]).generate_state(4)
    np.random.seed(words)


def worker_loop(
    is_iterable: bool,
    dataset: Any,
    index_queue: Any,
    data_queue: Any,
    auto_collation: bool,
    collate_fn: Any,
    drop_last: bool,
    base_seed: int,
    init_fn: Any,
    worker_id: int,
    num_workers: int,
    segment_prefix: str,
    parent_pid: int,
    done_event: Any,
) -> None:
    """Serve ``(task index, sampler index)`` requests until told to stop with None.

    Each answer is ``ForkingPickler.dumps((task index, batch or error))``, pickled here
    rather than in the queue's feeder thread so that a batch that cannot be pickled is
    reported to the main process instead of being lost.
    """
    # First of all: one compute thread per worker (no oversubscription); this also gives
    # a forked child a thread pool of its own instead of the parent's vanished threads.
    rtorch.set_num_threads(1)
    from rtorch.multiprocessing import reductions

    reductions.set_segment_prefix(segment_prefix)
    try:
        seed = base_seed + worker_id
        _seed_worker(seed, base_seed, worker_id)
        global _worker_info
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        where = f"in DataLoader worker process {worker_id}"
        init_error = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = create_fetcher(is_iterable, dataset, auto_collation, collate_fn, drop_last)
        except Exception:  # noqa: BLE001
            init_error = ExceptionWrapper(where=where)
        exhausted = False
        while True:
            try:
                request = index_queue.get(timeout=MP_STATUS_CHECK_INTERVAL)
            except queue.Empty:
                if os.getppid() != parent_pid:
                    # The main process is gone: nobody will read our results, nor remove
                    # the segments of the batches it had not received yet.
                    reductions.remove_segments(segment_prefix)
                    break
                continue
            if request is None:
                break
            if isinstance(request, ResumeIteration):
                if init_error is None:
                    fetcher = create_fetcher(
                        is_iterable, dataset, auto_collation, collate_fn, drop_last
                    )
                exhausted = False
                data_queue.put(_dumps((request, None)))
                continue
            task, index = request
            if init_error is not None:
                data: Any = init_error
                init_error = None
            elif exhausted:
                data = IterableDatasetStopIteration(worker_id)
            else:
                try:
                    data = fetcher.fetch(index)  # type: ignore[union-attr]
                except StopIteration:
                    if not is_iterable:
                        data = ExceptionWrapper(where=where)
                    else:
                        data = IterableDatasetStopIteration(worker_id)
                        exhausted = True
                except Exception:  # noqa: BLE001
                    data = ExceptionWrapper(where=where)
            try:
                payload = _dumps((task, data))
            except Exception:  # noqa: BLE001
                payload = _dumps((task, ExceptionWrapper(where=where)))
            data_queue.put(payload)
            del data, payload, request, index
    except KeyboardInterrupt:
        pass  # Ctrl-C reaches the whole process group; the main process handles it
    # The queue's feeder thread holds the queue's write lock (shared by all workers) while
    # it sends. A worker stopped mid-epoch (its iterable ran out) must let it finish: dying
    # under the lock would block every other worker's answers, and a half-written message
    # would block the main process's read, both forever. At shutdown, or with the main
    # process gone, nobody reads any more: results left unsent must not keep us alive.
    if done_event.is_set() or os.getppid() != parent_pid:
        data_queue.cancel_join_thread()
    data_queue.close()
    data_queue.join_thread()
