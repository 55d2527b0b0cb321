"""Tables of measurements, as ``torch.utils.benchmark.utils.compare``.

:class:`Compare` lays measurements out as PyTorch does in spirit: one table per ``label``,
one column per ``description``, rows grouped by thread count and named by ``sub_label``
(else the statement), each cell the median in the table's unit. The rendering is a simpler
one than PyTorch's (column widths, decimal places and colour thresholds are chosen here, not
copied), so tables read the same way but are not character-for-character identical.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable

from .common import Measurement, ordered_unique, select_unit, trim_sigfig, unit_to_english

__all__ = ["Colorize", "Compare"]

# ANSI styles of the colorized cells.
_BEST = "\033[92m\033[1m"
_GOOD = "\033[34m\033[1m"
_BAD = "\033[2m\033[91m"
_VERY_BAD = "\033[31m\033[1m"
_END = "\033[0m\033[0m"


class Colorize(enum.Enum):
    """What a cell's colour compares it with: nothing, its column or its row."""

    NONE = "none"
    COLUMNWISE = "columnwise"
    ROWWISE = "rowwise"


class Compare:
    r"""A printable table of :class:`Measurement`\ s.

    Measurements of the same task are merged first (:meth:`Measurement.merge`).

    Args:
        results (list of Measurement): the measurements.
    """

    def __init__(self, results: list[Measurement]) -> None:
        self._results: list[Measurement] = []
        self.extend_results(results)
        self._trim_significant_figures = False
        self._colorize = Colorize.NONE
        self._highlight_warnings = False

    def extend_results(self, results: Iterable[Measurement]) -> None:
        """Adds measurements to the table."""
        results = list(results)
        for r in results:
            if not isinstance(r, Measurement):
                raise ValueError(  # noqa: TRY004 (PyTorch raises ValueError)
                    f"Expected an instance of `Measurement`, got {type(r)} instead."
                )
        self._results.extend(results)

    def trim_significant_figures(self) -> None:
        """Shows each cell with its measurement's significant figures only."""
        self._trim_significant_figures = True

    def colorize(self, rowwise: bool = False) -> None:
        """Colours each cell by its ratio to the fastest cell of its column (within its
        thread group), or of its row with ``rowwise``: green for the fastest (within 1%),
        blue within 10%, faint red from 2x, bold red from 5x."""
        self._colorize = Colorize.ROWWISE if rowwise else Colorize.COLUMNWISE

    def highlight_warnings(self) -> None:
        """Appends ``(! XX%)`` (IQR / median) to cells with a large spread."""
        self._highlight_warnings = True

    def print(self) -> None:
        """Prints the table."""
        print(str(self))

    def __str__(self) -> str:
        return "\n".join(self._render())

    def _render(self) -> list[str]:
        results = Measurement.merge(self._results)
        groups: dict[str | None, list[Measurement]] = {}
        for r in results:
            groups.setdefault(r.label, []).append(r)
        return [self._layout(label, group) for label, group in groups.items()]

    def _layout(self, label: str | None, group: list[Measurement]) -> str:
        unit, scale = select_unit(min(r.median for r in group))
        columns = ordered_unique(r.description for r in group)
        has_env = any(r.env for r in group)

        def row_key(r: Measurement) -> tuple:
            return (r.num_threads, r.env, r.as_row_name)

        rows = ordered_unique(row_key(r) for r in group)
        rows.sort(key=lambda k: k[0])  # stable: first appearance within a thread count
        cell = {(row_key(r), r.description): r for r in group}

        parts = {key: self._cell_parts(m, scale) for key, m in cell.items()}
        # One number of decimals per column, so the column's values line up.
        decimals = {
            col: max((d for (_, c), (_, d, _) in parts.items() if c == col), default=1)
            for col in columns
        }
        plain = {
            key: f"{value:.{decimals[key[1]]}f}{suffix}"
            for key, (value, _, suffix) in parts.items()
        }

        names = {row: f"({row[1]}) {row[2]}" if has_env and row[1] else str(row[2]) for row in rows}
        # Row names indented by 6; cells joined by "  |  ", the whole width of the header.
        name_width = 6 + max(len(n) for n in names.values())
        col_widths = {
            col: max([len(col or "")] + [len(t) for (_, c), t in plain.items() if c == col])
            for col in columns
        }

        def cells_line(name: str, values: list[str]) -> str:
            return "  |  ".join([f"{'':6}{name}".ljust(name_width), *values])

        header = cells_line("", [f"{(c or ''):^{col_widths[c]}}" for c in columns])
        width = len(header)
        header = header.rstrip()
        title = f" {label} " if label else ""
        lines = ["[" + title.center(width - 2, "-") + "]", header]
        current_threads = None
        for row in rows:
            if row[0] != current_threads:
                current_threads = row[0]
                prefix = f"{current_threads} threads: "
                lines.append(prefix + "-" * max(width - len(prefix), 0))
            values = []
            for col in columns:
                text = plain.get((row, col), "")
                padded = f"{text:>{col_widths[col]}}"
                m = cell.get((row, col))
                style = self._style(m, row, col, rows, columns, cell) if m is not None else ""
                values.append(f"{style}{padded}{_END}" if style else padded)
            lines.append(cells_line(names[row], values))
        lines.append("")
        lines.append(f"Times are in {unit_to_english(unit)}s ({unit}).")
        if self._highlight_warnings and any(r.has_warnings for r in group):
            lines.append(
                "(! XX%) Measurement has high variance, where XX is the IQR / median * 100."
            )
        lines.append("")
        return "\n".join(lines)

    def _cell_parts(self, m: Measurement, scale: float) -> tuple[float, int, str]:
        """A cell's value (in the table's unit), its decimal places and its suffix."""
        value = m.median / scale
        decimals = 1
        if self._trim_significant_figures:
            figures = m.significant_figures
            value = trim_sigfig(value, figures)
            int_digits = max(1, math.floor(math.log10(abs(value))) + 1) if value else 1
            decimals = max(0, figures - int_digits)
        suffix = ""
        if self._highlight_warnings and m.has_warnings:
            suffix = f" (! {m.iqr / m.median * 100:.0f}%)"
        return value, decimals, suffix

    def _style(
        self,
        m: Measurement,
        row: tuple,
        col: str | None,
        rows: list[tuple],
        columns: list[str | None],
        cell: dict,
    ) -> str:
        if self._colorize is Colorize.NONE:
            return ""
        if self._colorize is Colorize.ROWWISE:
            peers = [cell[(row, c)] for c in columns if (row, c) in cell]
        else:
            peers = [cell[(r, col)] for r in rows if r[0] == row[0] and (r, col) in cell]
        best = min(p.median for p in peers)
        value = m.median
        if value <= best * 1.01:
            return _BEST
        if value <= best * 1.1:
            return _GOOD
        if value >= best * 5:
            return _VERY_BAD
        if value >= best * 2:
            return _BAD
        return ""
