"""Timing of Python statements, as ``torch.utils.benchmark.utils.timer``.

:class:`Timer` wraps :class:`timeit.Timer` with PyTorch's conveniences: ``rtorch`` in the
statement's globals, a fixed thread count during the measurement, labels for
:class:`~rtorch.utils.benchmark.Compare`, and block-size selection
(:meth:`Timer.blocked_autorange`, :meth:`Timer.adaptive_autorange`). Only Python statements
are supported (PyTorch's C++ mode compiles C++ snippets; rtorch has no C++ API).
"""

from __future__ import annotations

import enum
import statistics
import textwrap
import time
import timeit
from collections.abc import Callable
from typing import Any, NoReturn

import rtorch

from .common import Measurement, TaskSpec, set_torch_threads

__all__ = ["Language", "Timer", "timer"]


def timer() -> float:
    """The default clock: :func:`time.perf_counter` (rtorch has no asynchronous device to
    synchronize first)."""
    return time.perf_counter()


class Language(enum.Enum):
    """The language of the benchmarked statement."""

    PYTHON = 0
    CPP = 1


class Timer:
    r"""Times a Python statement.

    Args:
        stmt (str): the statement to time.
        setup (str): run once before each timing loop (not timed).
        global_setup (str): C++ only in PyTorch; must be empty.
        timer (callable): the clock, seconds as a float (default :func:`time.perf_counter`).
        globals (dict, optional): the statement's globals (copied; ``torch`` is added as
            ``rtorch`` unless given).
        label, sub_label, description, env (str, optional): labels for reports and
            :class:`~rtorch.utils.benchmark.Compare` (label: table, sub_label: row,
            description: column).
        num_threads (int): rtorch's thread count while the statement runs (restored after).
        language (Language or str): ``"python"``/``"py"`` only.

    Raises:
        ValueError: for ``global_setup`` or an unknown language.
        NotImplementedError: for C++ (rtorch has no C++ API to compile against).
    """

    _timer_cls: type[timeit.Timer] = timeit.Timer

    def __init__(
        self,
        stmt: str = "pass",
        setup: str = "pass",
        global_setup: str = "",
        timer: Callable[[], float] = timer,
        globals: dict[str, Any] | None = None,
        label: str | None = None,
        sub_label: str | None = None,
        description: str | None = None,
        env: str | None = None,
        num_threads: int = 1,
        language: Language | str = Language.PYTHON,
    ) -> None:
        if not isinstance(stmt, str):
            raise ValueError("Currently only a `str` stmt is supported.")  # noqa: TRY004 (as PyTorch)
        if language in (Language.PYTHON, "py", "python"):
            language = Language.PYTHON
            if global_setup:
                raise ValueError(
                    f"global_setup is C++ only, got `{global_setup}`. Most likely this code "
                    "can simply be moved to `setup`."
                )
        elif language in (Language.CPP, "cpp", "c++"):
            raise NotImplementedError(
                "rtorch's Timer times Python statements only: there is no C++ API to compile "
                "C++ benchmarks against."
            )
        else:
            raise ValueError(f"Invalid language `{language}`.")
        self._globals = dict(globals or {})
        # Statements written for PyTorch say `torch.…`.
        self._globals.setdefault("torch", rtorch)
        self._language = language
        stmt = textwrap.dedent(stmt)
        stmt = (stmt[1:] if stmt and stmt[0] == "\n" else stmt).rstrip()
        setup = textwrap.dedent(setup)
        setup = (setup[1:] if setup and setup[0] == "\n" else setup).rstrip()
        self._timer = self._timer_cls(stmt=stmt, setup=setup, timer=timer, globals=self._globals)
        self._task_spec = TaskSpec(
            stmt=stmt,
            setup=setup,
            global_setup=global_setup,
            label=label,
            sub_label=sub_label,
            description=description,
            env=env,
            num_threads=num_threads,
        )

    def _timeit(self, number: int) -> float:
        # At least 1 ns: no statement is faster, and the overhead ratio below divides by it.
        return max(self._timer.timeit(number), 1e-9)

    def timeit(self, number: int = 1000000) -> Measurement:
        r"""One measurement of ``number`` runs of the statement (after a warm-up of
        ``max(number // 100, 2)`` runs)."""
        with set_torch_threads(self._task_spec.num_threads):
            self._timeit(number=max(int(number // 100), 2))
            return Measurement(
                number_per_run=number, raw_times=[self._timeit(number)], task_spec=self._task_spec
            )

    def repeat(self, repeat: int = -1, number: int = -1) -> NoReturn:
        """Not provided (as in PyTorch): use :meth:`blocked_autorange`."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def autorange(self, callback: Callable[[int, float], NoReturn] | None = None) -> NoReturn:
        """Not provided (as in PyTorch): use :meth:`blocked_autorange`."""
        raise NotImplementedError("See `Timer.blocked_autorange.`")

    def _estimate_block_size(self, min_run_time: float) -> int:
        """The smallest power of ten of runs whose time dwarfs the timer's own overhead
        (at most 1e-4 of it, and at least ``min_run_time / 1000``), or exceeds
        ``min_run_time`` on its own. Doubles as a warm-up."""
        with set_torch_threads(self._task_spec.num_threads):
            overhead = statistics.median_low([self._timeit(0) for _ in range(5)])
            number = 1
            while True:
                time_taken = self._timeit(number)
                if overhead / time_taken <= 1e-4 and time_taken >= min_run_time / 1000:
                    break
                if time_taken > min_run_time:
                    break
                if number * 10 > 2147483647:
                    break
                number *= 10
        return number

    def _measurement_loop(
        self,
        number: int,
        stop: Callable[[list[float]], bool],
        min_run_time: float,
        max_run_time: float | None = None,
        callback: Callable[[int, float], Any] | None = None,
    ) -> list[float]:
        """Blocks of ``number`` runs until ``min_run_time`` has passed and ``stop(times)``
        holds (or ``max_run_time`` has passed)."""
        total_time = 0.0
        can_stop = False
        times: list[float] = []
        with set_torch_threads(self._task_spec.num_threads):
            while total_time < min_run_time or not can_stop:
                time_spent = self._timeit(number)
                times.append(time_spent)
                total_time += time_spent
                if callback:
                    callback(number, time_spent)
                can_stop = stop(times)
                if max_run_time and total_time > max_run_time:
                    break
        return times

    def blocked_autorange(
        self,
        callback: Callable[[int, float], Any] | None = None,
        min_run_time: float = 0.2,
    ) -> Measurement:
        r"""Blocks of runs for at least ``min_run_time`` seconds.

        The block size is chosen so that the timer's overhead is negligible
        (see ``_estimate_block_size``); then blocks are timed until their total exceeds
        ``min_run_time``. ``callback(number, time)`` is called after each block.
        """
        number = self._estimate_block_size(min_run_time)
        times = self._measurement_loop(
            number, lambda times: True, min_run_time=min_run_time, callback=callback
        )
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)

    def adaptive_autorange(
        self,
        threshold: float = 0.1,
        *,
        min_run_time: float = 0.01,
        max_run_time: float = 10.0,
        callback: Callable[[int, float], Any] | None = None,
    ) -> Measurement:
        r"""Blocks of runs until the measurement is precise: more than 3 blocks with
        ``iqr / median < threshold`` (and at least ``min_run_time`` seconds), or
        ``max_run_time`` seconds in all."""
        number = self._estimate_block_size(min_run_time=0.05)

        def stop(times: list[float]) -> bool:
            if len(times) > 3:
                m = Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)
                return m.meets_confidence(threshold=threshold)
            return False

        times = self._measurement_loop(number, stop, min_run_time, max_run_time, callback)
        return Measurement(number_per_run=number, raw_times=times, task_spec=self._task_spec)
