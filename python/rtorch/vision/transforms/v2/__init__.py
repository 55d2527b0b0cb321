"""rtorch.vision.transforms.v2: the common subset of ``torchvision.transforms.v2``.

The classes are the v1 transforms (identical behaviour for images) plus v2's ``ToImage``,
``ToDtype`` and ``ToPureTensor``, so the recommended v2 pipeline runs unchanged::

    v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize(m, s)])

Differences from torchvision's v2: transforms take one image (PIL or tensor), not
arbitrary structures of images, boxes, masks and labels; there are no ``tv_tensors``.
"""

from __future__ import annotations

from typing import Any

import rtorch
from rtorch import Tensor

from .. import transforms as _v1
from ..transforms import (
    CenterCrop,
    ColorJitter,
    Compose,
    ConvertImageDtype,
    GaussianBlur,
    Grayscale,
    InterpolationMode,
    Lambda,
    Normalize,
    Pad,
    PILToTensor,
    RandomAffine,
    RandomApply,
    RandomChoice,
    RandomCrop,
    RandomErasing,
    RandomGrayscale,
    RandomHorizontalFlip,
    RandomOrder,
    RandomResizedCrop,
    RandomRotation,
    RandomVerticalFlip,
    Resize,
    ToPILImage,
)
from . import functional

__all__ = [
    "CenterCrop",
    "ColorJitter",
    "Compose",
    "ConvertImageDtype",
    "GaussianBlur",
    "Grayscale",
    "InterpolationMode",
    "Lambda",
    "Normalize",
    "PILToTensor",
    "Pad",
    "RandomAffine",
    "RandomApply",
    "RandomChoice",
    "RandomCrop",
    "RandomErasing",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomOrder",
    "RandomResizedCrop",
    "RandomRotation",
    "RandomVerticalFlip",
    "Resize",
    "ToDtype",
    "ToImage",
    "ToPILImage",
    "ToPureTensor",
    "functional",
]


class ToImage(_v1._ModuleTransform):
    """PIL image / numpy array / tensor -> (C, H, W) tensor of the same dtype, unscaled."""

    def forward(self, inpt: Any) -> Tensor:
        return functional.to_image(inpt)


class ToDtype(_v1._ModuleTransform):
    """Convert to ``dtype``; ``scale=True`` maps value ranges (uint8 0..255 -> 0..1)."""

    def __init__(self, dtype: rtorch.dtype, scale: bool = False) -> None:
        super().__init__()
        if not isinstance(dtype, rtorch.dtype):
            msg = f"dtype must be a dict or a torch.dtype, got {type(dtype)} instead"
            raise ValueError(msg)  # noqa: TRY004 (torchvision's class)
        self.dtype = dtype
        self.scale = scale

    def forward(self, inpt: Any) -> Any:
        if not isinstance(inpt, Tensor):
            return inpt  # v2 passes non-tensors through
        return functional.to_dtype(inpt, self.dtype, self.scale)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(dtype={self.dtype}, scale={self.scale})"


class ToPureTensor(_v1._ModuleTransform):
    """Identity here: rtorch has no tensor subclasses for images."""

    def forward(self, inpt: Any) -> Any:
        return inpt
