"""Printing tensors exactly in PyTorch's format (``repr``/``str``), and print options.

A port of PyTorch's ``torch/_tensor_str.py`` that works from Python values (``tolist``),
so it needs neither numpy nor any tensor op beyond ``narrow``/``select`` views. When a
tensor is summarised (more than ``threshold`` elements) only the edge items are read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Iterator
from typing import Any, Union


@dataclasses.dataclass
class _PrinterOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrinterOptions()


def set_printoptions(
    precision: int | None = None,
    threshold: float | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    profile: str | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Sets options for printing tensors (as ``torch.set_printoptions``).

    ``profile`` is one of ``"default"``, ``"short"`` or ``"full"``; the other arguments
    override it. ``sci_mode=None`` lets the formatter choose scientific notation.
    """
    if profile is not None:
        if profile == "default":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
        elif profile == "short":
            PRINT_OPTS.precision = 2
            PRINT_OPTS.threshold = 1000
            PRINT_OPTS.edgeitems = 2
            PRINT_OPTS.linewidth = 80
        elif profile == "full":
            PRINT_OPTS.precision = 4
            PRINT_OPTS.threshold = math.inf
            PRINT_OPTS.edgeitems = 3
            PRINT_OPTS.linewidth = 80
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    """The current print options, as keyword arguments for :func:`set_printoptions`."""
    return dataclasses.asdict(PRINT_OPTS)


@contextlib.contextmanager
def printoptions(**kwargs: Any) -> Iterator[None]:
    """Context manager that temporarily changes the print options."""
    old = get_printoptions()
    set_printoptions(**kwargs)
    try:
        yield
    finally:
        set_printoptions(**old)


class _Summary:
    """One summarised dimension: the first and last ``edgeitems`` entries."""

    __slots__ = ("head", "tail")

    def __init__(self, head: list, tail: list) -> None:
        self.head = head
        self.tail = tail


_Data = Union[list, _Summary, float, int, bool]


def _values(t: Any) -> Any:
    """``t.tolist()``, reading half-precision tensors through float32."""
    return t.tolist()


def _fetch(t: Any, summarize: bool) -> _Data:
    """The values to print: nested lists, with :class:`_Summary` where elided."""
    dim = t.dim()
    if dim == 0:
        return t.item()
    if not summarize:
        return _values(t)
    edge = PRINT_OPTS.edgeitems
    n = t.shape[0]
    if n > 2 * edge:
        if dim == 1:
            if edge == 0:
                # PyTorch's formatter sees t[:0] + t[-0:], i.e. every element.
                return _Summary([], _values(t))
            return _Summary(_values(t.narrow(0, 0, edge)), _values(t.narrow(0, n - edge, edge)))
        if edge == 0:
            return _Summary([], [])
        head = [_fetch(t.select(0, i), True) for i in range(edge)]
        tail = [_fetch(t.select(0, i), True) for i in range(n - edge, n)]
        return _Summary(head, tail)
    if dim == 1:
        return _values(t)
    return [_fetch(t.select(0, i), True) for i in range(n)]


def _leaves(data: _Data, out: list[Any]) -> None:
    if isinstance(data, _Summary):
        _leaves(data.head, out)
        _leaves(data.tail, out)
    elif isinstance(data, list):
        for d in data:
            _leaves(d, out)
    else:
        out.append(data)


class _Formatter:
    def __init__(self, floating: bool, values: list[Any]) -> None:
        self.floating_dtype = floating
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not floating:
            for v in values:
                self.max_width = max(self.max_width, len(f"{v}"))
            return
        nonzero_finite = [v for v in values if math.isfinite(v) and v != 0]
        if not nonzero_finite:
            return
        abs_vals = [abs(v) for v in nonzero_finite]
        vmin = min(abs_vals)
        vmax = max(abs_vals)
        for v in nonzero_finite:
            if v != math.ceil(v):
                self.int_mode = False
                break
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = vmax / vmin > 1000.0 or vmax > 1.0e8 or vmin < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        p = PRINT_OPTS.precision
        if self.sci_mode:
            for v in nonzero_finite:
                self.max_width = max(self.max_width, len(f"{v:.{p}e}"))
        elif self.int_mode:
            for v in nonzero_finite:
                self.max_width = max(self.max_width, len(f"{v:.0f}") + 1)
        else:
            for v in nonzero_finite:
                self.max_width = max(self.max_width, len(f"{v:.{p}f}"))

    def width(self) -> int:
        return self.max_width

    def format(self, value: Any) -> str:
        if self.floating_dtype:
            p = PRINT_OPTS.precision
            if self.sci_mode:
                ret = f"{value:{self.max_width}.{p}e}"
            elif self.int_mode:
                ret = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    ret += "."
            else:
                ret = f"{value:.{p}f}"
        else:
            ret = f"{value}"
        return (self.max_width - len(ret)) * " " + ret


