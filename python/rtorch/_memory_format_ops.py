"""Contiguity in a memory format: ``Tensor.is_contiguous(memory_format=...)`` and
``Tensor.contiguous(memory_format=...)``'s no-copy case, with PyTorch's rules.

A tensor with no elements is contiguous (row-major). A 4-d (5-d) tensor is channels_last
(channels_last_3d) contiguous when, walking its dims from fastest to slowest (C, then the
spatial dims from the last, then N), every dim of size other than 1 has stride equal to
the product of the sizes of the faster dims; size-1 dims may have any stride.
"""

from __future__ import annotations

from typing import Any

from ._C import Tensor
from ._memory_format import channels_last, channels_last_3d, contiguous_format, preserve_format
from ._memory_format import memory_format as _MemoryFormat

# rank, and the dims from fastest to slowest
_CHANNELS_LAST = {
    channels_last: (4, (1, 3, 2, 0)),
    channels_last_3d: (5, (1, 4, 3, 2, 0)),
}

_core_is_contiguous = Tensor.is_contiguous
_core_contiguous = Tensor.contiguous


def _dense_in_order(sizes: Any, strides: tuple, order: tuple) -> bool:
    expected = 1
    for d in order:
        size = sizes[d]
        if size != 1:
            if strides[d] != expected:
                return False
            expected *= size
    return True


def _strides_in_order(sizes: Any, order: tuple) -> list[int]:
    # PyTorch multiplies the sizes as they are here (a 0 size gives 0 strides after it),
    # unlike the row-major strides, where a 0 size counts as 1.
    strides = [0] * len(sizes)
    step = 1
    for d in order:
        strides[d] = step
        step *= sizes[d]
    return strides


def _channels_last_spec(memory_format: Any, name: str) -> tuple | None:
    if memory_format is contiguous_format or memory_format is preserve_format:
        return None
    if not isinstance(memory_format, _MemoryFormat):
        raise TypeError(
            f"{name}(): argument 'memory_format' must be torch.memory_format, not "
            f"{type(memory_format).__name__}"
        )
    return _CHANNELS_LAST[memory_format]


def is_contiguous(self: Tensor, *args: Any, memory_format: Any = contiguous_format) -> bool:
    """Whether the tensor is laid out densely in ``memory_format``'s order: row-major for
    ``contiguous_format`` (and ``preserve_format``), channels fastest for
    ``channels_last`` (4-d tensors only) and ``channels_last_3d`` (5-d only)."""
    if args:
        verb = "was" if len(args) == 1 else "were"
        raise TypeError(
            f"is_contiguous() takes 0 positional arguments but {len(args)} {verb} given"
        )
    spec = _channels_last_spec(memory_format, "is_contiguous")
    if spec is None:
        return _core_is_contiguous(self) or self.numel() == 0
    rank, order = spec
    return self.dim() == rank and _dense_in_order(self.shape, self.stride(), order)


def contiguous(self: Tensor, memory_format: Any = contiguous_format) -> Tensor:
    """The tensor itself when :func:`is_contiguous` holds for ``memory_format``, else a
    copy laid out in that format (``preserve_format`` only allows the first case)."""
    if (
        memory_format is contiguous_format
        or memory_format is None
        or memory_format is preserve_format
    ):
        if _core_is_contiguous(self) or self.numel() == 0:
            return self
        return _core_contiguous(self, memory_format=memory_format)
    rank, order = _channels_last_spec(memory_format, "contiguous")
    if self.dim() != rank:
        return _core_contiguous(self, memory_format=memory_format)  # raises PyTorch's error
    sizes = self.shape
    if _dense_in_order(sizes, self.stride(), order):
        return self
    out = _core_contiguous(self, memory_format=memory_format)
    if out.numel() == 0:
        out = out.as_strided(sizes, _strides_in_order(sizes, order))
    return out


FUNCTIONS: dict[str, Any] = {}
METHODS: dict[str, Any] = {}
# Replace the core's Tensor methods, which ignore the channels-last size-1 rule.
OVERRIDES = {"is_contiguous": is_contiguous, "contiguous": contiguous}
