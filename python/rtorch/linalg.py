"""``rtorch.linalg``: norms (``norm``, ``vector_norm``, ``matrix_norm``) and matrix
products re-exported under their ``torch.linalg`` names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Union

from . import _C
from ._C import Tensor

__all__ = ["matmul", "matrix_norm", "norm", "vecdot", "vector_norm"]

Dim = Union[int, Sequence[int], None]
Ord = Union[int, float, str, None]


def vector_norm(
    x: Tensor,
    ord: float = 2,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """The ``ord``-norm of ``x`` over ``dim`` (all elements when ``dim`` is None)."""
    if isinstance(ord, str):
        raise RuntimeError(  # noqa: TRY004 - PyTorch raises RuntimeError here
            f"linalg.vector_norm: ord must be a number, got '{ord}'"
        )
    return _C._linalg_vector_norm(x, ord, dim, keepdim, dtype)


def matrix_norm(
    A: Tensor,
    ord: float | str = "fro",
    dim: Sequence[int] = (-2, -1),
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """Matrix norm of ``A`` over the two dims ``dim``: 'fro', 1, -1, inf, -inf."""
    return _C._linalg_matrix_norm(A, ord, list(dim), keepdim, dtype)


def norm(
    A: Tensor,
    ord: Ord = None,
    dim: Dim = None,
    keepdim: bool = False,
    *,
    dtype: object | None = None,
    out: Tensor | None = None,
) -> Tensor:
    """``torch.linalg.norm``: a vector norm or a matrix norm depending on ``ord`` and
    ``dim``, with PyTorch's rules."""
    if isinstance(dim, int):
        dim = (dim,)
    if dim is not None:
        dim = tuple(dim)
        if len(dim) == 2:
            return matrix_norm(A, "fro" if ord is None else ord, dim, keepdim, dtype=dtype)
        if len(dim) != 1:
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it must be of length 1 or 2. Got {list(dim)}"
            )
        if isinstance(ord, str):
            raise RuntimeError(
                f"linalg.norm: If dim is specified, it mut be of length 1 or 2. Got {list(dim)}"
            )
        return vector_norm(A, 2 if ord is None else ord, dim, keepdim, dtype=dtype)
    if ord is None:
        return vector_norm(A, 2, None, keepdim, dtype=dtype)
    if A.dim() == 2:
        return matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)
    if A.dim() == 1 and not isinstance(ord, str):
        return vector_norm(A, ord, None, keepdim, dtype=dtype)
    raise RuntimeError(
        "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. "
        f"Got {A.dim()}D."
    )


def matmul(input: Tensor, other: Tensor, *, out: Tensor | None = None) -> Tensor:
    """Alias of ``rtorch.matmul``."""
    return _C.matmul(input, other)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Tensor | None = None) -> Tensor:
    """Dot products of ``x`` and ``y`` along ``dim`` (broadcasting)."""
    return (x * y).sum(dim)
