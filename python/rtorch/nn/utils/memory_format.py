"""Converting convolution weights to a memory format (``torch.nn.utils.memory_format``)."""

from __future__ import annotations

from typing import Any, TypeVar

import rtorch

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

_M = TypeVar("_M")


def _convert(module: Any, memory_format: Any, kinds: tuple) -> Any:
    if isinstance(module, kinds):
        with rtorch.no_grad():
            weight = module.weight.detach().clone().contiguous(memory_format=memory_format)
            module.weight.data = weight  # rebinding .data keeps the Parameter object
    for child in module.children():
        _convert(child, memory_format, kinds)
    return module


def convert_conv2d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Lays out the weights of every ``Conv2d``/``ConvTranspose2d`` in ``module`` in
    ``memory_format`` (values unchanged); returns ``module``."""
    from ..modules.conv import Conv2d, ConvTranspose2d

    return _convert(module, memory_format, (Conv2d, ConvTranspose2d))


def convert_conv3d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    """Lays out the weights of every ``Conv3d``/``ConvTranspose3d`` in ``module`` in
    ``memory_format`` (values unchanged); returns ``module``."""
    from ..modules.conv import Conv3d, ConvTranspose3d

    return _convert(module, memory_format, (Conv3d, ConvTranspose3d))
