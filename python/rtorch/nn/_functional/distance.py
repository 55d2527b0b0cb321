"""Distances, as torch.nn.functional: ``cosine_similarity``, ``pairwise_distance``, ``pdist``."""

from __future__ import annotations

from functools import lru_cache

from ... import _C
from ..._C import Tensor

__all__ = ["cosine_similarity", "pairwise_distance", "pdist"]


def _broadcast_shape(sa: tuple, sb: tuple) -> list[int]:
    n = max(len(sa), len(sb))
    pa = [1] * (n - len(sa)) + list(sa)
    pb = [1] * (n - len(sb)) + list(sb)
    out = []
    for d, (x, y) in enumerate(zip(pa, pb, strict=True)):
        if x != y and x != 1 and y != 1:
            raise RuntimeError(
                f"The size of tensor a ({x}) must match the size of tensor b ({y}) at "
                f"non-singleton dimension {d}"
            )
        out.append(y if x == 1 else x)
    return out


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    r"""Cosine similarity along ``dim``: :math:`\sum \frac{x_1}{\max(\|x_1\|, \epsilon)}
    \cdot \frac{x_2}{\max(\|x_2\|, \epsilon)}`.

    The inputs broadcast against each other. Like PyTorch, each input is divided by its
    own (clamped) norm first, which keeps the result within [-1, 1]; the clamp itself is not
    differentiated.
    """
    a, b = x1, x2
    if a.shape != b.shape:
        shape = _broadcast_shape(a.shape, b.shape)
        a, b = a.expand(shape), b.expand(shape)
    n1 = a.norm(2, dim, keepdim=True)
    n2 = b.norm(2, dim, keepdim=True)
    # PyTorch clamps the norms in place under no_grad: the value is clamped, the gradient
    # is that of the unclamped norm.
    n1 = n1 + (n1.clamp_min(eps) - n1).detach()
    n2 = n2 + (n2.clamp_min(eps) - n2).detach()
    return ((a / n1) * (b / n2)).sum(dim)


def pairwise_distance(
    x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    r"""The p-norm of ``x1 - x2 + eps`` over the last dimension (inputs broadcast)."""
    out_dim = max(x1.dim(), x2.dim())
    diff = x1 - x2 + eps
    if out_dim == 0:
        return diff.abs()
    return diff.norm(p, out_dim - 1, keepdim=keepdim)


@lru_cache(maxsize=64)
def _upper_pairs(n: int) -> tuple[Tensor, Tensor]:
    i = _C.arange(n).view(n, 1).expand(n, n)
    j = _C.arange(n).view(1, n).expand(n, n)
    upper = j > i
    return i.masked_select(upper), j.masked_select(upper)


def pdist(input: Tensor, p: float = 2) -> Tensor:
    r"""The p-norm distance between every pair of rows of ``input`` ``(N, M)``: a vector of
    ``N * (N - 1) / 2`` entries, in row-major order of the upper triangle."""
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    rows, cols = _upper_pairs(input.shape[0])
    return (input.index_select(0, rows) - input.index_select(0, cols)).norm(p, 1)
