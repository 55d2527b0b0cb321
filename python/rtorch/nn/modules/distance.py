"""Distance layers, as torch.nn.modules.distance."""

from __future__ import annotations

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = ["CosineSimilarity", "PairwiseDistance"]


class PairwiseDistance(Module):
    r"""Computes the pairwise distance between input vectors, or between columns of input
    matrices: :math:`\|x_1 - x_2 + \epsilon\|_p` over the last dimension.

    Args:
        p: the norm degree. Default: 2
        eps: small value to avoid division by zero. Default: 1e-6
        keepdim: keep the vector dimension. Default: ``False``

    Shape:
        - Input1: :math:`(N, D)` or :math:`(D)`; Input2: the same (or broadcastable).
        - Output: :math:`(N)` or :math:`()` (with ``keepdim``, :math:`(N, 1)`).

    Examples::

        >>> pdist = nn.PairwiseDistance(p=2)
        >>> pdist(torch.randn(100, 128), torch.randn(100, 128)).shape
        torch.Size([100])
    """

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    r"""Returns cosine similarity between :math:`x_1` and :math:`x_2`, computed along ``dim``:
    :math:`\frac{x_1 \cdot x_2}{\max(\|x_1\|_2, \epsilon) \cdot \max(\|x_2\|_2, \epsilon)}`.

    Args:
        dim: dimension where cosine similarity is computed. Default: 1
        eps: small value to avoid division by zero. Default: 1e-8

    Shape:
        - Input1: :math:`(\ast_1, D, \ast_2)`; Input2: broadcastable to it.
        - Output: :math:`(\ast_1, \ast_2)`.

    Examples::

        >>> cos = nn.CosineSimilarity(dim=1, eps=1e-6)
        >>> cos(torch.randn(100, 128), torch.randn(100, 128)).shape
        torch.Size([100])
    """

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
