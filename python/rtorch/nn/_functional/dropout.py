"""Dropout, as torch.nn.functional: element-wise, channel-wise (1d/2d/3d) and alpha dropout.

A mask is drawn with one ``bernoulli_`` over the kept probability and applied with one
multiplication (folding in the ``1/(1-p)`` scale); the channel-wise forms draw one value per
(sample, channel) and broadcast it over the spatial dimensions.
"""

from __future__ import annotations

import math
import warnings

from ... import _C
from ..._C import Tensor
from ..._dtype_info import SCALAR_NAMES as _SCALAR_NAMES

__all__ = [
    "alpha_dropout",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "feature_alpha_dropout",
]

# SELU's negative saturation value, -scale * alpha: where alpha dropout sends dropped units.
_SELU_SATURATION = 1.7580993408473766


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(input: Tensor, shape: list[int], keep: float) -> Tensor:
    return _C.empty(shape, dtype=input.dtype, device=input.device).bernoulli_(keep)


def _all_dropped(input: Tensor, inplace: bool) -> Tensor:
    """p = 1: a product with a zero of the input's dtype (integer inputs stay integer)."""
    zero = _C.zeros((), dtype=input.dtype, device=input.device)
    return input.mul_(zero) if inplace else input * zero


def _nothing_to_drop(input: Tensor, inplace: bool) -> Tensor | None:
    """PyTorch's result for an input without elements (of any dtype: its checks of the
    mask's float type never run), else None."""
    if input.numel() != 0:
        return None
    return input if inplace else input.clone()


def _apply(input: Tensor, mask_shape: list[int], p: float, inplace: bool) -> Tensor:
    if p == 1.0:
        return _all_dropped(input, inplace)
    empty = _nothing_to_drop(input, inplace)
    if empty is not None:
        return empty
    keep = 1.0 - p
    mask = _keep_mask(input, mask_shape, keep).div_(keep)
    return input.mul_(mask) if inplace else input * mask


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zeroes each element with probability ``p`` during training and scales the kept ones by
    :math:`\frac{1}{1-p}`; the identity when ``training`` is False.

    Args:
        input: any shape.
        p: probability of an element to be zeroed. Default: 0.5.
        training: apply dropout if ``True``. Default: ``True``.
        inplace: do the operation in place. Default: ``False``.
    """
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _apply(input, list(input.shape), p, inplace)


def _feature_dropout(
    input: Tensor, p: float, training: bool, inplace: bool, spatial: int, name: str
) -> Tensor:
    _check_p(p)
    ndim = input.dim()
    if ndim not in (spatial + 1, spatial + 2):
        raise RuntimeError(
            f"{name}: Expected {spatial + 1}D or {spatial + 2}D input, but received a {ndim}D "
            f"input. Note that {name} exists to provide channel-wise dropout on inputs with "
            f"{spatial} spatial dimension{'s' if spatial > 1 else ''}, a channel dimension, and "
            f"an optional batch dimension (i.e. {spatial + 1}D or {spatial + 2}D inputs)."
        )
    if not training or p == 0.0:
        return input
    # Unbatched (C, *) inputs get one mask value per channel, batched ones per (N, C).
    lead = 1 if ndim == spatial + 1 else 2
    mask_shape = list(input.shape[:lead]) + [1] * (ndim - lead)
    return _apply(input, mask_shape, p, inplace)


def dropout1d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    r"""Zeroes whole channels of a ``(N, C, L)`` or ``(C, L)`` input with probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    r"""Zeroes whole channels of a ``(N, C, H, W)`` or ``(C, H, W)`` input with probability
    ``p``."""
    _check_p(p)
    ndim = input.dim()
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2,
        )
    if not training or p == 0.0:
        return input
    if ndim < 2:
        empty = _nothing_to_drop(input, inplace)
        if empty is not None:
            return empty
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    # PyTorch treats every non-4D input as batched here (the 3-D case is ambiguous).
    mask_shape = list(input.shape[:2]) + [1] * (ndim - 2)
    return _apply(input, mask_shape, p, inplace)


def dropout3d(
    input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False
) -> Tensor:
    r"""Zeroes whole channels of a ``(N, C, D, H, W)`` or ``(C, D, H, W)`` input with
    probability ``p``."""
    return _feature_dropout(input, p, training, inplace, 3, "dropout3d")


def _alpha(input: Tensor, mask_shape: list[int], p: float, inplace: bool) -> Tensor:
    if p == 1.0:
        return _all_dropped(input, inplace)
    empty = _nothing_to_drop(input, inplace)
    if empty is not None:
        return empty
    if not input.is_floating_point():
        name = _SCALAR_NAMES.get(input.dtype, str(input.dtype))
        raise RuntimeError(f"result type Float can't be cast to the desired output type {name}")
    keep = 1.0 - p
    mask = _keep_mask(input, mask_shape, keep)
    # Keeps zero mean and unit variance for SELU activations: dropped units go to the
    # saturation value, then an affine map a*x + b restores the statistics.
    # The same operations as PyTorch's, in the same order (same values to the last bit).
    a = 1.0 / math.sqrt((_SELU_SATURATION * _SELU_SATURATION * p + 1.0) * keep)
    shift = (mask - 1.0) * (_SELU_SATURATION * a) + _SELU_SATURATION * a * p
    scale = mask * a
    if inplace:
        return input.mul_(scale).add_(shift)
    return input * scale + shift


def alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    r"""Alpha dropout: dropout that keeps the self-normalising property of SELU networks."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    return _alpha(input, list(input.shape), p, inplace)


def feature_alpha_dropout(
    input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False
) -> Tensor:
    r"""Alpha dropout of whole channels (``(N, C, *)`` inputs)."""
    _check_p(p)
    if not training or p == 0.0:
        return input
    mask_shape = list(input.shape[:2]) + [1] * (input.dim() - 2)
    return _alpha(input, mask_shape, p, inplace)
