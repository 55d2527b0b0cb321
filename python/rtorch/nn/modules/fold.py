"""Sliding-block layers, as torch.nn.modules.fold: Fold (col2im) and Unfold (im2col).

(Re-exported through ``conv.py``'s ``__all__``, so the package picks them up.)
"""

from __future__ import annotations

from collections.abc import Sequence

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]

_Size = int | Sequence[int]


class Fold(Module):
    r"""Combines an array of sliding local blocks into a large containing tensor, summing
    overlapping values.

    Args:
        output_size: the shape of the spatial dimensions of the output
        kernel_size: the size of the sliding blocks
        dilation: the stride of elements within a block. Default: 1
        padding: implicit zero padding on both sides of the output. Default: 0
        stride: the stride of the sliding blocks. Default: 1

    Shape:
        - Input: :math:`(N, C \times \prod(\text{kernel\_size}), L)` or unbatched.
        - Output: :math:`(N, C, \text{output\_size}[0], \text{output\_size}[1])`.

    Examples::

        >>> fold = nn.Fold(output_size=(4, 5), kernel_size=(2, 2))
        >>> fold(torch.randn(1, 3 * 2 * 2, 12)).size()
        torch.Size([1, 3, 4, 5])
    """

    def __init__(
        self,
        output_size: _Size,
        kernel_size: _Size,
        dilation: _Size = 1,
        padding: _Size = 0,
        stride: _Size = 1,
    ) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(
            input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride
        )

    def extra_repr(self) -> str:
        return (
            "output_size={output_size}, kernel_size={kernel_size}, dilation={dilation}, "
            "padding={padding}, stride={stride}".format(**self.__dict__)
        )


class Unfold(Module):
    r"""Extracts sliding local blocks from a batched input tensor.

    Args:
        kernel_size: the size of the sliding blocks
        dilation: the stride of elements within a block. Default: 1
        padding: implicit zero padding on both sides of the input. Default: 0
        stride: the stride of the sliding blocks. Default: 1

    Shape:
        - Input: :math:`(N, C, H, W)` or :math:`(C, H, W)`.
        - Output: :math:`(N, C \times \prod(\text{kernel\_size}), L)`.

    Examples::

        >>> unfold = nn.Unfold(kernel_size=(2, 3))
        >>> unfold(torch.randn(2, 5, 3, 4)).size()
        torch.Size([2, 30, 4])
    """

    def __init__(
        self, kernel_size: _Size, dilation: _Size = 1, padding: _Size = 0, stride: _Size = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (
            "kernel_size={kernel_size}, dilation={dilation}, padding={padding}, "
            "stride={stride}".format(**self.__dict__)
        )
