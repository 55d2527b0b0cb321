"""``rtorch.nn.grad``: the gradients of a convolution with respect to its input and its
weight, given the gradient of its output, as ``torch.nn.grad``.

For batched 1-D and 2-D convolutions on the CPU these run the convolution's backward
kernels for the one gradient asked for (the same bits as ``backward()``, without a
forward pass). Elsewhere the input gradient is the transposed convolution of
``grad_output`` (the adjoint of the convolution, with the output padding that restores
``input_size``), and the weight gradient the backward of the convolution itself, run on
a zero weight of the requested shape and differentiated with rtorch's autograd. Both
stay differentiable with respect to ``weight``/``input`` and ``grad_output`` (double
backward) when those require gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import rtorch

from .. import _C
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
# The dtypes the fused convolution kernels take.
_KERNEL_DTYPES = (rtorch.float32, rtorch.float64, rtorch.bfloat16, rtorch.float16)
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _size(size: Any, name: str) -> list[int]:
    if isinstance(size, Tensor) or not isinstance(size, Sequence):
        raise TypeError(f"{name} must be a sequence of ints (a shape), got {type(size).__name__}")
    return [int(s) for s in size]


def _check_grad_output(shape: Sequence[int], grad_output: Tensor) -> None:
    """``grad_output`` has the convolution's output shape ``shape``."""
    if tuple(shape) != tuple(grad_output.shape):
        raise RuntimeError(
            f"Expected grad_output of shape {list(shape)} for this convolution, "
            f"but got {list(grad_output.shape)}"
        )


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
        _check_grad_output(output.shape, grad_output)
        (grad,) = rtorch.autograd.grad(output, target, grad_output, create_graph=create_graph)
    return grad


def _tuple(v: _IntOrTuple, spatial: int) -> list[int]:
    return [int(e) for e in v] if isinstance(v, Sequence) else [int(v)] * spatial


def _transposed_input_grad(
    spatial: int,
    size: list[int],
    weight: Tensor,
    grad_output: Tensor,
    stride: _IntOrTuple,
    padding: _IntOrTuple,
    dilation: _IntOrTuple,
    groups: int,
) -> Tensor:
    """The input gradient as ``conv_transpose{spatial}d(grad_output, weight)``: the
    convolution's shapes (and its argument checks) come from a run on meta tensors, and
    the output padding is what the convolution's floor division dropped."""
    meta_in = rtorch.empty(size, dtype=weight.dtype, device="meta")
    meta_w = rtorch.empty(list(weight.shape), dtype=weight.dtype, device="meta")
    shape = _CONV[spatial](meta_in, meta_w, None, stride, padding, dilation, groups).shape
    _check_grad_output(shape, grad_output)
    s, p, d = (_tuple(v, spatial) for v in (stride, padding, dilation))
    kernel, i_sizes, o_sizes = weight.shape[2:], size[-spatial:], shape[-spatial:]
    # The transposed convolution gives (o - 1) s - 2p + d (k - 1) + 1 + output_padding.
    extra = [
        i_sizes[i] - ((o_sizes[i] - 1) * s[i] - 2 * p[i] + d[i] * (kernel[i] - 1) + 1)
        for i in range(spatial)
    ]
    return _CONV_TRANSPOSE[spatial](grad_output, weight, None, s, p, extra, groups, d)


def _kernel_grad(
    spatial: int,
    wrt_input: bool,
    known: Tensor,
    size: list[int],
    grad_output: Tensor,
    stride: _IntOrTuple,
    padding: _IntOrTuple,
    dilation: _IntOrTuple,
    groups: int,
) -> Tensor | None:
    """The input (``wrt_input``) or weight gradient of a batched 1-D or 2-D convolution
    from the fused kernels' backward pass for it alone (``_C._conv2d_grad``: no forward
    pass), given the other operand ``known`` and the shape ``size`` of the one whose
    gradient is wanted; None where that does not apply: a graph is wanted (double
    backward), string padding, another dtype or device, unbatched or negative shapes or
    arguments of the wrong length (the routes below then give PyTorch's errors)."""
    graph = rtorch.is_grad_enabled() and (known.requires_grad or grad_output.requires_grad)
    if graph or isinstance(padding, str) or spatial not in (1, 2):
        return None
    if known.dtype not in _KERNEL_DTYPES or grad_output.dtype != known.dtype:
        return None
    if known.device.type != "cpu" or grad_output.device.type != "cpu":
        return None
    s, p, d = (_tuple(v, spatial) for v in (stride, padding, dilation))
    shapes_fit = known.dim() == spatial + 2 and len(size) == spatial + 2
    if not shapes_fit or any(v < 0 for v in size) or any(len(v) != spatial for v in (s, p, d)):
        return None
    known, gy = known.detach(), grad_output.detach()
    if spatial == 1:
        # A 1-D convolution is a 2-D one of height 1.
        known, gy, size = known.unsqueeze(2), gy.unsqueeze(2), [*size[:2], 1, size[2]]
        s, p, d = [1, *s], [0, *p], [1, *d]
    # Only the shape of the operand whose gradient is wanted is read: one element
    # broadcast to it (a fresh input-sized tensor cost its page faults).
    other = rtorch.empty((), dtype=known.dtype).expand(size)
    x, w = (other, known) if wrt_input else (known, other)
    grad = _C._conv2d_grad(x, w, gy, tuple(s), tuple(p), tuple(d), groups, wrt_input)
    return grad.squeeze(2) if spatial == 1 else grad


def _input_grad_fn(spatial: int) -> Callable[..., Tensor]:
    """``conv{spatial}d_input``: the backward's input-gradient kernels where they apply
    (``_kernel_grad``), else the transposed convolution of ``grad_output`` to
    ``input_size``."""

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
        fast = _kernel_grad(
            spatial, True, weight, size, grad_output, stride, padding, dilation, groups
        )
        if fast is not None:
            return fast
        if isinstance(padding, str):
            # 'same'/'valid' padding has no transposed counterpart: differentiate a
            # convolution of a zero input instead.
            input = rtorch.zeros(size, dtype=weight.dtype, device=weight.device, requires_grad=True)
            return _grad_of(
                spatial, True, input, weight, grad_output, stride, padding, dilation, groups
            )
        return _transposed_input_grad(
            spatial, size, weight, grad_output, stride, padding, dilation, groups
        )

    conv_input.__name__ = conv_input.__qualname__ = f"conv{spatial}d_input"
    conv_input.__doc__ = (
        f"The gradient of ``conv{spatial}d`` with respect to its input of shape ``input_size``."
    )
    return conv_input


def _weight_grad_fn(spatial: int) -> Callable[..., Tensor]:
    """``conv{spatial}d_weight``: the backward's weight-gradient kernels where they apply
    (``_kernel_grad``), else a zero weight of ``weight_size`` differentiated (the
    convolution is linear in its weight)."""

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
        fast = _kernel_grad(
            spatial, False, input, size, grad_output, stride, padding, dilation, groups
        )
        if fast is not None:
            return fast
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
