"""Sub-pixel rearrangements, as torch.nn.modules.pixelshuffle."""

from __future__ import annotations

from ..._C import Tensor
from .. import functional as F
from .channelshuffle import ChannelShuffle
from .module import Module

__all__ = ["ChannelShuffle", "PixelShuffle", "PixelUnshuffle"]


class PixelShuffle(Module):
    r"""Rearranges elements of a tensor :math:`(*, C \times r^2, H, W)` into
    :math:`(*, C, H \times r, W \times r)` (efficient sub-pixel convolution).

    Args:
        upscale_factor: factor :math:`r` to increase spatial resolution by

    Examples::

        >>> pixel_shuffle = nn.PixelShuffle(3)
        >>> pixel_shuffle(torch.randn(1, 9, 4, 4)).size()
        torch.Size([1, 1, 12, 12])
    """

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = upscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    r"""Reverses :class:`PixelShuffle`: :math:`(*, C, H \times r, W \times r)` to
    :math:`(*, C \times r^2, H, W)`.

    Args:
        downscale_factor: factor :math:`r` to decrease spatial resolution by

    Examples::

        >>> pixel_unshuffle = nn.PixelUnshuffle(3)
        >>> pixel_unshuffle(torch.randn(1, 1, 12, 12)).size()
        torch.Size([1, 9, 4, 4])
    """

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = downscale_factor

    def forward(self, input: Tensor) -> Tensor:
        return F.pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
