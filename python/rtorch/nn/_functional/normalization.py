"""Normalization, as torch.nn.functional: batch, instance, layer, group and local response
norm, and ``normalize``.

Statistics come from one ``var_mean`` call (biased variance, as PyTorch normalises with);
the normalisation is a composition of whole-tensor ops, so autograd of the composition is
the exact backward (checked with gradcheck).
"""

from __future__ import annotations

from collections.abc import Sequence

import rtorch

from ... import _C
from ..._C import Tensor
from .activation import _require_floating
from .padding import pad as _pad

__all__ = [
    "batch_norm",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]


_KERNEL_DTYPES = (rtorch.float32, rtorch.float64)
_HALF_DTYPES = (rtorch.float16, rtorch.bfloat16)


def _channel_shape(input: Tensor) -> list[int]:
    shape = [1] * input.dim()
    shape[1] = input.shape[1]
    return shape


def _check_channel_vector(t: Tensor | None, name: str, channels: int) -> None:
    if t is not None and t.numel() != channels:
        raise RuntimeError(f"{name} should contain {channels} elements not {t.numel()}")


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    r"""Applies Batch Normalization for each channel across a batch of data.

    In training the batch statistics normalise (biased variance) and the running
    statistics, when given, are updated in place with ``momentum`` (the running variance
    with the unbiased batch variance). Otherwise the running statistics normalise.

    Shape:
        - Input: ``(N, C)`` or ``(N, C, *)``; output: the same.
    """
    if input.dim() < 2:
        raise ValueError(f"Expected 2D or higher input (got {input.dim()}D input)")
    channels = input.shape[1]
    _check_channel_vector(running_mean, "running_mean", channels)
    _check_channel_vector(running_var, "running_var", channels)
    _check_channel_vector(weight, "weight", channels)
    _check_channel_vector(bias, "bias", channels)
    if training:
        count = input.numel() // channels if channels else 0
        if count <= 1:
            raise ValueError(
                "Expected more than 1 value per channel when training, got input size "
                f"{input.shape}"
            )
    elif running_mean is None or running_var is None:
        raise RuntimeError("running_mean and running_var must be defined in evaluation mode")
    # One Rust op: per-channel statistics (training) or the running ones (evaluation), the
    # normalization and the affine map in one pass, the running statistics updated in place
    # (unbiased variance, ``momentum``), and a fused backward kernel.
    return _C._batch_norm(
        input,
        running_mean,
        running_var,
        weight,
        bias,
        training,
        0.1 if momentum is None else float(momentum),
        float(eps),
    )


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    r"""Applies Instance Normalization independently for each channel of each sample.

    Shape:
        - Input: ``(N, C, *)``; output: the same.
    """
    if input.dim() < 3:
        raise ValueError(f"Expected 3D or higher input (got {input.dim()}D input)")
    n, channels = input.shape[0], input.shape[1]
    if use_input_stats:
        spatial = 1
        for s in input.shape[2:]:
            spatial *= s
        if spatial <= 1:
            raise ValueError(
                f"Expected more than 1 spatial element when training, got input size {input.shape}"
            )
    elif running_mean is None or running_var is None:
        raise RuntimeError("Expected running_mean and running_var to be defined")

    # As PyTorch: batch norm of the input seen as one sample of N * C channels, the
    # per-channel tensors repeated per sample (the fused kernel, which also computes
    # 16-bit floats in float32 and rounds once), then the running statistics averaged
    # back over the samples.
    def per_instance(t: Tensor | None) -> Tensor | None:
        return None if t is None else t.repeat(n)

    stats = [per_instance(running_mean), per_instance(running_var)]
    out = _C._batch_norm(
        input.reshape(1, n * channels, *input.shape[2:]),
        stats[0],
        stats[1],
        per_instance(weight),
        per_instance(bias),
        use_input_stats,
        0.1 if momentum is None else float(momentum),
        float(eps),
    )
    with rtorch.no_grad():
        for running, repeated in zip((running_mean, running_var), stats):
            if running is not None and use_input_stats:
                running.copy_(repeated.view(n, channels).mean(0))
    return out.view(input.shape)


