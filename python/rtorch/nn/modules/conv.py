"""Convolution layers, as torch.nn.modules.conv: Conv1d/2d/3d, ConvTranspose1d/2d/3d, their
lazy forms (LazyConv*, LazyConvTranspose*), Fold and Unfold."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import rtorch

from ..._C import Tensor
from .. import functional as F
from ..parameter import Parameter, UninitializedParameter
from . import _factory
from .fold import Fold, Unfold
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d", "Fold", "Unfold"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _ntuple(value: Any, n: int) -> tuple:
    if isinstance(value, (list, tuple)):
        return tuple(value)
    return (value,) * n


class _ConvNd(Module):
    """Shared state of every convolution: parameters, init, ``extra_repr``, padding modes."""

    _nd: int = 2

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, ...],
        stride: tuple[int, ...],
        padding: str | tuple[int, ...],
        dilation: tuple[int, ...],
        transposed: bool,
        output_padding: tuple[int, ...],
        groups: int,
        bias: bool,
        padding_mode: str,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        if groups <= 0:
            raise ValueError("groups must be a positive integer")
        if in_channels % groups != 0:
            raise ValueError("in_channels must be divisible by groups")
        if out_channels % groups != 0:
            raise ValueError("out_channels must be divisible by groups")
        valid_padding_strings = {"same", "valid"}
        if isinstance(padding, str):
            if padding not in valid_padding_strings:
                raise ValueError(
                    f"Invalid padding string {padding!r}, should be one of {valid_padding_strings}"
                )
            if padding == "same" and any(s != 1 for s in stride):
                raise ValueError("padding='same' is not supported for strided convolutions")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {set(_PADDING_MODES)}, but got "
                f"padding_mode='{padding_mode}'"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.transposed = transposed
        self.output_padding = output_padding
        self.groups = groups
        self.padding_mode = padding_mode
        # F.pad amounts (last dimension first) for the non-zeros padding modes.
        if isinstance(padding, str):
            pads: list[int] = [0, 0] * len(kernel_size)
            if padding == "same":
                for d, k, i in zip(dilation, kernel_size, range(len(kernel_size) - 1, -1, -1)):
                    total = d * (k - 1)
                    left = total // 2
                    pads[2 * i] = left
                    pads[2 * i + 1] = total - left
            self._reversed_padding_repeated_twice = pads
        else:
            self._reversed_padding_repeated_twice = [p for p in reversed(padding) for _ in (0, 1)]
        if transposed:
            shape = (in_channels, out_channels // groups, *kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *kernel_size)
        self.weight = Parameter(_factory.empty(shape, device, dtype))
        if bias:
            self.bias = Parameter(_factory.empty((out_channels,), device, dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # kaiming_uniform_(a=sqrt(5)) and U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias;
        # a transposed weight (in, out/groups, k...) takes its fan-in from dimension 1.
        _factory.kaiming_uniform_sqrt5_(self.weight)
        _factory.bias_uniform_(self.bias, self.weight)

    def extra_repr(self) -> str:
        n = len(self.kernel_size)
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * n:
            s += ", padding={padding}"
        if self.dilation != (1,) * n:
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * n:
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        if not hasattr(self, "padding_mode"):
            self.padding_mode = "zeros"


class Conv1d(_ConvNd):
    r"""Applies a 1D convolution over an input signal composed of several input planes.

    Args:
        in_channels: number of channels in the input
        out_channels: number of channels produced by the convolution
        kernel_size: size of the convolving kernel
        stride: stride of the convolution. Default: 1
        padding: padding added to both sides of the input, or ``'valid'`` / ``'same'``.
            Default: 0
        dilation: spacing between kernel elements. Default: 1
        groups: number of blocked connections from input to output channels. Default: 1
        bias: if ``True``, adds a learnable bias to the output. Default: ``True``
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
            Default: ``'zeros'``

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d(k - 1) - 1) / s + 1 \rfloor`

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k)`, from
            :math:`\mathcal{U}(-\sqrt{c}, \sqrt{c})`, :math:`c = \text{groups}/(C_{in} k)`
        bias: :math:`(C_{out})`, initialized the same way.

    Examples::

        >>> m = nn.Conv1d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 33, 24])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 1),
            _ntuple(stride, 1),
            padding if isinstance(padding, str) else _ntuple(padding, 1),
            _ntuple(dilation, 1),
            False,
            (0,),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv1d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return F.conv1d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class Conv2d(_ConvNd):
    r"""Applies a 2D convolution over an input signal composed of several input planes.

    Args:
        in_channels: number of channels in the input image
        out_channels: number of channels produced by the convolution
        kernel_size: size of the convolving kernel (int or tuple)
        stride: stride of the convolution. Default: 1
        padding: padding added to all four sides of the input, or ``'valid'`` / ``'same'``.
            Default: 0
        dilation: spacing between kernel elements. Default: 1
        groups: number of blocked connections from input to output channels. Default: 1
        bias: if ``True``, adds a learnable bias to the output. Default: ``True``
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
            Default: ``'zeros'``

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H_{in} + 2p_0 - d_0(k_0 - 1) - 1) / s_0 + 1 \rfloor`,
          likewise :math:`W_{out}`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_0, k_1)`, from
            :math:`\mathcal{U}(-\sqrt{c}, \sqrt{c})`, :math:`c = \text{groups}/(C_{in} k_0 k_1)`
        bias: :math:`(C_{out})`, initialized the same way.

    Examples::

        >>> m = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
        >>> m(torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 26, 100])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 2),
            _ntuple(stride, 2),
            padding if isinstance(padding, str) else _ntuple(padding, 2),
            _ntuple(dilation, 2),
            False,
            (0, 0),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv2d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return F.conv2d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class _ConvTransposeNd(_ConvNd):
    def _output_padding(
        self,
        input: Tensor,
        output_size: Sequence[int] | None,
        stride: tuple[int, ...],
        padding: tuple[int, ...],
        kernel_size: tuple[int, ...],
        num_spatial_dims: int,
        dilation: tuple[int, ...],
    ) -> tuple[int, ...]:
        if output_size is None:
            return self.output_padding
        has_batch = input.dim() == num_spatial_dims + 2
        output_size = list(output_size)
        if len(output_size) in (num_spatial_dims + 2, num_spatial_dims + 1):
            output_size = output_size[-num_spatial_dims:]
        if len(output_size) != num_spatial_dims:
            raise ValueError(
                f"ConvTranspose{num_spatial_dims}D: for {input.dim()}D input, output_size must "
                f"have {num_spatial_dims} or {num_spatial_dims + (2 if has_batch else 1)} "
                f"elements (got {len(output_size)})"
            )
        spatial = input.shape[-num_spatial_dims:]
        min_sizes = [
            (spatial[d] - 1) * stride[d] - 2 * padding[d] + dilation[d] * (kernel_size[d] - 1) + 1
            for d in range(num_spatial_dims)
        ]
        max_sizes = [m + s - 1 for m, s in zip(min_sizes, stride, strict=True)]
        for d in range(num_spatial_dims):
            if not min_sizes[d] <= output_size[d] <= max_sizes[d]:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from "
                    f"{min_sizes} to {max_sizes} (for an input of {spatial})"
                )
        return tuple(o - m for o, m in zip(output_size, min_sizes, strict=True))


class ConvTranspose1d(_ConvTransposeNd):
    r"""Applies a 1D transposed convolution operator over an input image composed of several
    input planes (the gradient of Conv1d with respect to its input).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups, bias, dilation: as
            :class:`Conv1d` (``padding`` here removes ``dilation * (kernel_size - 1) - padding``
            of implicit zero padding).
        output_padding: additional size added to one side of the output shape. Default: 0
        padding_mode: only ``'zeros'`` is supported.

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`
        - Output: :math:`(N, C_{out}, L_{out})`,
          :math:`L_{out} = (L_{in} - 1) s - 2p + d(k - 1) + \text{output\_padding} + 1`

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k)`
        bias: :math:`(C_{out})`

    Examples::

        >>> m = nn.ConvTranspose1d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50)).shape
        torch.Size([20, 33, 101])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 1),
            _ntuple(stride, 1),
            _ntuple(padding, 1),
            _ntuple(dilation, 1),
            True,
            _ntuple(output_padding, 1),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, 1, self.dilation
        )
        return F.conv_transpose1d(
            input, self.weight, self.bias, self.stride, self.padding, output_padding,
            self.groups, self.dilation,
        )  # fmt: skip


