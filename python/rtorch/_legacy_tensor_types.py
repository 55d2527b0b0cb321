"""PyTorch's legacy tensor types (``torch.FloatTensor``, ``torch.LongTensor``, …).

They are not classes of their own in PyTorch either: calling one makes an ordinary
Tensor of its dtype, and ``isinstance(t, torch.FloatTensor)`` asks about the dtype.
"""

from __future__ import annotations

from typing import Any

from . import _C
from ._size import Size


class _LegacyTensorType(type):
    dtype: _C.dtype
    is_cuda: bool

    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, _C.Tensor) and obj.dtype == cls.dtype and obj.is_cuda == cls.is_cuda

    def __call__(cls, *args: Any, device: Any = None) -> _C.Tensor:
        if cls.is_cuda or (device is not None and _C.device(device).type != "cpu"):
            raise RuntimeError("Found no NVIDIA driver on your system.")
        if len(args) == 1 and isinstance(args[0], _C.Tensor):
            if args[0].dtype != cls.dtype:
                raise TypeError(f"expected {cls.__name__} (got {args[0].type()})")
            return args[0]
        if len(args) == 1 and not isinstance(args[0], (int, Size)):
            if isinstance(args[0], (str, bytes)):
                raise TypeError(f"new(): invalid data type '{type(args[0]).__name__}'")
            return _C.tensor(args[0], dtype=cls.dtype)
        shape = tuple(args[0]) if len(args) == 1 and isinstance(args[0], Size) else args
        if not shape:
            shape = (0,)  # FloatTensor() is an empty 1-D tensor
        for i, s in enumerate(shape):
            if not isinstance(s, int):
                raise TypeError(
                    f"new(): argument 'size' failed to unpack the object at pos {i + 1} with "
                    f'error "type must be tuple of ints,but got {type(s).__name__}"'
                )
        return _C.empty(shape, dtype=cls.dtype)


def _make(name: str, dtype: _C.dtype, is_cuda: bool, module: str) -> type:
    return _LegacyTensorType(name, (), {"dtype": dtype, "is_cuda": is_cuda, "__module__": module})


_NAMES = {
    "DoubleTensor": _C.float64,
    "FloatTensor": _C.float32,
    "HalfTensor": _C.float16,
    "BFloat16Tensor": _C.bfloat16,
    "LongTensor": _C.int64,
    "IntTensor": _C.int32,
    "ShortTensor": _C.int16,
    "CharTensor": _C.int8,
    "ByteTensor": _C.uint8,
    "BoolTensor": _C.bool,
}

CPU_TYPES = {name: _make(name, dt, False, "torch") for name, dt in _NAMES.items()}
CUDA_TYPES = {name: _make(name, dt, True, "torch.cuda") for name, dt in _NAMES.items()}
