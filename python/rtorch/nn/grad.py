"""``rtorch.nn.grad``: the gradients of a convolution with respect to its input and its
weight, given the gradient of its output, as ``torch.nn.grad``.

Each is the backward of the convolution itself: the convolution is run on a zero tensor
of the requested shape and differentiated with rtorch's autograd, so these agree exactly
with what ``backward()`` computes (the same kernels) and stay differentiable with
respect to ``weight``/``input`` and ``grad_output`` (double backward) when those require
gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import rtorch

from .._C import Tensor
from . import functional as F

__all__ = [
    "conv1d_input",
    "conv1d_weight",
    "conv2d_input",
    "conv2d_weight",
    "conv3d_input",
    "conv3d_weight",
]

_IntOrTuple = int | Sequence[int]
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _size(size: Any, name: str) -> list[int]:
    if isinstance(size, Tensor) or not isinstance(size, Sequence):
        raise TypeError(f"{name} must be a sequence of ints (a shape), got {type(size).__name__}")
    return [int(s) for s in size]


def _grad_of(
    spatial: int,
    wrt_input: bool,
    input: Tensor,
    weight: Tensor,
    grad_output: Tensor,
    stride: _IntOrTuple,
    padding: _IntOrTuple,
    dilation: _IntOrTuple,
    groups: int,
) -> Tensor:
    target = input if wrt_input else weight
    create_graph = rtorch.is_grad_enabled() and any(
        t.requires_grad for t in (input, weight, grad_output)
    )
    with rtorch.enable_grad():
        output = _CONV[spatial](input, weight, None, stride, padding, dilation, groups)
        if tuple(output.shape) != tuple(grad_output.shape):
            raise RuntimeError(
                f"Expected grad_output of shape {list(output.shape)} for this convolution, "
                f"but got {list(grad_output.shape)}"
            )
        (grad,) = rtorch.autograd.grad(output, target, grad_output, create_graph=create_graph)
    return grad


def _input_grad_fn(spatial: int) -> Callable[..., Tensor]:
    """``conv{spatial}d_input``: a zero input of ``input_size`` is differentiated (the
    convolution is linear in its input, so its value does not enter the gradient)."""

    def conv_input(
        input_size: Sequence[int],
        weight: Tensor,
        grad_output: Tensor,
        stride: _IntOrTuple = 1,
        padding: _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        groups: int = 1,
    ) -> Tensor:
        size = _size(input_size, "input_size")
        input = rtorch.zeros(size, dtype=weight.dtype, device=weight.device, requires_grad=True)
        return _grad_of(
            spatial, True, input, weight, grad_output, stride, padding, dilation, groups
        )

    conv_input.__name__ = conv_input.__qualname__ = f"conv{spatial}d_input"
    conv_input.__doc__ = (
        f"The gradient of ``conv{spatial}d`` with respect to its input of shape ``input_size``."
    )
    return conv_input


def _weight_grad_fn(spatial: int) -> Callable[..., Tensor]:
    """``conv{spatial}d_weight``: a zero weight of ``weight_size`` is differentiated (the
    convolution is linear in its weight too)."""

    def conv_weight(
        input: Tensor,
        weight_size: Sequence[int],
        grad_output: Tensor,
        stride: _IntOrTuple = 1,
        padding: _IntOrTuple = 0,
        dilation: _IntOrTuple = 1,
        groups: int = 1,
    ) -> Tensor:
        size = _size(weight_size, "weight_size")
        weight = rtorch.zeros(size, dtype=input.dtype, device=input.device, requires_grad=True)
        return _grad_of(
            spatial, False, input, weight, grad_output, stride, padding, dilation, groups
        )

    conv_weight.__name__ = conv_weight.__qualname__ = f"conv{spatial}d_weight"
    conv_weight.__doc__ = (
        f"The gradient of ``conv{spatial}d`` with respect to its weight of shape ``weight_size``."
    )
    return conv_weight


# One definition per gradient, instantiated per dimension: the six public functions differ
# only in which convolution they differentiate.
conv1d_input = _input_grad_fn(1)
conv1d_weight = _weight_grad_fn(1)
conv2d_input = _input_grad_fn(2)
conv2d_weight = _weight_grad_fn(2)
conv3d_input = _input_grad_fn(3)
conv3d_weight = _weight_grad_fn(3)
