"""Channel shuffling, as torch.nn.modules.channelshuffle.

(Re-exported through ``pixelshuffle.py``'s ``__all__``, so the package picks it up.)
"""

from __future__ import annotations

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = ["ChannelShuffle"]


class ChannelShuffle(Module):
    r"""Divides the channels of a :math:`(*, C, H, W)` tensor into ``groups`` groups and
    interleaves them: :math:`(*, g, C/g, H, W)` becomes :math:`(*, C/g, g, H, W)`.

    Args:
        groups: number of groups to divide channels in.

    Examples::

        >>> channel_shuffle = nn.ChannelShuffle(2)
        >>> channel_shuffle(torch.arange(4.0).view(1, 4, 1, 1)).flatten()
        tensor([0., 2., 1., 3.])
    """

    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"
