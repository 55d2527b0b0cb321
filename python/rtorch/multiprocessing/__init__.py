"""rtorch.multiprocessing: the standard ``multiprocessing`` with tensors in shared memory.

Everything of the standard module is here under the same names (Process, Queue, Pool,
get_context, set_start_method, ...). Importing this package registers pickling reducers
for tensors with multiprocessing's ForkingPickler, so a tensor put on a Queue, passed to a
Process or returned from a Pool travels through a shared-memory segment instead of being
pickled byte by byte. ``spawn`` starts processes as PyTorch's ``torch.multiprocessing.spawn``.

A tensor whose storage was moved to shared memory with ``Tensor.share_memory_()`` (or
``Module.share_memory()``) travels as the storage's file descriptor: every process maps
the same pages and sees the others' in-place updates (Hogwild training). Any other
tensor arrives as a copy that lives in shared memory.
"""

from __future__ import annotations

import multiprocessing
from multiprocessing import *

from .reductions import init_reductions
from .spawn import (
    ProcessContext,
    ProcessException,
    ProcessExitedException,
    ProcessRaisedException,
    spawn,
    start_processes,
)

__all__ = [
    "ProcessContext",
    "ProcessException",
    "ProcessExitedException",
    "ProcessRaisedException",
    "get_all_sharing_strategies",
    "get_sharing_strategy",
    "set_sharing_strategy",
    "spawn",
    "start_processes",
]
__all__ += multiprocessing.__all__  # type: ignore[attr-defined]

# Both of PyTorch's Linux strategies are accepted; rtorch moves every tensor through a
# named POSIX shared-memory segment that the receiver unlinks at once (neither file
# descriptors nor files are left open), so the choice changes nothing.
_all_sharing_strategies = {"file_descriptor", "file_system"}
_sharing_strategy = "file_descriptor"


def set_sharing_strategy(new_strategy: str) -> None:
    """Set the strategy for sharing CPU tensors (accepted for compatibility; see above)."""
    global _sharing_strategy
    if new_strategy not in _all_sharing_strategies:
        raise AssertionError(f"invalid sharing strategy {new_strategy!r}")
    _sharing_strategy = new_strategy


def get_sharing_strategy() -> str:
    """The current strategy for sharing CPU tensors."""
    return _sharing_strategy


def get_all_sharing_strategies() -> set[str]:
    """The sharing strategies this system supports."""
    return set(_all_sharing_strategies)


init_reductions()
