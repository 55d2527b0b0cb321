"""What a benchmark measured and how it is summarized, as
``torch.utils.benchmark.utils.common``: :class:`TaskSpec` (the statement and its labels) and
:class:`Measurement` (the recorded times and their statistics)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import math
import statistics
import textwrap
from collections.abc import Iterable, Iterator
from typing import Any

import rtorch

__all__ = [
    "Measurement",
    "TaskSpec",
    "ordered_unique",
    "select_unit",
    "set_torch_threads",
    "trim_sigfig",
    "unit_to_english",
]

# Above this IQR / median the measurement carries a warning (and the tighter one, a
# stronger warning); meets_confidence's default threshold.
_IQR_WARN_THRESHOLD = 0.1
_IQR_GROSS_WARN_THRESHOLD = 0.25
# Significant-figure estimate: at most 4 figures, and a confidence interval of at least
# 25 ns (the timer's own noise).
_MAX_SIGNIFICANT_FIGURES = 4
_MIN_CONFIDENCE_INTERVAL = 25e-9


@dataclasses.dataclass(init=True, repr=False, eq=True, frozen=True)
class TaskSpec:
    """The benchmarked statement with its setup and labels (hashable: measurements of the
    same task can be merged)."""

    stmt: str
    setup: str
    global_setup: str = ""
    label: str | None = None
    sub_label: str | None = None
    description: str | None = None
    env: str | None = None
    num_threads: int = 1

    @property
    def title(self) -> str:
        """The label (with the sub-label), else the statement."""
        if self.label is not None:
            return self.label + (f": {self.sub_label}" if self.sub_label else "")
        if "\n" not in self.stmt:
            return self.stmt + (f": {self.sub_label}" if self.sub_label else "")
        sub = f" ({self.sub_label})" if self.sub_label else ""
        return f"stmt:{sub}\n{textwrap.indent(self.stmt, '  ')}"

    def setup_str(self) -> str:
        """``setup: ...`` (empty for the default ``pass``)."""
        if self.setup == "pass" or not self.setup:
            return ""
        if "\n" in self.setup:
            return f"setup:\n{textwrap.indent(self.setup, '  ')}"
        return f"setup: {self.setup}"

    def summarize(self) -> str:
        """Title, description and setup, one per line (multi-line parts set apart)."""
        sections = [self.title, self.description or "", self.setup_str()]
        return "\n".join(f"{s}\n" if "\n" in s else s for s in sections if s)


@dataclasses.dataclass(init=True, repr=False)
class Measurement:
    r"""The times of one benchmarked task.

    Args:
        number_per_run (int): how many times the statement ran in each recorded time.
        raw_times (list of float): the recorded times, seconds per block of
            ``number_per_run`` runs.
        task_spec (TaskSpec): what was measured.
        metadata (dict, optional): anything to carry along.

    The statistics (``mean``, ``median``, ``iqr``) are over ``times``, the per-run times;
    quartiles interpolate linearly between order statistics (as ``torch.quantile``).
    """

    number_per_run: int
    raw_times: list[float]
    task_spec: TaskSpec
    metadata: dict[Any, Any] | None = None

    def __post_init__(self) -> None:
        self._sorted_times: tuple[float, ...] = ()
        self._warnings: tuple[str, ...] = ()
        self._median = self._mean = self._p25 = self._p75 = -1.0

    def __getattr__(self, name: str) -> Any:
        # TaskSpec's fields read through (m.label, m.stmt, m.num_threads …).
        spec = self.__dict__.get("task_spec")
        if spec is not None and name in {f.name for f in dataclasses.fields(TaskSpec)}:
            return getattr(spec, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    @property
    def times(self) -> list[float]:
        """The time of one run of the statement, for each recorded block."""
        return [t / self.number_per_run for t in self.raw_times]

    @property
    def median(self) -> float:
        """The median of :attr:`times`."""
        self._lazy_init()
        return self._median

    @property
    def mean(self) -> float:
        """The mean of :attr:`times`."""
        self._lazy_init()
        return self._mean

    @property
    def iqr(self) -> float:
        """The interquartile range of :attr:`times` (75th minus 25th percentile)."""
        self._lazy_init()
        return self._p75 - self._p25

    @property
    def significant_figures(self) -> int:
        """An estimate (1 to 4) of how many figures of the median are meaningful: the
        median over a rough 90% confidence interval of the middle half of the times."""
        self._lazy_init()
        n_total = len(self._sorted_times)
        middle = self._sorted_times[n_total // 4 : math.ceil(3 * n_total / 4)]
        std = statistics.pstdev(middle) if middle else 0.0
        confidence_interval = max(1.645 * std / math.sqrt(len(middle)), _MIN_CONFIDENCE_INTERVAL)
        figures = math.floor(math.log10(self._median / confidence_interval))
        return min(max(figures, 1), _MAX_SIGNIFICANT_FIGURES)

    @property
    def has_warnings(self) -> bool:
        """Whether the spread of the times is large (see :meth:`meets_confidence`)."""
        self._lazy_init()
        return bool(self._warnings)

    @property
    def title(self) -> str:
        """The task's title (label or statement)."""
        return self.task_spec.title

    @property
    def env(self) -> str | None:
        """The task's environment label."""
        return self.task_spec.env

    @property
    def as_row_name(self) -> str:
        """The row name in a :class:`Compare` table: the sub-label, else the statement."""
        return self.sub_label or self.stmt or "[Unknown]"

    def meets_confidence(self, threshold: float = _IQR_WARN_THRESHOLD) -> bool:
        """Whether ``iqr / median < threshold``."""
        return self.iqr / self.median < threshold

    def _lazy_init(self) -> None:
        if self.raw_times and not self._sorted_times:
            self._sorted_times = tuple(sorted(self.times))
            data = self._sorted_times
            self._median = _quantile(data, 0.5)
            self._mean = math.fsum(data) / len(data)
            self._p25 = _quantile(data, 0.25)
            self._p75 = _quantile(data, 0.75)
            if not self.meets_confidence(_IQR_GROSS_WARN_THRESHOLD):
                self._warnings = (
                    self._iqr_warning("This suggests significant environmental influence."),
                )
            elif not self.meets_confidence(_IQR_WARN_THRESHOLD):
                self._warnings = (self._iqr_warning("This could indicate system fluctuation."),)

    def _iqr_warning(self, msg: str) -> str:
        rel_iqr = self.iqr / self.median * 100
        return (
            f"  WARNING: Interquartile range is {rel_iqr:.1f}% of the median measurement.\n"
            f"           {msg}"
        )

    def __repr__(self) -> str:
        self._lazy_init()
        n = len(self._sorted_times)
        unit, scale = select_unit(self._median)
        lines = [object.__repr__(self), self.task_spec.summarize()]
        median = f"{self._median / scale:.2f} {unit}"
        lines.append(f"  Median: {median}" if n > 1 else f"  {median}")
        if n >= 4:
            lines.append(
                f"  IQR:    {self.iqr / scale:.2f} {unit} "
                f"({self._p25 / scale:.2f} to {self._p75 / scale:.2f})"
            )
        runs = "per measurement," if n > 1 else ","
        threads = f"{self.num_threads} thread{'s' if self.num_threads > 1 else ''}"
        lines.append(
            f"  {n} measurement{'s' if n > 1 else ''}, {self.number_per_run} runs {runs} {threads}"
        )
        lines.extend(self._warnings)
        return "\n".join(lines)

    @staticmethod
    def merge(measurements: Iterable[Measurement]) -> list[Measurement]:
        """One measurement per task: the per-run times of all measurements of that task
        (``number_per_run`` 1)."""
        grouped: dict[TaskSpec, list[Measurement]] = collections.defaultdict(list)
        for m in measurements:
            grouped[m.task_spec].append(m)
        return [
            Measurement(1, [t for m in group for t in m.times], spec, None)
            for spec, group in grouped.items()
        ]


