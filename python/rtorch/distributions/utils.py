"""Helpers shared by the distributions (``torch.distributions.utils``)."""

from __future__ import annotations

from numbers import Number
from typing import Any

from .. import _C
from .._C import Tensor
from .._composite_ops import broadcast_tensors as _broadcast_tensors

__all__ = [
    "broadcast_all",
    "clamp_probs",
    "lazy_property",
    "logits_to_probs",
    "probs_to_logits",
    "tril_matrix_to_vec",
    "vec_to_tril_matrix",
]

# The Euler-Mascheroni constant (gamma = -digamma(1)).
euler_constant = 0.57721566490153286060


def broadcast_all(*values: Any) -> tuple[Tensor, ...]:
    """Broadcasts tensors and numbers together; numbers become tensors of the dtype of
    the first tensor (or the default dtype)."""
    if not all(isinstance(v, (Tensor, Number)) for v in values):
        raise ValueError(
            "Input arguments must all be instances of numbers.Number, torch.Tensor or objects implementing __torch_function__."
        )
    if not all(isinstance(v, Tensor) for v in values):
        # Numbers take the dtype and device of the first tensor (default dtype, CPU without).
        first = next((v for v in values if isinstance(v, Tensor)), None)
        options: dict[str, Any] = {"dtype": _C.get_default_dtype()}
        if first is not None:
            options = {"dtype": first.dtype, "device": first.device}
        values = tuple(v if isinstance(v, Tensor) else _C.tensor(v, **options) for v in values)
    return tuple(_broadcast_tensors(*values)) if len(values) > 1 else tuple(values)


def _sum_rightmost(value: Tensor, dim: int) -> Tensor:
    if dim == 0:
        return value
    return value.reshape(*value.shape[: value.dim() - dim], -1).sum(-1)


def clamp_probs(probs: Tensor) -> Tensor:
    """Probabilities clamped into [eps, 1 - eps] (eps of their dtype)."""
    from .._dtype_info import finfo

    eps = finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)


def logits_to_probs(logits: Tensor, is_binary: bool = False) -> Tensor:
    """Softmax of the logits (sigmoid for a binary variable)."""
    if is_binary:
        return logits.sigmoid()
    return _C.softmax(logits, -1)


def probs_to_logits(probs: Tensor, is_binary: bool = False) -> Tensor:
    """Log-probabilities (log-odds for a binary variable) of clamped probabilities."""
    ps = clamp_probs(probs)
    if is_binary:
        return ps.log() - (-ps).log1p()
    return ps.log()


class lazy_property:
    """A property computed on first access and then cached in the instance ``__dict__``."""

    def __init__(self, wrapped: Any) -> None:
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance: Any, obj_type: Any = None) -> Any:
        if instance is None:
            return self
        from ..autograd import enable_grad

        with enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def _standard_normal(shape: Any, dtype: Any, device: Any) -> Tensor:
    """Standard normal draws of the given shape, dtype and device (no gradient)."""
    return _C.empty(tuple(shape), dtype=dtype, device=device).normal_()


def _tril_flat_index(n: int, diag: int) -> Tensor:
    """Positions, in a row-major flattened ``n x n`` matrix, of the entries on or below
    diagonal ``diag`` (row by row, the order in which a boolean mask walks them)."""
    flat = [i * n + j for i in range(n) for j in range(n) if j <= i + diag]
    return _C.tensor(flat, dtype=_C.int64)


def vec_to_tril_matrix(vec: Tensor, diag: int = 0) -> Tensor:
    """The ``n x n`` matrices (batched over ``vec``'s leading dims) whose entries on or below
    diagonal ``diag`` are the last dimension of ``vec``, row by row, and zero elsewhere;
    differentiable in ``vec``.

    Raises ValueError when the length of the last dimension is no such count.
    """
    m = vec.shape[-1]
    # The count of entries on or below diagonal d of an n x n matrix is quadratic in n;
    # c(n) = m has the positive root n = (-(2d + 1) + sqrt((2d + 1)^2 + 8m + 4|d|(d + 1))) / 2
    # for either sign of d.
    b = 1 + 2 * diag
    disc = b * b + 8 * m + 4 * abs(diag) * (diag + 1)
    n = round((-b + max(disc, 0) ** 0.5) / 2)
    index = _tril_flat_index(max(n, 0), diag)
    if n < 0 or index.numel() != m:
        raise ValueError(
            f"The size of last dimension is {m} which cannot be expressed as "
            "the lower triangular part of a square D x D matrix."
        )
    batch = tuple(vec.shape)[:-1]
    flat = vec.new_zeros(batch + (n * n,))
    flat = flat.index_copy(-1, index.to(vec.device), vec)
    return flat.reshape(*batch, n, n)


def tril_matrix_to_vec(mat: Tensor, diag: int = 0) -> Tensor:
    """The entries of the (batched) square ``mat`` on or below diagonal ``diag``, row by row,
    as the last dimension: the inverse of :func:`vec_to_tril_matrix`."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    flat = mat.reshape(*tuple(mat.shape)[:-2], n * n)
    return flat.index_select(-1, _tril_flat_index(n, diag).to(mat.device))
