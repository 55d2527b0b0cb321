"""Image grids and saving, as ``torchvision.utils``."""

from __future__ import annotations

import math
from typing import Any, BinaryIO

import rtorch
from rtorch import Tensor

__all__ = ["make_grid", "save_image"]


def _normalize_range(t: Tensor, low: float, high: float) -> None:
    t.clamp_(min=low, max=high)
    t.sub_(low).div_(max(high - low, 1e-5))


def make_grid(
    tensor: Tensor | list[Tensor],
    nrow: int = 8,
    padding: int = 2,
    normalize: bool = False,
    value_range: tuple[float, float] | None = None,
    scale_each: bool = False,
    pad_value: float = 0.0,
) -> Tensor:
    """Tile a batch of images (B, C, H, W) (or a list of (C, H, W)) into one image.

    Images go row by row, ``nrow`` per row, each with ``padding`` pixels of ``pad_value``
    above and to its left, plus one band at the bottom and right. One-channel images are
    repeated to three channels. ``normalize`` rescales to [0, 1] using ``value_range``
    (default: the min and max of the batch, or of each image with ``scale_each``).
    """
    if not isinstance(tensor, Tensor):
        if isinstance(tensor, list):
            for t in tensor:
                if not isinstance(t, Tensor):
                    raise TypeError(
                        f"tensor or list of tensors expected, got a list containing {type(t)}"
                    )
        else:
            raise TypeError(f"tensor or list of tensors expected, got {type(tensor)}")
    if isinstance(tensor, list):
        tensor = rtorch.stack(tensor, dim=0)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 3:
        if tensor.size(0) == 1:
            tensor = rtorch.cat((tensor, tensor, tensor), 0)
        tensor = tensor.unsqueeze(0)
    if tensor.dim() == 4 and tensor.size(1) == 1:
        tensor = rtorch.cat((tensor, tensor, tensor), 1)
    if normalize:
        tensor = tensor.clone()
        if value_range is not None and not isinstance(value_range, tuple):
            raise TypeError(
                "value_range has to be a tuple (min, max) if specified. min and max are numbers"
            )
        images = list(tensor) if scale_each else [tensor]
        for t in images:
            if value_range is not None:
                _normalize_range(t, value_range[0], value_range[1])
            else:
                _normalize_range(t, float(t.min()), float(t.max()))
    if tensor.size(0) == 1:
        return tensor.squeeze(0)

    count, channels = tensor.size(0), tensor.size(1)
    xmaps = min(nrow, count)
    ymaps = math.ceil(count / xmaps)
    height, width = tensor.size(2) + padding, tensor.size(3) + padding
    # Every cell is (C, height, width) with its padding at the top and left; the cells are
    # laid out with one permute instead of a copy per image.
    cells = tensor.new_full((ymaps * xmaps, channels, height, width), pad_value)
    cells[:count, :, padding:, padding:] = tensor
    rows = cells.view(ymaps, xmaps, channels, height, width).permute(2, 0, 3, 1, 4)
    grid = tensor.new_full((channels, height * ymaps + padding, width * xmaps + padding), pad_value)
    grid[:, : height * ymaps, : width * xmaps] = rows.reshape(
        channels, ymaps * height, xmaps * width
    )
    return grid


def save_image(
    tensor: Tensor | list[Tensor],
    fp: str | BinaryIO,
    format: str | None = None,
    **kwargs: Any,
) -> None:
    """Save a tensor (or a batch, tiled with :func:`make_grid` and ``kwargs``) as an image.

    Values in [0, 1] are scaled to 0..255 with rounding; ``format`` overrides the file
    extension (needed for file objects).
    """
    from PIL import Image

    grid = make_grid(tensor, **kwargs)
    pixels = grid.mul(255).add_(0.5).clamp_(0, 255).permute(1, 2, 0).to(rtorch.uint8)
    array = pixels.contiguous().numpy()
    if array.shape[2] == 1:
        array = array[:, :, 0]
    Image.fromarray(array).save(fp, format=format)
