"""One TensorBoard event file: naming, the ``file_version`` header, buffering, flushing.

Events are framed as TFRecords and kept in memory until ``max_queue`` of them are
pending, ``flush_secs`` have passed since the last flush (checked on every event and
by one shared daemon thread), or ``flush()`` / ``close()`` is called.  Open writers
are also flushed at interpreter exit, so a script that forgets ``close()`` loses
nothing.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import socket
import threading
import time
import weakref

from . import _proto as pb
from ._record_writer import frame_record

FILE_VERSION = "brain.Event:2"
_SOURCE_WRITER = "rtorch.utils.tensorboard"

# Distinguishes files created by one process within the same second.
_file_counter = itertools.count()
_open_writers: weakref.WeakSet[EventFileWriter] = weakref.WeakSet()
_flusher_lock = threading.Lock()
_flusher: threading.Thread | None = None


def _flush_due_writers() -> float:
    """Flush the writers whose ``flush_secs`` have passed; the seconds until the next
    check.  A function of its own so that no writer stays referenced (and alive, its
    ``__del__`` postponed) while the thread sleeps."""
    now = time.monotonic()
    period = 1.0
    for w in list(_open_writers):
        if now - w._last_flush >= w.flush_secs:
            w.flush()
        period = min(period, w.flush_secs)
    return max(0.05, period)


def _flush_periodically() -> None:
    global _flusher
    while True:
        time.sleep(_flush_due_writers())
        with _flusher_lock:
            # No writer left: stop; the next writer starts a new thread.  Under the
            # lock, a writer registered meanwhile is either seen here or finds
            # ``_flusher`` cleared in ``_ensure_flusher``.
            if not _open_writers:
                _flusher = None
                return


def _ensure_flusher() -> None:
    global _flusher
    with _flusher_lock:
        if _flusher is None or not _flusher.is_alive():
            _flusher = threading.Thread(
                target=_flush_periodically, name="rtorch-tensorboard-flush", daemon=True
            )
            _flusher.start()


@atexit.register
def _flush_all_at_exit() -> None:
    for w in list(_open_writers):
        w.flush()


class EventFileWriter:
    """Writes serialized ``Event`` protobufs to a new
    ``events.out.tfevents.<time>.<host>.<pid>.<n><suffix>`` file in ``logdir``."""

    def __init__(
        self, logdir: str, max_queue: int = 10, flush_secs: float = 120, filename_suffix: str = ""
    ) -> None:
        self._logdir = logdir
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        os.makedirs(logdir, exist_ok=True)
        stamp = int(time.time())
        name = f"events.out.tfevents.{stamp:010d}.{socket.gethostname()}.{os.getpid()}.{next(_file_counter)}"
        self._path = os.path.join(logdir, name) + filename_suffix
        self._file = open(self._path, "wb")  # noqa: SIM115 - lives as long as the writer
        self._lock = threading.Lock()
        self._pending: list[bytes] = []
        self._last_flush = time.monotonic()
        self._closed = False
        header = pb.event(time.time(), file_version=FILE_VERSION, source_writer=_SOURCE_WRITER)
        self.add_event(header)
        self.flush()
        _open_writers.add(self)
        _ensure_flusher()

    def get_logdir(self) -> str:
        """The directory this writer's file lies in."""
        return self._logdir

    def get_filename(self) -> str:
        """The path of the event file."""
        return self._path

    def add_event(self, event: bytes) -> None:
        """Queue one serialized ``Event``; writes the queue out when it is full or
        ``flush_secs`` have passed."""
        with self._lock:
            if self._closed:
                raise OSError("Writer is closed")
            self._pending.append(frame_record(event))
            due = time.monotonic() - self._last_flush >= self.flush_secs
            if len(self._pending) >= self.max_queue or due:
                self._write_pending()

    def _write_pending(self) -> None:
        if self._pending:
            self._file.write(b"".join(self._pending))
            self._pending.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def flush(self) -> None:
        """Write every queued event to disk."""
        with self._lock:
            if not self._closed:
                self._write_pending()

    def close(self) -> None:
        """Flush and close the file; later ``add_event`` calls raise ``OSError``."""
        with self._lock:
            if self._closed:
                return
            self._write_pending()
            self._file.close()
            self._closed = True
        _open_writers.discard(self)

    @property
    def closed(self) -> bool:
        return self._closed

    def __del__(self) -> None:
        # A writer dropped without close() still gets its queued events on disk.
        if not getattr(self, "_closed", True):
            # At interpreter shutdown module globals may already be gone.
            with contextlib.suppress(Exception):
                self.close()
