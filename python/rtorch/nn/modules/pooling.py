"""Pooling layers, as torch.nn.modules.pooling: max, average and adaptive pooling in 1D/2D/3D."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]

_Size = int | Sequence[int]


class _MaxPoolNd(Module):
    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        dilation: _Size = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            "kernel_size={kernel_size}, stride={stride}, padding={padding}, "
            "dilation={dilation}, ceil_mode={ceil_mode}".format(**self.__dict__)
        )


class MaxPool1d(_MaxPoolNd):
    r"""Applies a 1D max pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the sliding window, must be > 0.
        stride: the stride of the sliding window. Default: ``kernel_size``.
        padding: implicit negative infinity padding on both sides, at most half the kernel.
        dilation: the stride between elements within a sliding window.
        return_indices: if ``True``, also return the argmax indices (for ``MaxUnpool1d``).
        ceil_mode: if ``True``, use ceil instead of floor for the output shape. A window
            that would start in the right padded region is ignored.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`,
          :math:`L_{out} = \lfloor (L_{in} + 2p - d(k - 1) - 1) / s + 1 \rfloor`.

    Examples::

        >>> m = nn.MaxPool1d(3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 16, 24])
    """

    def forward(self, input: Tensor):
        return F.max_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.dilation,
            ceil_mode=self.ceil_mode, return_indices=self.return_indices,
        )  # fmt: skip


class MaxPool2d(_MaxPoolNd):
    r"""Applies a 2D max pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the window to take a max over.
        stride: the stride of the window. Default: ``kernel_size``.
        padding: implicit negative infinity padding on both sides, at most half the kernel.
        dilation: a parameter that controls the stride of elements in the window.
        return_indices: if ``True``, also return the flat indices of the maxima in each
            input plane.
        ceil_mode: when ``True``, use ceil instead of floor to compute the output shape.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H_{in} + 2p_0 - d_0(k_0 - 1) - 1) / s_0 + 1 \rfloor`.

    Examples::

        >>> m = nn.MaxPool2d((3, 2), stride=(2, 1))
        >>> m(torch.randn(20, 16, 50, 32)).shape
        torch.Size([20, 16, 24, 31])
    """

    def forward(self, input: Tensor):
        return F.max_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.dilation,
            ceil_mode=self.ceil_mode, return_indices=self.return_indices,
        )  # fmt: skip


class AvgPool1d(Module):
    r"""Applies a 1D average pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the window.
        stride: the stride of the window. Default: ``kernel_size``.
        padding: implicit zero padding to be added on both sides.
        ceil_mode: when ``True``, use ceil instead of floor to compute the output shape.
        count_include_pad: when ``True``, include the zero-padding in the averaging.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`,
          :math:`L_{out} = \lfloor (L_{in} + 2p - k) / s + 1 \rfloor`.

    Examples::

        >>> m = nn.AvgPool1d(3, stride=2)
        >>> m(torch.tensor([[[1.0, 2, 3, 4, 5, 6, 7]]]))
        tensor([[[2., 4., 6.]]])
    """

    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()

        def single(v: Any) -> tuple:
            return tuple(v) if isinstance(v, (list, tuple)) else (v,)

        self.kernel_size = single(kernel_size)
        self.stride = single(stride if stride is not None else kernel_size)
        self.padding = single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool1d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad,
        )  # fmt: skip


class AvgPool2d(Module):
    r"""Applies a 2D average pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the window.
        stride: the stride of the window. Default: ``kernel_size``.
        padding: implicit zero padding to be added on both sides.
        ceil_mode: when ``True``, use ceil instead of floor to compute the output shape.
        count_include_pad: when ``True``, include the zero-padding in the averaging.
        divisor_override: if specified, it will be used as divisor, otherwise the size of
            the pooling region will be used.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`.

    Examples::

        >>> m = nn.AvgPool2d((3, 2), stride=(2, 1))
        >>> m(torch.randn(20, 16, 50, 32)).shape
        torch.Size([20, 16, 24, 31])
    """

    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool2d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override,
        )  # fmt: skip


class _LPPoolNd(Module):
    def __init__(
        self,
        norm_type: float,
        kernel_size: _Size,
        stride: _Size | None = None,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (
            "norm_type={norm_type}, kernel_size={kernel_size}, stride={stride}, "
            "ceil_mode={ceil_mode}".format(**self.__dict__)
        )


class LPPool1d(_LPPoolNd):
    r"""Applies a 1D power-average pooling: :math:`f(X) = \sqrt[p]{\sum_{x \in X} x^p}`.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`; output likewise.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool1d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class LPPool2d(_LPPoolNd):
    r"""Applies a 2D power-average pooling: :math:`f(X) = \sqrt[p]{\sum_{x \in X} x^p}`.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`; output likewise.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool2d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class _AdaptivePoolNd(Module):
    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__()
        self.output_size = output_size
        self.return_indices = return_indices

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    r"""Applies a 1D adaptive average pooling: output size ``L_out`` for any input size.

    Args:
        output_size: the target output size :math:`L_{out}`.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`.

    Examples::

        >>> m = nn.AdaptiveAvgPool1d(5)
        >>> m(torch.randn(1, 64, 8)).shape
        torch.Size([1, 64, 5])
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)
        del self.return_indices

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    r"""Applies a 2D adaptive average pooling: output ``H_out x W_out`` for any input size.

    Args:
        output_size: the target output size, an int or a tuple whose entries may be ``None``
            to keep the input's size.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, S_0, S_1)` or :math:`(C, S_0, S_1)`.

    Examples::

        >>> m = nn.AdaptiveAvgPool2d((5, 7))
        >>> m(torch.randn(1, 64, 8, 9)).shape
        torch.Size([1, 64, 5, 7])
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)
        del self.return_indices

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptivePoolNd):
    r"""Applies a 1D adaptive max pooling: output size ``L_out`` for any input size.

    Args:
        output_size: the target output size :math:`L_{out}`.
        return_indices: if ``True``, also return the indices of the maxima. Default: ``False``

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`.
    """

    def forward(self, input: Tensor):
        return F.adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptivePoolNd):
    r"""Applies a 2D adaptive max pooling: output ``H_out x W_out`` for any input size.

    Args:
        output_size: the target output size (entries may be ``None``).
        return_indices: if ``True``, also return the flat indices of the maxima.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, S_0, S_1)` or :math:`(C, S_0, S_1)`.

    Examples::

        >>> m = nn.AdaptiveMaxPool2d((5, 7))
        >>> m(torch.randn(1, 64, 8, 9)).shape
        torch.Size([1, 64, 5, 7])
    """

    def forward(self, input: Tensor):
        return F.adaptive_max_pool2d(input, self.output_size, self.return_indices)


