"""Printing tensors in PyTorch's format (a first version: full values, 4 decimals)."""

from __future__ import annotations

from typing import Any


def _fmt(v: Any, is_float: bool) -> str:
    if isinstance(v, bool):
        return "True" if v else "False"
    if is_float:
        return f"{v:.4f}"
    return str(v)


def _nested(values: Any, is_float: bool, indent: int) -> str:
    if not isinstance(values, list):
        return _fmt(values, is_float)
    if values and isinstance(values[0], list):
        sep = ",\n" + " " * indent
        return "[" + sep.join(_nested(v, is_float, indent + 1) for v in values) + "]"
    return "[" + ", ".join(_fmt(v, is_float) for v in values) + "]"


def tensor_repr(t: Any) -> str:
    """``repr(tensor)``."""
    import rtorch

    is_float = t.dtype.is_floating_point
    body = _nested(t.tolist(), is_float, len("tensor(") + 1)
    suffix = []
    default = rtorch.get_default_dtype()
    if t.dtype != default and t.dtype not in (rtorch.int64, rtorch.bool) or (
        t.numel() == 0 and t.dtype != default
    ):
        suffix.append(f"dtype={t.dtype!r}")
    if t.grad_fn is not None:
        suffix.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t.requires_grad:
        suffix.append("requires_grad=True")
    return "tensor(" + body + "".join(", " + s for s in suffix) + ")"