def layer_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""Applies Layer Normalization over the last ``len(normalized_shape)`` dimensions.

    Shape:
        - Input: ``(*, *normalized_shape)``; output: the same.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = [int(s) for s in normalized_shape]
    k = len(normalized_shape)
    if k == 0 or input.dim() < k or list(input.shape[input.dim() - k :]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={normalized_shape}, expected input with shape "
            f"[*, {', '.join(map(str, normalized_shape))}], but got input of size"
            f"{list(input.shape)}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and list(t.shape) != normalized_shape:
            raise RuntimeError(
                f"Expected {name} to be of same shape as normalized_shape, but got {name} of "
                f"shape {list(t.shape)} and normalized_shape = {normalized_shape}"
            )
    if input.is_floating_point():
        # Fused Rust kernel: per-row mean/rstd, normalization and affine in one pass.
        return _C._layer_norm(input, k, weight, bias, float(eps))
    dims = list(range(input.dim() - k, input.dim()))
    var, mean = _C.var_mean(input, dims, correction=0, keepdim=True)
    out = (input - mean) * (var + eps).rsqrt()
    if weight is not None:
        if bias is not None:
            return _C.addcmul(bias, out, weight)
        return out * weight
    if bias is not None:
        return out + bias
    return out


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    r"""Applies Group Normalization: statistics over each group of channels per sample.

    Shape:
        - Input: ``(N, C, *)`` with ``C`` divisible by ``num_groups``; output: the same.
    """
    if input.dim() < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {input.dim()}"
        )
    n, channels = input.shape[0], input.shape[1]
    # PyTorch's _verify_batch_size on [N * C // G, G, *]: a zero num_groups raises
    # Python's ZeroDivisionError there, as it does in PyTorch.
    size = [n * channels // num_groups, num_groups, *input.shape[2:]]
    size_prods = size[0]
    for s in size[2:]:
        size_prods *= s
    if size_prods == 1:
        raise ValueError(
            f"Expected more than 1 value per channel when training, got input size {size}"
        )
    if input.dtype in _KERNEL_DTYPES:
        # Fused Rust kernel: per-(sample, group) statistics, normalization and the
        # per-channel affine in one pass; one backward kernel (PyTorch's checks there).
        return _C._group_norm(input, num_groups, weight, bias, float(eps))
    if input.dtype in _HALF_DTYPES:
        # PyTorch normalizes a 16-bit float input in float32 and rounds once; the
        # composition below would round the centred values and their product.
        wide = [None if t is None else t.float() for t in (weight, bias)]
        out = _C._group_norm(input.float(), num_groups, wide[0], wide[1], float(eps))
        return out.to(input.dtype)
    if channels % num_groups != 0:
        raise RuntimeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {list(input.shape)} and num_groups={num_groups}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and (t.dim() != 1 or t.numel() != channels):
            raise RuntimeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {list(t.shape)} and input of shape "
                f"{list(input.shape)}"
            )
    if num_groups <= 0:
        raise RuntimeError(f"Expected num groups to be greater than 0, got {num_groups}")
    grouped = input.reshape(n, num_groups, -1)
    var, mean = _C.var_mean(grouped, -1, correction=0, keepdim=True)
    out = ((grouped - mean) * (var + eps).rsqrt()).view(input.shape)
    shape = _channel_shape(input)
    if weight is not None:
        if bias is not None:
            return _C.addcmul(bias.view(shape), out, weight.view(shape))
        return out * weight.view(shape)
    if bias is not None:
        return out + bias.view(shape)
    return out


def local_response_norm(
    input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0
) -> Tensor:
    r"""Applies local response normalization across channels:
    :math:`b_c = a_c / (k + \frac{\alpha}{n}\sum_{c'} a_{c'}^2)^{\beta}` over a window of
    ``size`` neighbouring channels.
    """
    if input.dim() < 3:
        raise ValueError(
            f"Expected 3D or higher dimensionality input (got {input.dim()} dimensions)"
        )
    if input.numel() == 0:
        return input
    sq = input * input
    amounts = [0, 0] * (input.dim() - 2) + [size // 2, (size - 1) // 2]
    padded = _pad(sq, amounts)
    # The window sums as `size` shifted channel slices added in order: whole-tensor adds
    # (the mean of an unfolded window dim walked each window with a stride of a plane).
    c = input.shape[1]
    total = padded.narrow(1, 0, c)
    for j in range(1, size):
        total = total + padded.narrow(1, j, c)
    div = (total / size).mul(alpha).add(k).pow(beta)
    return input / div


def normalize(
    input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12, out: Tensor | None = None
) -> Tensor:
    r"""Divides ``input`` by its ``p``-norm along ``dim``: :math:`v / \max(\|v\|_p, \epsilon)`."""
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        out.copy_(result)
        return out
    return result


def rms_norm(
    input: Tensor,
    normalized_shape: Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    r"""Applies Root Mean Square Layer Normalization over the last
    ``len(normalized_shape)`` dimensions: :math:`y = x / \sqrt{\mathrm{mean}(x^2) + \epsilon}
    \cdot \gamma`. ``eps`` defaults to the machine epsilon of the input's dtype.
    """
    if isinstance(normalized_shape, int):
        normalized_shape = (normalized_shape,)
    normalized_shape = [int(s) for s in normalized_shape]
    _require_floating(input, "rms_norm")
    k = len(normalized_shape)
    if input.dim() < k or list(input.shape[input.dim() - k :]) != normalized_shape:
        raise RuntimeError(
            f"Given normalized_shape={normalized_shape}, expected input with shape "
            f"[*{', '.join(map(str, normalized_shape))}], but got input of size"
            f"{list(input.shape)}"
        )
    if weight is not None and list(weight.shape) != normalized_shape:
        raise RuntimeError(
            "Expected weight to be of same shape as normalized_shape, but got weight of "
            f"shape {list(weight.shape)} and normalized_shape = {normalized_shape}"
        )
    # float16/bfloat16 compute in float32 and round once, the weight's product included,
    # and eps defaults to float32's epsilon for them, as PyTorch's rms_norm (its
    # "opmath" type): bfloat16's own 0.0078 would swamp mean(x^2) of small inputs (0.01
    # normalised to 0.11, not 1), and rounding before the weight rounded a quarter of
    # the outputs the other way. The result has the input's dtype whatever the weight's.
    x = input.float() if input.dtype in _HALF_DTYPES else input
    if eps is None:
        eps = rtorch.finfo(x.dtype).eps
    dims = list(range(input.dim() - k, input.dim()))
    out = x * (x * x).mean(dims, keepdim=True).add(eps).rsqrt()
    if weight is not None:
        out = out * weight
    return out.to(input.dtype)
