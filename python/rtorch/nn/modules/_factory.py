"""Helpers shared by the layer modules: parameter allocation and PyTorch's default init."""

from __future__ import annotations

import math
from typing import Any

import rtorch

from ... import _C
from ..._C import Tensor


def empty(shape: tuple[int, ...] | list[int], device: Any = None, dtype: Any = None) -> Tensor:
    """An uninitialised tensor with the module's factory kwargs (``device``, ``dtype``)."""
    kwargs: dict[str, Any] = {}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if device is not None:
        kwargs["device"] = device
    return _C.empty(list(shape), **kwargs)


def uniform_bound_(tensor: Tensor, bound: float) -> None:
    """Fills ``tensor`` from U(-bound, bound) outside autograd."""
    with rtorch.no_grad():
        tensor.uniform_(-bound, bound)


def fan_in(weight: Tensor) -> int:
    """PyTorch's fan-in: ``size(1) * prod(size[2:])``."""
    if weight.dim() < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    receptive = 1
    for s in weight.shape[2:]:
        receptive *= s
    return weight.shape[1] * receptive


def kaiming_uniform_sqrt5_(weight: Tensor) -> None:
    """``init.kaiming_uniform_(weight, a=math.sqrt(5))``: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    fan = fan_in(weight)
    if weight.numel() == 0:
        return
    gain = math.sqrt(2.0 / (1 + 5))
    std = gain / math.sqrt(fan)
    uniform_bound_(weight, math.sqrt(3.0) * std)


def bias_uniform_(bias: Tensor | None, weight: Tensor) -> None:
    """Bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), as every PyTorch Linear/Conv."""
    if bias is None:
        return
    fan = fan_in(weight)
    uniform_bound_(bias, 1 / math.sqrt(fan) if fan > 0 else 0)
