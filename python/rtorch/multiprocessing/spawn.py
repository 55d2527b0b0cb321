"""spawn / start_processes: run ``fn(i, *args)`` in ``nprocs`` processes, as PyTorch's."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

__all__ = [
    "ProcessContext",
    "ProcessException",
    "ProcessExitedException",
    "ProcessRaisedException",
    "spawn",
    "start_processes",
]


class ProcessException(Exception):
    """A spawned process failed; ``error_index`` is its index, ``pid`` its process id."""

    def __init__(self, msg: str, error_index: int, pid: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.error_index = error_index
        self.pid = pid

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid)


class ProcessRaisedException(ProcessException):
    """A spawned process raised; the message holds its traceback."""


class ProcessExitedException(ProcessException):
    """A spawned process exited with a non-zero code or was killed by a signal."""

    def __init__(
        self,
        msg: str,
        error_index: int,
        error_pid: int,
        exit_code: int,
        signal_name: str | None = None,
    ) -> None:
        super().__init__(msg, error_index, error_pid)
        self.exit_code = exit_code
        self.signal_name = signal_name

    def __reduce__(self):
        return type(self), (self.msg, self.error_index, self.pid, self.exit_code, self.signal_name)


def _wrap(fn: Callable, i: int, args: tuple, error_file: str) -> None:
    try:
        fn(i, *args)
    except KeyboardInterrupt:
        pass  # the parent is shutting everything down
    except Exception:  # noqa: BLE001
        with open(error_file, "wb") as f:
            pickle.dump(traceback.format_exc(), f)
        sys.exit(1)


class ProcessContext:
    """The processes started by :func:`start_processes`; :meth:`join` waits for them."""

    def __init__(self, processes: list, error_files: list[str]) -> None:
        self.error_files = error_files
        self.processes = processes
        self.sentinels = {p.sentinel: i for i, p in enumerate(processes)}

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.processes]

    def join(self, timeout: float | None = None, grace_period: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; True once every process has exited cleanly.

        The first process that fails makes the others be terminated (after
        ``grace_period`` seconds, if given) and raises ProcessRaisedException with its
        traceback, or ProcessExitedException with its exit code or signal.
        """
        if not self.sentinels:
            return True
        ready = multiprocessing.connection.wait(list(self.sentinels), timeout=timeout)
        error_index = None
        for sentinel in ready:
            index = self.sentinels.pop(sentinel)
            process = self.processes[index]
            process.join()
            if process.exitcode != 0:
                error_index = index
                break
        if error_index is None:
            if self.sentinels:
                return False
            self._remove_error_files()
            return True
        self._stop_others(grace_period)
        self.sentinels.clear()
        try:
            raise self._failure(error_index)
        finally:
            self._remove_error_files()

    def _failure(self, error_index: int) -> ProcessException:
        """The exception describing how process ``error_index`` failed."""
        failed = self.processes[error_index]
        path = self.error_files[error_index]
        if not os.path.exists(path) or not os.path.getsize(path):
            exitcode = failed.exitcode
            if exitcode < 0:
                name = signal.Signals(-exitcode).name
                return ProcessExitedException(
                    f"process {error_index} terminated with signal {name}",
                    error_index=error_index,
                    error_pid=failed.pid,
                    exit_code=exitcode,
                    signal_name=name,
                )
            return ProcessExitedException(
                f"process {error_index} terminated with exit code {exitcode}",
                error_index=error_index,
                error_pid=failed.pid,
                exit_code=exitcode,
            )
        with open(path, "rb") as f:
            original_trace = pickle.load(f)
        msg = f"\n\n-- Process {error_index} terminated with the following error:\n"
        msg += original_trace
        return ProcessRaisedException(msg, error_index, failed.pid)

    def _remove_error_files(self) -> None:
        for path in self.error_files:
            if os.path.exists(path):
                os.unlink(path)

    def _stop_others(self, grace_period: float | None) -> None:
        if grace_period is not None:
            deadline = time.monotonic() + grace_period
            for p in self.processes:
                p.join(max(0.0, deadline - time.monotonic()))
        for p in self.processes:
            if p.is_alive():
                p.terminate()
            p.join()


def start_processes(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Start ``nprocs`` processes running ``fn(i, *args)`` with the given start method."""
    from . import get_context
    from .reductions import init_reductions

    init_reductions()  # picks up nn.Parameter if nn was imported after this package
    ctx = get_context(start_method)
    error_files = []
    processes = []
    for i in range(nprocs):
        fd, error_file = tempfile.mkstemp(prefix="rtorch-spawn-")
        os.close(fd)
        os.unlink(error_file)  # the child creates it only if it fails
        process = ctx.Process(target=_wrap, args=(fn, i, args, error_file), daemon=daemon)
        process.start()
        error_files.append(error_file)
        processes.append(process)
    context = ProcessContext(processes, error_files)
    if not join:
        return context
    while not context.join():
        pass
    return None


def spawn(
    fn: Callable[..., Any],
    args: tuple = (),
    nprocs: int = 1,
    join: bool = True,
    daemon: bool = False,
    start_method: str = "spawn",
) -> ProcessContext | None:
    """Run ``fn(i, *args)`` for ``i`` in ``range(nprocs)``, each in a new process.

    Args:
        fn: a picklable (module-level) function; its first argument is the process index.
        args: the remaining arguments of ``fn``.
        nprocs: number of processes.
        join: wait for them all (True) or return a :class:`ProcessContext` (False).
        daemon: start the processes as daemons.
        start_method: ``"spawn"`` (default), ``"fork"`` or ``"forkserver"``.

    If a process raises, the others are terminated and :class:`ProcessRaisedException`
    carrying its traceback is raised in the caller.
    """
    return start_processes(fn, args, nprocs, join, daemon, start_method)
