"""Element-wise building blocks shared by the optimizer updates.

Each is the same arithmetic as PyTorch's formulation, composed from the core ops that
are fastest today: out-of-place ops with a scalar, in-place ``add_`` of a tensor with
``alpha``, and a reciprocal times the numerator instead of a division (the core's
division and lerp kernels are several times slower than its multiply). Results may
differ from PyTorch's in the last bit. These are the pieces a fused Rust kernel per
algorithm will replace.
"""

from __future__ import annotations

from .._C import Tensor


def lerp_(avg: Tensor, value: Tensor, weight: float) -> None:
    """``avg += weight * (value - avg)``: an exponential moving average, in place."""
    avg.add_(value.sub(avg), alpha=weight)


def ema_square_(avg_sq: Tensor, grad: Tensor, beta: float) -> None:
    """``avg_sq = beta * avg_sq + (1 - beta) * grad**2``, in place."""
    delta = grad.mul(grad)
    delta.sub_(avg_sq)
    avg_sq.add_(delta, alpha=1 - beta)


def add_ratio_(param: Tensor, numerator: Tensor, denominator: Tensor, value: float) -> None:
    """``param += value * numerator / denominator`` (``addcdiv_``), in place."""
    param.add_(numerator.mul(denominator.reciprocal()), alpha=value)