class _MaxUnpoolNd(Module):
    _n = 2

    def __init__(self, kernel_size: _Size, stride: _Size | None = None, padding: _Size = 0):
        super().__init__()

        def tup(v: Any) -> tuple:
            return tuple(v) if isinstance(v, (list, tuple)) else (v,) * self._n

        self.kernel_size = tup(kernel_size)
        self.stride = tup(stride if stride is not None else kernel_size)
        self.padding = tup(padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    r"""Computes a partial inverse of :class:`MaxPool1d`: the maxima go back to their
    indices, every other output is zero.

    Inputs: ``input``, ``indices`` (from ``MaxPool1d(return_indices=True)``), optional
    ``output_size``.

    Shape:
        - Input: :math:`(N, C, H_{in})` or :math:`(C, H_{in})`.
        - Output: :math:`H_{out} = (H_{in} - 1) \times \text{stride} - 2 \times
          \text{padding} + \text{kernel\_size}`, or ``output_size``.
    """

    _n = 1

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool1d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxUnpool2d(_MaxUnpoolNd):
    r"""Computes a partial inverse of :class:`MaxPool2d`: the maxima go back to their
    indices, every other output is zero.

    Inputs: ``input``, ``indices`` (from ``MaxPool2d(return_indices=True)``), optional
    ``output_size``.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`H_{out} = (H_{in} - 1) \times \text{stride}[0] - 2 \times
          \text{padding}[0] + \text{kernel\_size}[0]` (likewise :math:`W`), or
          ``output_size``.

    Examples::

        >>> pool = nn.MaxPool2d(2, stride=2, return_indices=True)
        >>> unpool = nn.MaxUnpool2d(2, stride=2)
        >>> output, indices = pool(torch.randn(1, 1, 4, 4))
        >>> unpool(output, indices).shape
        torch.Size([1, 1, 4, 4])
    """

    _n = 2

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class MaxPool3d(_MaxPoolNd):
    r"""Applies a 3D max pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the window to take a max over.
        stride: the stride of the window. Default: ``kernel_size``.
        padding: implicit negative infinity padding on all six sides, at most half the kernel.
        dilation: a parameter that controls the stride of elements in the window.
        return_indices: if ``True``, also return the flat indices of the maxima in each
            input volume.
        ceil_mode: when ``True``, use ceil instead of floor to compute the output shape.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C, D_{out}, H_{out}, W_{out})` or
          :math:`(C, D_{out}, H_{out}, W_{out})`,
          :math:`D_{out} = \lfloor (D_{in} + 2p_0 - d_0(k_0 - 1) - 1) / s_0 + 1 \rfloor`.

    Examples::

        >>> m = nn.MaxPool3d((3, 2, 2), stride=(2, 1, 2))
        >>> m(torch.randn(20, 16, 50, 44, 31)).shape
        torch.Size([20, 16, 24, 43, 15])
    """

    def forward(self, input: Tensor):
        return F.max_pool3d(
            input, self.kernel_size, self.stride, self.padding, self.dilation,
            ceil_mode=self.ceil_mode, return_indices=self.return_indices,
        )  # fmt: skip


class AvgPool3d(Module):
    r"""Applies a 3D average pooling over an input signal composed of several input planes.

    Args:
        kernel_size: the size of the window.
        stride: the stride of the window. Default: ``kernel_size``.
        padding: implicit zero padding on all six sides.
        ceil_mode: when ``True``, use ceil instead of floor to compute the output shape.
        count_include_pad: when ``True``, include the zero padding in the averaging.
        divisor_override: if given, the divisor instead of the window size.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C, D_{out}, H_{out}, W_{out})` or
          :math:`(C, D_{out}, H_{out}, W_{out})`,
          :math:`D_{out} = \lfloor (D_{in} + 2p_0 - k_0) / s_0 + 1 \rfloor`.

    Examples::

        >>> m = nn.AvgPool3d((3, 2, 2), stride=(2, 1, 2))
        >>> m(torch.randn(20, 16, 50, 44, 31)).shape
        torch.Size([20, 16, 24, 43, 15])
    """

    def __init__(
        self,
        kernel_size: _Size,
        stride: _Size | None = None,
        padding: _Size = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if (stride is not None) else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"

    def forward(self, input: Tensor) -> Tensor:
        return F.avg_pool3d(
            input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
            self.count_include_pad, self.divisor_override,
        )  # fmt: skip


class AdaptiveAvgPool3d(_AdaptivePoolNd):
    r"""Applies a 3D adaptive average pooling: output ``D_out x H_out x W_out`` for any
    input size.

    Args:
        output_size: the target output size, an int or a tuple whose entries may be ``None``
            to keep the input's size.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C, S_0, S_1, S_2)` or :math:`(C, S_0, S_1, S_2)`.

    Examples::

        >>> m = nn.AdaptiveAvgPool3d((5, 7, 9))
        >>> m(torch.randn(1, 64, 8, 9, 10)).shape
        torch.Size([1, 64, 5, 7, 9])
    """

    def __init__(self, output_size: Any) -> None:
        super().__init__(output_size)
        del self.return_indices

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool3d(input, self.output_size)


class AdaptiveMaxPool3d(_AdaptivePoolNd):
    r"""Applies a 3D adaptive max pooling: output ``D_out x H_out x W_out`` for any input size.

    Args:
        output_size: the target output size (entries may be ``None``).
        return_indices: if ``True``, also return the flat indices of the maxima.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C, S_0, S_1, S_2)` or :math:`(C, S_0, S_1, S_2)`.

    Examples::

        >>> m = nn.AdaptiveMaxPool3d((5, 7, 9))
        >>> m(torch.randn(1, 64, 8, 9, 10)).shape
        torch.Size([1, 64, 5, 7, 9])
    """

    def forward(self, input: Tensor):
        return F.adaptive_max_pool3d(input, self.output_size, self.return_indices)


class MaxUnpool3d(_MaxUnpoolNd):
    r"""Computes a partial inverse of :class:`MaxPool3d`: the maxima go back to their
    indices, every other output is zero.

    Inputs: ``input``, ``indices`` (from ``MaxPool3d(return_indices=True)``), optional
    ``output_size``.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`.
        - Output: :math:`D_{out} = (D_{in} - 1) \times \text{stride}[0] - 2 \times
          \text{padding}[0] + \text{kernel\_size}[0]` (likewise :math:`H`, :math:`W`), or
          ``output_size``.
    """

    _n = 3

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool3d(
            input, indices, self.kernel_size, self.stride, self.padding, output_size
        )


class LPPool3d(_LPPoolNd):
    r"""Applies a 3D power-average pooling: :math:`f(X) = \sqrt[p]{\sum_{x \in X} x^p}`.

    Shape:
        - Input: :math:`(N, C, D_{in}, H_{in}, W_{in})` or :math:`(C, D_{in}, H_{in}, W_{in})`;
          output likewise.
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.lp_pool3d(input, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)


class _FractionalMaxPoolNd(Module):
    _nd = 2

    def __init__(
        self,
        kernel_size: _Size,
        output_size: _Size | None = None,
        output_ratio: Any = None,
        return_indices: bool = False,
        _random_samples: Tensor | None = None,
    ) -> None:
        super().__init__()
        nd = self._nd
        self.kernel_size = (
            (kernel_size,) * nd if isinstance(kernel_size, int) else tuple(kernel_size)
        )
        self.return_indices = return_indices
        self.register_buffer("_random_samples", _random_samples)
        self.output_size = (
            None if output_size is None
            else (output_size,) * nd if isinstance(output_size, int) else tuple(output_size)
        )  # fmt: skip
        self.output_ratio = (
            None if output_ratio is None
            else (output_ratio,) * nd if not isinstance(output_ratio, (tuple, list))
            else tuple(output_ratio)
        )  # fmt: skip
        name = type(self).__name__
        if output_size is None and output_ratio is None:
            raise ValueError(
                f"{name} requires specifying either an output size, or a pooling ratio"
            )
        if output_size is not None and output_ratio is not None:
            raise ValueError("only one of output_size and output_ratio may be specified")
        if self.output_ratio is not None and not all(0 < r < 1 for r in self.output_ratio):
            raise ValueError(f"output_ratio must be between 0 and 1 (got {output_ratio})")


class FractionalMaxPool2d(_FractionalMaxPoolNd):
    r"""Applies 2D fractional max pooling over an input signal composed of several input
    planes (Graham, *Fractional MaxPooling*): pooling windows of ``kernel_size`` at
    pseudo-random positions, producing ``output_size`` or ``output_ratio`` times the input.

    Args:
        kernel_size: the size of the window to take a max over
        output_size: the target output size ``oH x oW``
        output_ratio: the output size as a ratio of the input size, in (0, 1)
        return_indices: if ``True``, also return the indices of the maxima

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`.
    """

    _nd = 2

    def forward(self, input: Tensor):
        return F.fractional_max_pool2d(
            input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
            _random_samples=self._random_samples,
        )  # fmt: skip


class FractionalMaxPool3d(_FractionalMaxPoolNd):
    r"""Applies 3D fractional max pooling (see :class:`FractionalMaxPool2d`).

    Shape:
        - Input: :math:`(N, C, T_{in}, H_{in}, W_{in})` or :math:`(C, T_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C, T_{out}, H_{out}, W_{out})` or
          :math:`(C, T_{out}, H_{out}, W_{out})`.
    """

    _nd = 3

    def forward(self, input: Tensor):
        return F.fractional_max_pool3d(
            input, self.kernel_size, self.output_size, self.output_ratio, self.return_indices,
            _random_samples=self._random_samples,
        )  # fmt: skip
