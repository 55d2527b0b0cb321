"""Parameter initialisation, as ``torch.nn.init``.

Every function fills its tensor in place under ``no_grad`` and returns it. The formulas
(gains, fans, bounds) and the draws are PyTorch's, so after the same ``manual_seed`` a
default initialisation gives PyTorch's values.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import rtorch

from .._C import Tensor

__all__ = [
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
]

_LINEAR_FNS = (
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
)


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for a nonlinearity.

    ============ ==========================================
    nonlinearity gain
    ============ ==========================================
    Linear/Conv  :math:`1`
    Sigmoid      :math:`1`
    Tanh         :math:`\frac{5}{3}`
    ReLU         :math:`\sqrt{2}`
    Leaky Relu   :math:`\sqrt{\frac{2}{1 + \text{negative\_slope}^2}}`
    SELU         :math:`\frac{3}{4}`
    ============ ==========================================

    Args:
        nonlinearity: the non-linear function (`nn.functional` name).
        param: optional parameter of the function (leaky_relu's negative slope, default 0.01).

    Example::

        >>> nn.init.calculate_gain("leaky_relu", 0.2)
        1.3867504905630728
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope**2))
    if nonlinearity == "selu":
        # Chosen (not derived) in PyTorch to preserve the variance of self-normalising nets.
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
        )
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    r"""Fills ``tensor`` with values drawn from :math:`\mathcal{U}(a, b)`."""
    with rtorch.no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    r"""Fills ``tensor`` with values drawn from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`."""
    with rtorch.no_grad():
        return tensor.normal_(mean, std, generator=generator)


def _norm_cdf(x: float) -> float:
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def trunc_normal_(
    tensor: Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: Any = None,
) -> Tensor:
    r"""Fills ``tensor`` from :math:`\mathcal{N}(\text{mean}, \text{std}^2)` truncated to
    :math:`[a, b]`.

    As PyTorch: where the interval holds more than 30% of the normal's mass, normal draws
    outside it are redrawn until none is; otherwise uniform candidates in :math:`[a, b]`
    are accepted with probability :math:`\text{pdf}(x) / \text{pdf}(\text{mode})`, the
    rejected ones redrawn. Same draws as PyTorch, so a seed gives its values.
    """
    if tensor.is_meta:
        return tensor
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn(
            "mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
            "The distribution of values may be incorrect.",
            stacklevel=2,
        )
    with rtorch.no_grad():
        mass = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
        if mass > 0.3:
            _truncated_by_redraws(tensor, mean, std, a, b, generator)
        else:
            _truncated_by_rejection(tensor, mean, std, a, b, generator)
        return tensor


def _truncated_by_redraws(
    tensor: Tensor, mean: float, std: float, a: float, b: float, generator: Any
) -> None:
    # The bounds as the tensor's dtype holds them, so that the test matches its values.
    lo = rtorch.tensor(a, dtype=tensor.dtype).item()
    hi = rtorch.tensor(b, dtype=tensor.dtype).item()
    result = tensor.normal_(mean, std, generator=generator)
    while True:
        outside = (result < lo) | (result > hi)
        if not outside.any():
            break
        redrawn = rtorch.empty_like(result).normal_(mean, std, generator=generator)
        result = rtorch.where(outside, redrawn, result)
    if result is not tensor:
        tensor.copy_(result)


def _truncated_by_rejection(
    tensor: Tensor, mean: float, std: float, a: float, b: float, generator: Any
) -> None:
    mode = max(a, min(mean, b))
    log_peak = -0.5 * ((mode - mean) / std) ** 2

    def log_ratio(x: Tensor) -> Tensor:
        """ln(pdf(x) / pdf(mode)), computed in place in ``x``."""
        return x.sub_(mean).div_(std).pow_(2).mul_(-0.5).sub_(log_peak)

    def rejected(x: Tensor) -> Tensor:
        return rtorch.empty_like(tensor).uniform_(generator=generator).log_().gt(log_ratio(x))

    tensor.uniform_(a, b, generator=generator)
    pending = rejected(tensor.clone())
    result = tensor
    while pending.any():
        candidates = rtorch.empty_like(tensor).uniform_(a, b, generator=generator)
        result = rtorch.where(pending, candidates, result)
        pending = rtorch.where(pending, rejected(candidates), pending)
    if result is not tensor:
        tensor.copy_(result)


def constant_(tensor: Tensor, val: float) -> Tensor:
    r"""Fills ``tensor`` with the value ``val``."""
    with rtorch.no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    r"""Fills ``tensor`` with ones."""
    with rtorch.no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor: Tensor) -> Tensor:
    r"""Fills ``tensor`` with zeros."""
    with rtorch.no_grad():
        return tensor.zero_()


def eye_(tensor: Tensor) -> Tensor:
    r"""Fills the 2-dimensional ``tensor`` with the identity matrix."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with rtorch.no_grad():
        return tensor.copy_(rtorch.eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype))


def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    r"""Fills the {3, 4, 5}-dimensional ``tensor`` with the Dirac delta function.

    Convolutional layers so initialised preserve the identity of their inputs (per group,
    for as many channels as possible).
    """
    dimensions = tensor.dim()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.shape
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    with rtorch.no_grad():
        tensor.zero_()
        centre = tuple(s // 2 for s in sizes[2:])
        for g in range(groups):
            for d in range(min_dim):
                tensor[(g * out_chans_per_grp + d, d, *centre)] = 1
    return tensor


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot uniform: :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \times \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot normal: :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \times \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}`."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """gain / sqrt(fan_mode): the standard deviation of both He initialisations."""
    fan = _calculate_correct_fan(tensor, mode)  # first: a bad mode is reported first
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    r"""He uniform: :math:`\mathcal{U}(-\text{bound}, \text{bound})` with
    :math:`\text{bound} = \text{gain} \times \sqrt{\frac{3}{\text{fan\_mode}}}`.

    Args:
        tensor: an n-dimensional tensor (n >= 2).
        a: the negative slope of the rectifier used after this layer (leaky_relu only).
        mode: ``'fan_in'`` (default) preserves the forward variance, ``'fan_out'`` the
            backward one.
        nonlinearity: the `nn.functional` name, recommended ``'relu'`` or ``'leaky_relu'``.
        generator: the random generator to sample from.
    """
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(
    tensor: Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: Any = None,
) -> Tensor:
    r"""He normal: :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}` (arguments as
    :func:`kaiming_uniform_`)."""
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity), generator)


def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    r"""Fills ``tensor`` with a (semi) orthogonal matrix (Saxe et al. 2013).

    The tensor needs at least 2 dimensions; trailing dimensions are flattened. The
    matrix is the Q factor of a standard normal matrix, with R's diagonal made positive,
    times ``gain``.
    """
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    flattened = tensor.new_empty((rows, cols)).normal_(0, 1, generator=generator)
    if rows < cols:
        flattened = flattened.t()
    q, r = rtorch.linalg.qr(flattened)
    # R's diagonal made positive (Mezzadri's condition for Q to be Haar-distributed).
    q = q * r.diagonal().sign()
    if rows < cols:
        q = q.t()
    with rtorch.no_grad():
        tensor.view_as(q).copy_(q)
        tensor.mul_(gain)
    return tensor


def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    r"""Fills the 2D ``tensor`` as a sparse matrix: :math:`\mathcal{N}(0, \text{std}^2)`
    values with a ``sparsity`` fraction of each column set to zero."""
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with rtorch.no_grad():
        tensor.normal_(0, std, generator=generator)
        # One permutation per column, from the default generator (as PyTorch draws them).
        for col in range(cols):
            tensor[rtorch.randperm(rows)[:num_zeros], col] = 0
    return tensor


def _deprecated_alias(meth: Callable[..., Tensor]) -> Callable[..., Tensor]:
    """The old non-underscore name of an init function: warns, then delegates."""
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(
            f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
            FutureWarning,
            stacklevel=2,
        )
        return meth(*args, **kwargs)

    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"Deprecated alias of :func:`{new_name}`."
    return deprecated_init


uniform = _deprecated_alias(uniform_)
normal = _deprecated_alias(normal_)
constant = _deprecated_alias(constant_)
eye = _deprecated_alias(eye_)
dirac = _deprecated_alias(dirac_)
xavier_uniform = _deprecated_alias(xavier_uniform_)
xavier_normal = _deprecated_alias(xavier_normal_)
kaiming_uniform = _deprecated_alias(kaiming_uniform_)
kaiming_normal = _deprecated_alias(kaiming_normal_)
orthogonal = _deprecated_alias(orthogonal_)
sparse = _deprecated_alias(sparse_)