def _vector_str(data: list | _Summary, indent: int, summarize: bool, fmt: _Formatter) -> str:
    element_length = fmt.width() + 2
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    if summarize and not PRINT_OPTS.edgeitems:
        items = ["..."]
    elif isinstance(data, _Summary):
        items = [fmt.format(v) for v in data.head] + [" ..."] + [fmt.format(v) for v in data.tail]
    else:
        items = [fmt.format(v) for v in data]
    lines = [", ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(
    data: _Data, dim: int, indent: int, summarize: bool, fmt: _Formatter
) -> str:
    if dim == 0:
        return fmt.format(data)
    if dim == 1:
        return _vector_str(data, indent, summarize, fmt)  # type: ignore[arg-type]
    if isinstance(data, _Summary):
        slices = (
            [_tensor_str_with_formatter(d, dim - 1, indent + 1, summarize, fmt) for d in data.head]
            + ["..."]
            + [
                _tensor_str_with_formatter(d, dim - 1, indent + 1, summarize, fmt)
                for d in data.tail
            ]
        )
    else:
        slices = [
            _tensor_str_with_formatter(d, dim - 1, indent + 1, summarize, fmt)
            for d in data  # type: ignore[union-attr]
        ]
    return "[" + ("," + "\n" * (dim - 1) + " " * (indent + 1)).join(slices) + "]"


def _tensor_str(t: Any, indent: int) -> str:
    if t.numel() == 0:
        return "[]"
    summarize = t.numel() > PRINT_OPTS.threshold
    data = _fetch(t, summarize)
    leaves: list[Any] = []
    if summarize and t.dim() >= 2 and not PRINT_OPTS.edgeitems:
        pass  # PyTorch formats an empty summary here
    else:
        _leaves(data, leaves)
    fmt = _Formatter(t.dtype.is_floating_point, leaves)
    return _tensor_str_with_formatter(data, t.dim(), indent, summarize, fmt)


def _add_suffixes(tensor_str: str, suffixes: list[str], indent: int) -> str:
    parts = [tensor_str]
    last_line_len = len(tensor_str) - tensor_str.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def _size_str(shape: Any) -> str:
    return str(tuple(shape))


def tensor_repr(t: Any) -> str:
    """``repr(tensor)`` and ``str(tensor)``, as PyTorch prints them."""
    import rtorch

    with rtorch.no_grad():
        cls = type(t)
        if cls is rtorch.Tensor or cls.__name__ == "Parameter":
            prefix = "tensor("
        else:
            prefix = f"{cls.__name__}("
        indent = len(prefix)
        suffixes: list[str] = []
        default = rtorch.get_default_dtype()
        dtype = t.dtype
        if t.device.type == "meta":
            # No values to print: PyTorch shows "..." with the device, size and dtype.
            suffixes.append("device='meta'")
            suffixes.append("size=" + _size_str(t.shape))
            if dtype != default:
                suffixes.append(f"dtype={dtype!r}")
            body = "..."
        elif t.numel() == 0:
            if t.dim() != 1:
                suffixes.append("size=" + _size_str(t.shape))
            if dtype != default:
                suffixes.append(f"dtype={dtype!r}")
            body = "[]"
        else:
            if not PRINT_OPTS.edgeitems:
                suffixes.append("size=" + _size_str(t.shape))
            if dtype not in (default, rtorch.int64, rtorch.bool):
                suffixes.append(f"dtype={dtype!r}")
            body = _tensor_str(t.detach(), indent)
        grad_fn = t.grad_fn
        if grad_fn is not None:
            suffixes.append(f"grad_fn=<{grad_fn.name()}>")
        elif t.requires_grad:
            suffixes.append("requires_grad=True")
        return _add_suffixes(prefix + body, suffixes, indent)
