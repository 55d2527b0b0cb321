"""Dropout layers, as torch.nn.modules.dropout."""

from __future__ import annotations

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "AlphaDropout",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Dropout3d",
    "FeatureAlphaDropout",
]


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if p < 0 or p > 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p = p
        self.inplace = inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    r"""During training, randomly zeroes elements of the input with probability ``p`` (from
    a Bernoulli distribution) and scales the outputs by :math:`\frac{1}{1-p}`; in evaluation
    it computes the identity.

    Args:
        p: probability of an element to be zeroed. Default: 0.5
        inplace: do the operation in place. Default: ``False``

    Shape:
        - Input: :math:`(*)`; output: the same shape.

    Examples::

        >>> m = nn.Dropout(p=0.2)
        >>> m(torch.randn(20, 16)).shape
        torch.Size([20, 16])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    r"""Randomly zeroes entire channels of a :math:`(N, C, L)` or :math:`(C, L)` input.

    Args:
        p: probability of a channel to be zeroed. Default: 0.5
        inplace: do the operation in place. Default: ``False``

    Shape:
        - Input: :math:`(N, C, L)` or :math:`(C, L)`; output: the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout1d(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    r"""Randomly zeroes entire channels of a :math:`(N, C, H, W)` or :math:`(C, H, W)` input.

    Args:
        p: probability of a channel to be zeroed. Default: 0.5
        inplace: do the operation in place. Default: ``False``

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(N, C, L)`; output: the same shape.

    Examples::

        >>> m = nn.Dropout2d(p=0.2)
        >>> m(torch.randn(20, 16, 32, 32)).shape
        torch.Size([20, 16, 32, 32])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout2d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    r"""Randomly zeroes entire channels of a :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)`
    input.

    Shape:
        - Input: :math:`(N, C, D, H, W)` or :math:`(C, D, H, W)`; output: the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    r"""Alpha Dropout: keeps the mean and variance of SELU activations during training.

    Args:
        p: probability of an element to be dropped. Default: 0.5
        inplace: do the operation in place. Default: ``False``

    Shape:
        - Input: :math:`(*)`; output: the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.alpha_dropout(input, self.p, self.training)


class FeatureAlphaDropout(_DropoutNd):
    r"""Alpha Dropout of entire channels.

    Shape:
        - Input: :math:`(N, C, *)`; output: the same shape.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.feature_alpha_dropout(input, self.p, self.training)
