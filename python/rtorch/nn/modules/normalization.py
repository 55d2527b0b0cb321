"""Normalization layers, as torch.nn.modules.normalization: LayerNorm, GroupNorm,
LocalResponseNorm."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rtorch

from ..._C import Tensor
from .. import functional as F
from ..parameter import Parameter
from . import _factory
from .module import Module

__all__ = ["CrossMapLRN2d", "GroupNorm", "LayerNorm", "LocalResponseNorm", "RMSNorm"]


class LayerNorm(Module):
    r"""Applies Layer Normalization over a mini-batch of inputs.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    Mean and (biased) variance are taken over the last ``len(normalized_shape)`` dimensions.

    Args:
        normalized_shape: input shape from an expected input of size
            :math:`[* \times \text{normalized\_shape}[0] \times \ldots]`; an int is a 1-tuple.
        eps: a value added to the denominator for numerical stability. Default: 1e-5
        elementwise_affine: learnable per-element affine parameters (weight ones, bias zeros).
            Default: ``True``
        bias: if ``False``, no additive bias (only with ``elementwise_affine``).
            Default: ``True``

    Shape:
        - Input: :math:`(N, *)`; output: the same shape.

    Examples::

        >>> layer_norm = nn.LayerNorm(10)
        >>> layer_norm(torch.randn(20, 5, 10)).shape
        torch.Size([20, 5, 10])
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_factory.empty(self.normalized_shape, device, dtype))
            if bias:
                self.bias = Parameter(_factory.empty(self.normalized_shape, device, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            with rtorch.no_grad():
                self.weight.fill_(1.0)
                if self.bias is not None:
                    self.bias.zero_()

    def forward(self, input: Tensor) -> Tensor:
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    r"""Applies Group Normalization over a mini-batch of inputs.

    The channels are split into ``num_groups`` groups; mean and (biased) variance are taken
    per sample over each group.

    Args:
        num_groups: number of groups to separate the channels into
        num_channels: number of channels expected in input
        eps: a value added to the denominator for numerical stability. Default: 1e-5
        affine: learnable per-channel affine parameters (weight ones, bias zeros).
            Default: ``True``
        bias: if ``False``, no additive bias. Default: ``True``

    Shape:
        - Input: :math:`(N, C, *)` with :math:`C = \text{num\_channels}`; output: the same.

    Examples::

        >>> m = nn.GroupNorm(3, 6)
        >>> m(torch.randn(20, 6, 10, 10)).shape
        torch.Size([20, 6, 10, 10])
    """

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        if num_channels % num_groups != 0:
            raise ValueError("num_channels must be divisible by num_groups")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(_factory.empty((num_channels,), device, dtype))
            if bias:
                self.bias = Parameter(_factory.empty((num_channels,), device, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            with rtorch.no_grad():
                self.weight.fill_(1.0)
                if self.bias is not None:
                    self.bias.zero_()

    def forward(self, input: Tensor) -> Tensor:
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )


class LocalResponseNorm(Module):
    r"""Applies local response normalization across channels:

    .. math:: b_{c} = a_{c}\left(k + \frac{\alpha}{n}
        \sum_{c'=\max(0, c-n/2)}^{\min(N-1,c+n/2)}a_{c'}^2\right)^{-\beta}

    Args:
        size: amount of neighbouring channels used for normalization
        alpha: multiplicative factor. Default: 0.0001
        beta: exponent. Default: 0.75
        k: additive factor. Default: 1

    Shape:
        - Input: :math:`(N, C, *)`; output: the same shape.

    Examples::

        >>> lrn = nn.LocalResponseNorm(2)
        >>> lrn(torch.randn(32, 5, 24, 24)).shape
        torch.Size([32, 5, 24, 24])
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class CrossMapLRN2d(Module):
    r"""Local response normalization across the channels of a 4-D input, the legacy
    (Lua Torch) variant: :math:`b_c = a_c \left(k + \frac{\alpha}{n} S_c\right)^{-\beta}`.

    As PyTorch computes it, :math:`S_c` sums :math:`a_{c'}^2` over
    :math:`c' \in [c - p + 1, c + p - 1]` (clipped to the channels) with
    :math:`p = \lfloor (n - 1)/2 \rfloor + 1`, plus :math:`a_0^2` for every
    :math:`c \ge p` (PyTorch's running window never drops channel 0); so it differs
    from :class:`LocalResponseNorm`. Gradients are autograd's of this forward (PyTorch's
    hand-written backward is not the exact gradient of its forward).

    Args:
        size: amount of neighbouring channels used for normalization
        alpha: multiplicative factor. Default: 0.0001
        beta: exponent. Default: 0.75
        k: additive factor. Default: 1

    Shape:
        - Input: :math:`(N, C, H, W)`; output: the same shape.
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1) -> None:
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input: Tensor) -> Tensor:
        if input.dim() != 4:
            raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
        channels = input.shape[1]
        reach = int((self.size - 1) / 2 + 1)
        sq = input * input
        padded = F.pad(sq, [0, 0, 0, 0, reach - 1, reach - 1])
        total = padded.narrow(1, 0, channels)
        for j in range(1, 2 * reach - 1):
            total = total + padded.narrow(1, j, channels)
        late = (rtorch.arange(channels) >= reach).to(input.dtype).view(1, channels, 1, 1)
        total = total + sq.narrow(1, 0, 1) * late
        return input * (total * (self.alpha / self.size) + self.k).pow(-self.beta)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    r"""Applies Root Mean Square Layer Normalization over a mini-batch of inputs.

    .. math:: y_i = \frac{x_i}{\mathrm{RMS}(x)} * \gamma_i, \quad
        \mathrm{RMS}(x) = \sqrt{\epsilon + \frac{1}{n} \sum_{i=1}^{n} x_i^2}

    The RMS is taken over the last ``len(normalized_shape)`` dimensions.

    Args:
        normalized_shape: input shape from an expected input of size
            :math:`[* \times \text{normalized\_shape}[0] \times \ldots]`.
        eps: a value added to the denominator for numerical stability. Default:
            ``torch.finfo(x.dtype).eps``
        elementwise_affine: a learnable per-element scale, initialized to ones.
            Default: ``True``

    Shape:
        - Input: :math:`(N, *)`; output: the same shape.

    Examples::

        >>> rms_norm = nn.RMSNorm([2, 3])
        >>> rms_norm(torch.randn(2, 2, 3)).shape
        torch.Size([2, 2, 3])
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float | None = None,
        elementwise_affine: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(_factory.empty(self.normalized_shape, device, dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            with rtorch.no_grad():
                self.weight.fill_(1.0)

    def forward(self, x: Tensor) -> Tensor:
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
