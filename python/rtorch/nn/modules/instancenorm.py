"""Instance normalization, as torch.nn.modules.instancenorm: InstanceNorm1d and 2d."""

from __future__ import annotations

import warnings
from typing import Any

from ..._C import Tensor
from .. import functional as F
from .batchnorm import _LazyNormBase, _NormBase

__all__ = [
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LazyInstanceNorm1d",
    "LazyInstanceNorm2d",
    "LazyInstanceNorm3d",
]


class _InstanceNorm(_NormBase):
    _spatial: int = 1

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device=None,
        dtype=None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__(
            num_features, eps, momentum, affine, track_running_stats, device, dtype, bias=bias
        )

    def _check_input_dim(self, input: Tensor) -> None:
        expected = (self._spatial + 1, self._spatial + 2)
        if input.dim() not in expected:
            raise ValueError(
                f"expected {expected[0]}D or {expected[1]}D input (got {input.dim()}D input)"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        no_batch_dim = self._spatial + 1
        feature_dim = input.dim() - no_batch_dim
        if input.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), but got: {input.shape[feature_dim]}."
                )
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used "
                "because affine=False",
                stacklevel=2,
            )
        unbatched = input.dim() == no_batch_dim
        x = input.unsqueeze(0) if unbatched else input
        out = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            self.momentum if self.momentum is not None else 0.0,
            self.eps,
        )
        return out.squeeze(0) if unbatched else out


class InstanceNorm1d(_InstanceNorm):
    r"""Applies Instance Normalization over a 2D (unbatched) or 3D (batched) input.

    .. math:: y = \frac{x - \mathrm{E}[x]}{\sqrt{\mathrm{Var}[x] + \epsilon}} * \gamma + \beta

    Statistics are per sample and per channel, over the length dimension.

    Args:
        num_features: number of features or channels :math:`C` of the input
        eps: a value added to the denominator for numerical stability. Default: 1e-5
        momentum: the value used for the running_mean and running_var computation.
            Default: 0.1
        affine: learnable affine parameters, initialized like batch normalization.
            Default: ``False``
        track_running_stats: track running estimates and use them in evaluation.
            Default: ``False``

    Shape:
        - Input: :math:`(N, C, L)` or :math:`(C, L)`; output: the same shape.

    Examples::

        >>> m = nn.InstanceNorm1d(100, affine=True)
        >>> m(torch.randn(20, 100, 40)).shape
        torch.Size([20, 100, 40])
    """

    _spatial = 1


class InstanceNorm2d(_InstanceNorm):
    r"""Applies Instance Normalization over a 3D (unbatched) or 4D (batched) input.

    Statistics are per sample and per channel, over the two spatial dimensions.

    Args:
        num_features: :math:`C` from an expected input of size :math:`(N, C, H, W)`
        eps: a value added to the denominator for numerical stability. Default: 1e-5
        momentum: the value used for the running_mean and running_var computation.
            Default: 0.1
        affine: learnable affine parameters. Default: ``False``
        track_running_stats: track running estimates. Default: ``False``

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`; output: the same shape.

    Examples::

        >>> m = nn.InstanceNorm2d(100)
        >>> m(torch.randn(20, 100, 35, 45)).shape
        torch.Size([20, 100, 35, 45])
    """

    _spatial = 2


class InstanceNorm3d(_InstanceNorm):
    r"""Applies Instance Normalization over a 4D (unbatched) or 5D (batched) input.

    Shape:
        - Input: :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)`; output: the same shape.
    """

    _spatial = 3


class _LazyInstanceNorm(_LazyNormBase, _InstanceNorm):
    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        # The features are dim 0 of an unbatched input, dim 1 of a batched one.
        if self.has_uninitialized_params():
            feature_dim = input.dim() - (self._spatial + 1)
            self.num_features = input.shape[feature_dim]
            if self.affine:
                self.weight.materialize((self.num_features,))
                self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


class LazyInstanceNorm1d(_LazyInstanceNorm):
    r"""An :class:`InstanceNorm1d` whose ``num_features`` is inferred from the input on
    the first call, after which it becomes an :class:`InstanceNorm1d`. Note PyTorch's
    defaults here: ``affine=True``, ``track_running_stats=True``."""

    cls_to_become = InstanceNorm1d
    _spatial = 1


class LazyInstanceNorm2d(_LazyInstanceNorm):
    r"""An :class:`InstanceNorm2d` whose ``num_features`` is inferred from the input on
    the first call, after which it becomes an :class:`InstanceNorm2d`. Note PyTorch's
    defaults here: ``affine=True``, ``track_running_stats=True``."""

    cls_to_become = InstanceNorm2d
    _spatial = 2


class LazyInstanceNorm3d(_LazyInstanceNorm):
    r"""An :class:`InstanceNorm3d` whose ``num_features`` is inferred from the input on
    the first call, after which it becomes an :class:`InstanceNorm3d`. Note PyTorch's
    defaults here: ``affine=True``, ``track_running_stats=True``."""

    cls_to_become = InstanceNorm3d
    _spatial = 3