class ConvTranspose2d(_ConvTransposeNd):
    r"""Applies a 2D transposed convolution operator over an input image composed of several
    input planes (the gradient of Conv2d with respect to its input).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, groups, bias, dilation: as
            :class:`Conv2d` (``padding`` here removes ``dilation * (kernel_size - 1) - padding``
            of implicit zero padding).
        output_padding: additional size added to one side of each output dimension. Default: 0
        padding_mode: only ``'zeros'`` is supported.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`,
          :math:`H_{out} = (H_{in} - 1) s_0 - 2p_0 + d_0(k_0 - 1) + \text{output\_padding}_0 + 1`

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_0, k_1)`
        bias: :math:`(C_{out})`

    Examples::

        >>> m = nn.ConvTranspose2d(16, 33, 3, stride=2)
        >>> m(torch.randn(20, 16, 50, 100)).shape
        torch.Size([20, 33, 101, 201])
        >>> up = nn.ConvTranspose2d(16, 16, 3, stride=2, padding=1)
        >>> up(torch.randn(1, 16, 6, 6), output_size=[1, 16, 12, 12]).size()
        torch.Size([1, 16, 12, 12])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 2),
            _ntuple(stride, 2),
            _ntuple(padding, 2),
            _ntuple(dilation, 2),
            True,
            _ntuple(output_padding, 2),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, 2, self.dilation
        )
        return F.conv_transpose2d(
            input, self.weight, self.bias, self.stride, self.padding, output_padding,
            self.groups, self.dilation,
        )  # fmt: skip


class Conv3d(_ConvNd):
    r"""Applies a 3D convolution over an input signal composed of several input planes.

    Args:
        in_channels: number of channels in the input image
        out_channels: number of channels produced by the convolution
        kernel_size: size of the convolving kernel (int or ``(kD, kH, kW)``)
        stride: stride of the convolution. Default: 1
        padding: padding added to all six sides of the input, or ``'valid'`` / ``'same'``.
            Default: 0
        dilation: spacing between kernel elements. Default: 1
        groups: number of blocked connections from input to output channels. Default: 1
        bias: if ``True``, adds a learnable bias to the output. Default: ``True``
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
            Default: ``'zeros'``

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})` or
          :math:`(C_{out}, D_{out}, H_{out}, W_{out})`,
          :math:`D_{out} = \lfloor (D_{in} + 2p_0 - d_0(k_0 - 1) - 1) / s_0 + 1 \rfloor`,
          likewise :math:`H_{out}`, :math:`W_{out}`.

    Attributes:
        weight: :math:`(C_{out}, C_{in}/\text{groups}, k_0, k_1, k_2)`, from
            :math:`\mathcal{U}(-\sqrt{c}, \sqrt{c})`,
            :math:`c = \text{groups}/(C_{in} k_0 k_1 k_2)`
        bias: :math:`(C_{out})`, initialized the same way.

    Examples::

        >>> m = nn.Conv3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(4, 2, 0))
        >>> m(torch.randn(20, 16, 10, 50, 100)).shape
        torch.Size([20, 33, 8, 50, 99])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 3),
            _ntuple(stride, 3),
            padding if isinstance(padding, str) else _ntuple(padding, 3),
            _ntuple(dilation, 3),
            False,
            (0, 0, 0),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return F.conv3d(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return F.conv3d(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


class ConvTranspose3d(_ConvTransposeNd):
    r"""Applies a 3D transposed convolution operator over an input image composed of several
    input planes (the gradient of Conv3d with respect to its input).

    Args:
        in_channels: number of channels in the input image
        out_channels: number of channels produced by the convolution
        kernel_size: size of the convolving kernel (int or ``(kD, kH, kW)``)
        stride: stride of the convolution. Default: 1
        padding: ``dilation * (kernel_size - 1) - padding`` zero-padding on both sides of
            each dimension of the input. Default: 0
        output_padding: additional size added to one side of each dimension in the output
            shape. Default: 0
        groups: number of blocked connections from input to output channels. Default: 1
        bias: if ``True``, adds a learnable bias to the output. Default: ``True``
        dilation: spacing between kernel elements. Default: 1

    Shape:
        - Input: :math:`(N, C_{in}, D_{in}, H_{in}, W_{in})` or :math:`(C_{in}, D_{in}, H_{in}, W_{in})`
        - Output: :math:`(N, C_{out}, D_{out}, H_{out}, W_{out})` or
          :math:`(C_{out}, D_{out}, H_{out}, W_{out})`,
          :math:`D_{out} = (D_{in} - 1) s_0 - 2 p_0 + d_0 (k_0 - 1) + \text{output\_padding}_0 + 1`,
          likewise :math:`H_{out}`, :math:`W_{out}`.

    Attributes:
        weight: :math:`(C_{in}, C_{out}/\text{groups}, k_0, k_1, k_2)`, from
            :math:`\mathcal{U}(-\sqrt{c}, \sqrt{c})`,
            :math:`c = \text{groups}/(C_{out} k_0 k_1 k_2)`
        bias: :math:`(C_{out})`, initialized the same way.

    Examples::

        >>> m = nn.ConvTranspose3d(16, 33, (3, 5, 2), stride=(2, 1, 1), padding=(0, 4, 2))
        >>> m(torch.randn(20, 16, 10, 50, 100)).shape
        torch.Size([20, 33, 21, 46, 97])
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}')
        super().__init__(
            in_channels,
            out_channels,
            _ntuple(kernel_size, 3),
            _ntuple(stride, 3),
            _ntuple(padding, 3),
            _ntuple(dilation, 3),
            True,
            _ntuple(output_padding, 3),
            groups,
            bias,
            padding_mode,
            device,
            dtype,
        )

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(
            input, output_size, self.stride, self.padding, self.kernel_size, 3, self.dilation
        )
        return F.conv_transpose3d(
            input, self.weight, self.bias, self.stride, self.padding, output_padding,
            self.groups, self.dilation,
        )  # fmt: skip


class _LazyConvXdMixin(LazyModuleMixin):
    """Lazy convolutions: ``in_channels`` comes from the first input's channel dimension."""

    groups: int
    transposed: bool
    in_channels: int
    out_channels: int
    kernel_size: tuple[int, ...]
    weight: UninitializedParameter
    bias: UninitializedParameter

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_channels != 0:
            super().reset_parameters()  # type: ignore[misc]

    _spatial_dims: int  # set by each concrete class

    def _get_num_spatial_dims(self) -> int:
        return self._spatial_dims

    def _get_in_channels(self, input: Tensor) -> int:
        spatial = self._get_num_spatial_dims()
        if input.dim() not in (spatial + 1, spatial + 2):
            raise RuntimeError(
                f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input to "
                f"{self.__class__.__name__}, but got input of size: {input.shape}"
            )
        return input.shape[1] if input.dim() == spatial + 2 else input.shape[0]

    def initialize_parameters(self, input: Tensor, *args: Any, **kwargs: Any) -> None:
        """Sets ``in_channels`` from the input and materializes the parameters."""
        if self.has_uninitialized_params():
            self.in_channels = self._get_in_channels(input)
            if self.in_channels % self.groups != 0:
                raise ValueError("in_channels must be divisible by groups")
            with rtorch.no_grad():
                if self.transposed:
                    shape = (self.in_channels, self.out_channels // self.groups, *self.kernel_size)
                else:
                    shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
                self.weight.materialize(shape)
                if self.bias is not None:
                    self.bias.materialize((self.out_channels,))
                self.reset_parameters()


def _lazy_conv_init(
    module: Any,
    out_channels: int,
    bias: bool,
    device: Any,
    dtype: Any,
) -> None:
    module.weight = UninitializedParameter(device=device, dtype=dtype)
    module.out_channels = out_channels
    if bias:
        module.bias = UninitializedParameter(device=device, dtype=dtype)


class _LazyConvNd(_LazyConvXdMixin):
    """The constructor of LazyConv1d/2d/3d: a ConvNd's arguments without ``in_channels``
    (the concrete class puts the ConvNd after this one in its bases)."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: str | int | Sequence[int] = 0,
        dilation: int | Sequence[int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, dilation, groups, False, padding_mode)
        _lazy_conv_init(self, out_channels, bias, device, dtype)


class _LazyConvTransposeNd(_LazyConvXdMixin):
    """The constructor of LazyConvTranspose1d/2d/3d: a ConvTransposeNd's arguments
    without ``in_channels``."""

    def __init__(
        self,
        out_channels: int,
        kernel_size: int | Sequence[int],
        stride: int | Sequence[int] = 1,
        padding: int | Sequence[int] = 0,
        output_padding: int | Sequence[int] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | Sequence[int] = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(0, 0, kernel_size, stride, padding, output_padding, groups, False,
                         dilation, padding_mode)  # fmt: skip
        _lazy_conv_init(self, out_channels, bias, device, dtype)


class LazyConv1d(_LazyConvNd, Conv1d):  # type: ignore[misc]
    r"""A :class:`Conv1d` whose ``in_channels`` is inferred from ``input.size(1)`` on the
    first call, after which it becomes a :class:`Conv1d`. Arguments as :class:`Conv1d`
    without ``in_channels``."""

    cls_to_become = Conv1d
    _spatial_dims = 1


class LazyConv2d(_LazyConvNd, Conv2d):  # type: ignore[misc]
    r"""A :class:`Conv2d` whose ``in_channels`` is inferred from ``input.size(1)`` on the
    first call, after which it becomes a :class:`Conv2d`. Arguments as :class:`Conv2d`
    without ``in_channels``."""

    cls_to_become = Conv2d
    _spatial_dims = 2


class LazyConv3d(_LazyConvNd, Conv3d):  # type: ignore[misc]
    r"""A :class:`Conv3d` whose ``in_channels`` is inferred from ``input.size(1)`` on the
    first call, after which it becomes a :class:`Conv3d`. Arguments as :class:`Conv3d`
    without ``in_channels``."""

    cls_to_become = Conv3d
    _spatial_dims = 3


__all__ += ["Conv3d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d", "LazyConv3d"]


class LazyConvTranspose1d(_LazyConvTransposeNd, ConvTranspose1d):  # type: ignore[misc]
    r"""A :class:`ConvTranspose1d` whose ``in_channels`` is inferred from ``input.size(1)``
    on the first call, after which it becomes a :class:`ConvTranspose1d`."""

    cls_to_become = ConvTranspose1d
    _spatial_dims = 1


class LazyConvTranspose2d(_LazyConvTransposeNd, ConvTranspose2d):  # type: ignore[misc]
    r"""A :class:`ConvTranspose2d` whose ``in_channels`` is inferred from ``input.size(1)``
    on the first call, after which it becomes a :class:`ConvTranspose2d`."""

    cls_to_become = ConvTranspose2d
    _spatial_dims = 2


class LazyConvTranspose3d(_LazyConvTransposeNd, ConvTranspose3d):  # type: ignore[misc]
    r"""A :class:`ConvTranspose3d` whose ``in_channels`` is inferred from ``input.size(1)``
    on the first call, after which it becomes a :class:`ConvTranspose3d`."""

    cls_to_become = ConvTranspose3d
    _spatial_dims = 3


__all__ += ["LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d"]
