"""rtorch.vision.transforms.v2.functional: v1's functional API plus v2's conversions."""

from __future__ import annotations

from typing import Any

import numpy as np

import rtorch
from rtorch import Tensor

from ..functional import *
from ..functional import __all__ as _v1_all
from ..functional import _is_pil_image, _max_value, convert_image_dtype, pil_to_tensor

__all__ = [*_v1_all, "to_dtype", "to_image"]  # noqa: PLE0604


def to_image(inpt: Any) -> Tensor:
    """A PIL image, numpy array (H, W[, C]) or tensor as a (C, H, W) tensor, values unscaled.

    rtorch has no ``tv_tensors``: the result is a plain tensor.
    """
    if isinstance(inpt, np.ndarray):
        return rtorch.from_numpy(np.ascontiguousarray(np.atleast_3d(inpt).transpose(2, 0, 1)))
    if _is_pil_image(inpt):
        return pil_to_tensor(inpt)
    if isinstance(inpt, Tensor):
        return inpt
    raise TypeError(
        "Input can either be a pure Tensor, a numpy array, or a PIL image, but got "
        f"{type(inpt)} instead."
    )


def to_dtype(inpt: Tensor, dtype: rtorch.dtype = rtorch.float32, scale: bool = False) -> Tensor:
    """Convert to ``dtype``; with ``scale``, map value ranges as v2 does.

    Integer to float multiplies by ``1 / max`` (v2's rounding, which can differ in the last
    bit from v1's ``ToTensor``/``ConvertImageDtype`` division).
    """
    if inpt.dtype == dtype:
        return inpt
    if not scale:
        return inpt.to(dtype)
    if not inpt.is_floating_point() and dtype.is_floating_point:
        return inpt.to(dtype).mul_(1.0 / _max_value(inpt.dtype))
    return convert_image_dtype(inpt, dtype)
