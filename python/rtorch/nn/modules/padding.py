"""Padding layers, as torch.nn.modules.padding: constant, zero, reflection, replication and
circular padding in 1, 2 and 3 dimensions."""

from __future__ import annotations

from collections.abc import Sequence

from ..._C import Tensor
from .. import functional as F
from .module import Module

__all__ = [
    "CircularPad1d",
    "CircularPad2d",
    "CircularPad3d",
    "ConstantPad1d",
    "ConstantPad2d",
    "ConstantPad3d",
    "ReflectionPad1d",
    "ReflectionPad2d",
    "ReflectionPad3d",
    "ReplicationPad1d",
    "ReplicationPad2d",
    "ReplicationPad3d",
    "ZeroPad1d",
    "ZeroPad2d",
    "ZeroPad3d",
]


def _expand(padding: int | Sequence[int], n: int) -> tuple[int, ...]:
    """An int pads every side; a sequence must give all 2*n sides."""
    if isinstance(padding, int):
        return (padding,) * (2 * n)
    padding = tuple(padding)
    if len(padding) != 2 * n:
        raise ValueError(f"expected a padding of {2 * n} values, got {len(padding)}")
    return padding


class _PadNd(Module):
    """Pads the last ``_n`` dimensions with ``_mode``; ``padding`` is (left, right, top, ...)."""

    _n: int = 1
    _mode: str = "constant"

    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__()
        self.padding = _expand(padding, self._n)

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    def __init__(self, padding: int | Sequence[int], value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    r"""Pads the input tensor boundaries with a constant value.

    Args:
        padding: the size of the padding; an int pads both sides, a 2-tuple is
            (:math:`\text{padding\_left}`, :math:`\text{padding\_right}`).
        value: the fill value.

    Shape:
        - Input: :math:`(C, W_{in})` or :math:`(N, C, W_{in})`.
        - Output: :math:`W_{out} = W_{in} + \text{padding\_left} + \text{padding\_right}`.

    Examples::

        >>> m = nn.ConstantPad1d(2, 3.5)
        >>> m(torch.zeros(1, 2, 4)).shape
        torch.Size([1, 2, 8])
    """

    _n = 1


class ConstantPad2d(_ConstantPadNd):
    r"""Pads the input tensor boundaries with a constant value.

    Args:
        padding: an int pads all four sides; a 4-tuple is (left, right, top, bottom).
        value: the fill value.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`H_{out} = H_{in} + \text{top} + \text{bottom}`,
          :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Examples::

        >>> m = nn.ConstantPad2d((3, 0, 2, 1), 3.5)
        >>> m(torch.zeros(1, 2, 2)).shape
        torch.Size([1, 5, 5])
    """

    _n = 2


class ConstantPad3d(_ConstantPadNd):
    r"""Pads the last three dimensions with a constant value; a 6-tuple is
    (left, right, top, bottom, front, back)."""

    _n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd):
    r"""Pads the input tensor boundaries with zero (an int or a (left, right) tuple).

    Examples::

        >>> m = nn.ZeroPad1d(2)
        >>> m(torch.ones(1, 2, 4)).shape
        torch.Size([1, 2, 8])
    """

    _n = 1


class ZeroPad2d(_ZeroPadNd):
    r"""Pads the input tensor boundaries with zero (an int or (left, right, top, bottom)).

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`H_{out} = H_{in} + \text{top} + \text{bottom}`,
          :math:`W_{out} = W_{in} + \text{left} + \text{right}`.

    Examples::

        >>> m = nn.ZeroPad2d((1, 1, 2, 0))
        >>> m(torch.ones(1, 1, 3, 3)).shape
        torch.Size([1, 1, 5, 5])
    """

    _n = 2


class ZeroPad3d(_ZeroPadNd):
    r"""Pads the last three dimensions with zero."""

    _n = 3


class ReflectionPad1d(_PadNd):
    r"""Pads the input tensor using the reflection of the input boundary.

    Args:
        padding: an int or (left, right); each must be smaller than the input size.

    Shape:
        - Input: :math:`(C, W_{in})` or :math:`(N, C, W_{in})`.
        - Output: :math:`W_{out} = W_{in} + \text{padding\_left} + \text{padding\_right}`.

    Examples::

        >>> m = nn.ReflectionPad1d(2)
        >>> m(torch.arange(8, dtype=torch.float).reshape(1, 2, 4))
        tensor([[[2., 1., 0., 1., 2., 3., 2., 1.],
                 [6., 5., 4., 5., 6., 7., 6., 5.]]])
    """

    _n = 1
    _mode = "reflect"


class ReflectionPad2d(_PadNd):
    r"""Pads the input tensor using the reflection of the input boundary.

    Args:
        padding: an int or (left, right, top, bottom).

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`H_{out} = H_{in} + \text{top} + \text{bottom}`,
          :math:`W_{out} = W_{in} + \text{left} + \text{right}`.
    """

    _n = 2
    _mode = "reflect"


class ReflectionPad3d(_PadNd):
    r"""Pads the last three dimensions using the reflection of the input boundary."""

    _n = 3
    _mode = "reflect"


class ReplicationPad1d(_PadNd):
    r"""Pads the input tensor using replication of the input boundary.

    Shape:
        - Input: :math:`(C, W_{in})` or :math:`(N, C, W_{in})`.
        - Output: :math:`W_{out} = W_{in} + \text{padding\_left} + \text{padding\_right}`.
    """

    _n = 1
    _mode = "replicate"


class ReplicationPad2d(_PadNd):
    r"""Pads the input tensor using replication of the input boundary.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
    """

    _n = 2
    _mode = "replicate"


class ReplicationPad3d(_PadNd):
    r"""Pads the last three dimensions using replication of the input boundary."""

    _n = 3
    _mode = "replicate"


class CircularPad1d(_PadNd):
    r"""Pads the input tensor using circular padding of the input boundary (wrap-around).

    Shape:
        - Input: :math:`(C, W_{in})` or :math:`(N, C, W_{in})`.
    """

    _n = 1
    _mode = "circular"


class CircularPad2d(_PadNd):
    r"""Pads the input tensor using circular padding of the input boundary (wrap-around).

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.

    Examples::

        >>> m = nn.CircularPad2d(1)
        >>> m(torch.arange(9, dtype=torch.float).reshape(1, 1, 3, 3)).shape
        torch.Size([1, 1, 5, 5])
    """

    _n = 2
    _mode = "circular"


class CircularPad3d(_PadNd):
    r"""Pads the last three dimensions circularly."""

    _n = 3
    _mode = "circular"