def _quantile(sorted_data: tuple[float, ...], q: float) -> float:
    """The ``q`` quantile, linear between order statistics (numpy's/torch's default)."""
    pos = q * (len(sorted_data) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_data) - 1)
    return sorted_data[lo] + (sorted_data[hi] - sorted_data[lo]) * (pos - lo)


def select_unit(t: float) -> tuple[str, float | int]:
    """The display unit of a time ``t`` (seconds) and its scale: ``ns``, ``us`` or ``ms``
    by ``floor(log10(t) / 3)``, ``s`` otherwise (also below a nanosecond, as PyTorch)."""
    exponent = math.floor(math.log10(t) / 3) if t > 0 else None
    unit = {-3: "ns", -2: "us", -1: "ms"}.get(exponent, "s")
    return unit, {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1}[unit]


def unit_to_english(u: str) -> str:
    """``"us"`` -> ``"microsecond"`` etc. (singular, as PyTorch)."""
    return {"ns": "nanosecond", "us": "microsecond", "ms": "millisecond", "s": "second"}[u]


def trim_sigfig(x: float, n: int) -> float:
    """``x`` rounded to ``n`` significant figures (3.14159, 2 -> 3.1)."""
    if n != int(n):
        raise ValueError(f"n must be an integer, got {n}")
    if x == 0:
        return 0.0
    magnitude = math.ceil(math.log10(abs(x)))
    scale = 10.0 ** (magnitude - n)
    return float(round(x / scale) * scale)


def ordered_unique(elements: Iterable[Any]) -> list[Any]:
    """The distinct elements in order of first appearance."""
    return list(collections.OrderedDict.fromkeys(elements))


@contextlib.contextmanager
def set_torch_threads(n: int) -> Iterator[None]:
    """Runs the block with rtorch's intra-op thread count set to ``n``; the previous
    count is restored after, also on errors."""
    prior = rtorch.get_num_threads()
    try:
        rtorch.set_num_threads(n)
        yield
    finally:
        rtorch.set_num_threads(prior)
