"""Activation functions of rtorch.nn.functional, as torch.nn.functional.

The common ones (relu, gelu, softmax, ...) are single kernels of ``rtorch._C``; the rest
are short compositions of whole-tensor ops whose autograd gives PyTorch's gradients,
including PyTorch's choice of one-sided derivative at every kink (checked in
tests/test_nn_activation.py).
"""

from __future__ import annotations

import warnings

from ... import _C
from ..._C import Tensor
from ..._dtype_info import SCALAR_NAMES

__all__ = [
    "celu",
    "celu_",
    "elu",
    "elu_",
    "gelu",
    "glu",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu",
    "leaky_relu_",
    "log_softmax",
    "logsigmoid",
    "mish",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
]

# PyTorch's C++ names of the dtypes, used in its error messages.
_SCALAR_NAMES = SCALAR_NAMES


def _require_floating(input: Tensor, kernel: str) -> None:
    """PyTorch's refusal of integer inputs by kernels that only exist for floats."""
    if not input.is_floating_point():
        name = _SCALAR_NAMES.get(input.dtype, str(input.dtype))
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{name}'")


# (name, max) of floating dtypes, for softshrink's message.
_DTYPE_RANGE = {
    _C.float32: ("Float", 3.40282e38),
    _C.float64: ("Double", 1.79769e308),
    _C.float16: ("Half", 65504.0),
    _C.bfloat16: ("BFloat16", 3.38953e38),
}

# SELU's constants (Klambauer et al., 2017), as PyTorch spells them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946

relu_ = _C.relu_
leaky_relu_ = _C.leaky_relu_
elu_ = _C.elu_
hardtanh_ = _C.hardtanh_
gelu = _C.gelu
softplus = _C.softplus
logsigmoid = _C.logsigmoid


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(0, x) elementwise; relu'(0) = 0."""
    return _C.relu_(input) if inplace else _C.relu(input)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(0, x), 6); zero gradient at both bounds, as PyTorch."""
    return _C.relu6(input, inplace)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, negative_slope * x otherwise."""
    return _C.leaky_relu(input, negative_slope, inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return _C.elu(input, alpha, 1.0, 1.0, inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with the self-normalising constants (one kernel, as
    PyTorch's ``elu(x, alpha, scale)``)."""
    return _C.elu(input, _SELU_ALPHA, _SELU_SCALE, 1.0, inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place version of :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): PyTorch's ``elu(x, alpha, 1,
    1 / alpha)``."""
    _require_floating(input, "elu_cpu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _C.elu(input, alpha, 1.0, 1.0 / alpha, inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place version of :func:`celu`."""
    return celu(input, alpha, inplace=True)


def hardtanh(
    input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False
) -> Tensor:
    """Clamp to [min_val, max_val]; zero gradient at both bounds, as PyTorch."""
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _C.hardtanh(input, min_val, max_val, inplace)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x)."""
    return _C.silu(input, inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x))."""
    return _C.mish(input, inplace)


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return _C.sigmoid(input)


def tanh(input: Tensor) -> Tensor:
    """Hyperbolic tangent."""
    return _C.tanh(input)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6: gradient 1/6 strictly inside (-3, 3), zero at and beyond the bounds."""
    return _C.hardsigmoid(input, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6; its gradient is 0 at x = -3 and 1 at x = 3, as PyTorch's."""
    return _C.hardswish(input, inplace)


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def tanhshrink(input: Tensor) -> Tensor:
    """x - tanh(x)."""
    return input - input.tanh()


def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value (NaN stays NaN)."""
    # `x <= threshold` is False for NaN, so NaN passes through as in PyTorch.
    mask = input <= threshold
    if inplace:
        return input.masked_fill_(mask, value)
    out = _C.where(mask, value, input)
    # An integer input keeps its dtype (the value is cast to it), as in PyTorch.
    return out if out.dtype == input.dtype else out.to(input.dtype)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place version of :func:`threshold`."""
    return globals()["threshold"](input, threshold, value, inplace=True)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x - lambd above lambd, x + lambd below -lambd, 0 in between (and at the bounds)."""
    _require_floating(input, "softshrink_check")
    if lambd < 0:
        kind, top = _DTYPE_RANGE.get(input.dtype, ("Float", 3.40282e38))
        raise RuntimeError(
            f"lambda must be in range [0, {top:g}] for input dtype {kind}, but found {lambd:g}"
        )
    inside = input.abs() <= lambd
    shifted = input - _C.where(input > 0, lambd, -lambd)
    return _C.where(inside, 0.0, shifted)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """x where |x| > lambd, 0 elsewhere (the bounds included)."""
    _require_floating(input, "hardshrink_cpu")
    return _C.where(input.abs() <= lambd, 0.0, input)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """max(0, x) + weight * min(0, x), weight per channel (dim 1) or shared.

    Shape:
        - input: (N, C, *) with weight (C,) or (1,); inputs of under two dimensions
          take a single shared weight (1,).
    """
    if not isinstance(weight, Tensor):
        raise TypeError(f"prelu(): argument 'weight' must be Tensor, not {type(weight).__name__}")
    if weight.dim() > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}"
        )
    num = weight.numel()
    if num != 1:
        # Inputs of fewer than two dimensions have a single channel.
        channels = input.shape[1] if input.dim() >= 2 else 1
        if channels != num:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {num} and channel size = {channels}."
            )
        w = weight.reshape([num] + [1] * (input.dim() - 2))
    else:
        w = weight.reshape(())
    return _C.where(input > 0, input, w * input)


def rrelu(
    input: Tensor,
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    inplace: bool = False,
) -> Tensor:
    """Leaky ReLU whose negative slope is drawn from U(lower, upper) per element in training
    and fixed at (lower + upper) / 2 in evaluation."""
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if not input.is_floating_point() or input.dtype == _C.float16:
        raise NotImplementedError(
            f"\"rrelu_with_noise_out_cpu\" not implemented for '{_SCALAR_NAMES[input.dtype]}'"
        )
    # As PyTorch's CPU kernel: one float64 uniform in [lower, upper) per non-positive element
    # (in memory order), the bounds and the slope in the input's compute precision.
    wide = input.dtype == _C.float64
    compute = _C.float64 if wide else _C.float32
    lo = lower if wide else float(_C.tensor(lower, dtype=_C.float32))
    hi = upper if wide else float(_C.tensor(upper, dtype=_C.float32))
    x = input.contiguous()
    negative = x <= 0
    count = int(negative.sum())
    slopes = _C.empty(count, dtype=_C.float64).uniform_(lo, hi).to(compute)
    slope = _C.ones(tuple(x.shape), dtype=compute)
    slope[negative] = slopes
    if inplace:
        return input.mul_(slope)
    return (x * slope).to(input.dtype)


def rrelu_(
    input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False
) -> Tensor:
    """In-place version of :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def _implicit_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy choice of dimension when softmax is called without one."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: object = None
) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (computed in ``dtype`` when given)."""
    if dim is None:
        dim = _implicit_softmax_dim("softmax", input.dim(), _stacklevel)
    return _C.softmax(input, dim, dtype)


def softmin(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: object = None
) -> Tensor:
    """softmax(-x) along ``dim``."""
    if dim is None:
        dim = _implicit_softmax_dim("softmin", input.dim(), _stacklevel)
    return _C.softmax(-input, dim, dtype)


def log_softmax(
    input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: object = None
) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably in one kernel."""
    if dim is None:
        dim = _implicit_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _C.log_softmax(input, dim, dtype)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), where a and b are the two halves of ``input`` along ``dim``."""
    return _C.glu(input, dim)


def gumbel_softmax(
    logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10, dim: int = -1
) -> Tensor:
    """Samples from the Gumbel-softmax distribution; ``hard`` returns one-hot samples whose
    gradient is the soft sample's (straight-through estimator)."""
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -_C.empty_like(logits).exponential_().log()
    y_soft = ((logits + gumbels) / tau).softmax(dim)
    if not hard:
        return y_soft
    index = y_soft.argmax(dim, keepdim=True)
    y_hard = _C.zeros_like(logits).scatter(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
