"""Storages as checkpoints see them: the raw bytes behind one or more tensors.

rtorch tensors own their memory in the Rust core; this module only needs two things from
it, gathered in two adapter functions so that the rest of serialization never touches the
core's internals:

* :func:`tensor_storage_bytes` -- a zero-copy byte view of the whole storage of a tensor
  (what ``torch.save`` writes as one ``data/<key>`` record);
* :func:`tensor_from_bytes` -- a 1-D tensor over a writable byte buffer (what a loaded
  record becomes), zero-copy (``rtorch.frombuffer``).

Views are then built on that 1-D base with :func:`strided_view`, so that every tensor
which shared a storage when saved shares one again after loading.

``StorageBytes`` and ``TypedStorage`` carry a record between the zip reader and the
rebuild functions; the legacy ``FloatStorage`` family exists so that PyTorch's pickles,
which name those classes, have something to resolve to.
"""

from __future__ import annotations

from typing import Any

from . import _C

# PyTorch's torch.storage.UntypedStorage is torch.UntypedStorage: the core's class.
UntypedStorage = _C.UntypedStorage

__all__ = [
    "StorageBytes",
    "TypedStorage",
    "UntypedStorage",
    "strided_view",
    "tensor_from_bytes",
    "tensor_storage_bytes",
]

# ---------------------------------------------------------------------------------------
# Legacy typed-storage classes. torch.save names a storage by one of these in the
# persistent id ('storage', torch.FloatStorage, key, location, numel).
# ---------------------------------------------------------------------------------------

# PyTorch's legacy storage class name for each dtype, in the order PyTorch lists them.
STORAGE_NAME_BY_DTYPE_NAME = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "bfloat16": "BFloat16Storage",
    "int64": "LongStorage",
    "int32": "IntStorage",
    "int16": "ShortStorage",
    "int8": "CharStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}


def _dtype(name: str) -> Any:
    return getattr(_C, name)


class _LegacyStorage:
    """Base of the ``FloatStorage``-style markers; only their ``dtype`` matters."""

    dtype: Any = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(
            f"rtorch.storage.{type(self).__name__} is a name used by PyTorch checkpoints; "
            "rtorch does not create legacy typed storages"
        )


def _make_legacy(dtype_name: str, class_name: str) -> type:
    cls = type(class_name, (_LegacyStorage,), {"dtype": _dtype(dtype_name)})
    cls.__module__ = __name__
    return cls


LEGACY_STORAGE_CLASSES = {
    name: _make_legacy(dtype_name, name) for dtype_name, name in STORAGE_NAME_BY_DTYPE_NAME.items()
}
globals().update(LEGACY_STORAGE_CLASSES)
__all__ += list(LEGACY_STORAGE_CLASSES)


# ---------------------------------------------------------------------------------------
# Storage objects produced while loading.
# ---------------------------------------------------------------------------------------


class StorageBytes:
    """The bytes of one storage record read from a checkpoint, and the device it goes to.

    ``buffer`` is a writable buffer (``bytearray``, a slice of a private ``mmap``); tensors
    built from it alias its memory. This is what ``map_location`` callables receive.
    """

    __slots__ = ("_buffer", "device")

    def __init__(self, buffer: Any = b"", device: str = "cpu") -> None:
        self._buffer = memoryview(buffer).cast("B") if len(memoryview(buffer)) else buffer
        self.device = _C.device(device) if isinstance(device, str) else device

    def nbytes(self) -> int:
        return len(self._buffer)

    def size(self) -> int:
        return self.nbytes()

    def __len__(self) -> int:
        return self.nbytes()

    def cpu(self) -> StorageBytes:
        return StorageBytes(self._buffer, "cpu")

    def cuda(self, device: Any = None) -> StorageBytes:
        index = 0 if device is None else device
        target = index if not isinstance(index, int) else f"cuda:{index}"
        return StorageBytes(self._buffer, _C.device(target) if isinstance(target, str) else target)

    def to(self, device: Any) -> StorageBytes:
        return StorageBytes(self._buffer, _C.device(device) if isinstance(device, str) else device)

    def __repr__(self) -> str:
        return f"rtorch.storage.StorageBytes(nbytes={self.nbytes()}, device={self.device})"


class TypedStorage:
    """A :class:`StorageBytes` seen as elements of ``dtype`` (``torch.TypedStorage``).

    Caches the 1-D tensor over the whole storage, so views rebuilt from the same storage
    share memory.
    """

    __slots__ = ("_base", "_untyped_storage", "dtype")

    def __init__(self, *, wrap_storage: StorageBytes, dtype: Any) -> None:
        self._untyped_storage = wrap_storage
        self.dtype = dtype
        self._base = None

    @property
    def device(self) -> Any:
        return self._untyped_storage.device

    def untyped(self) -> StorageBytes:
        return self._untyped_storage

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def size(self) -> int:
        return self.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def cpu(self) -> TypedStorage:
        return TypedStorage(wrap_storage=self._untyped_storage.cpu(), dtype=self.dtype)

    def cuda(self, device: Any = None) -> TypedStorage:
        return TypedStorage(wrap_storage=self._untyped_storage.cuda(device), dtype=self.dtype)

    def to(self, device: Any) -> TypedStorage:
        return TypedStorage(wrap_storage=self._untyped_storage.to(device), dtype=self.dtype)

    def base_tensor(self) -> Any:
        """The 1-D tensor over the whole storage, on the storage's device (cached)."""
        if self._base is None:
            base = tensor_from_bytes(self._untyped_storage._buffer, self.dtype)
            device = self.device
            if getattr(device, "type", "cpu") != "cpu":
                base = base.to(device)
            self._base = base
        return self._base

    def __repr__(self) -> str:
        return f"rtorch.storage.TypedStorage(dtype={self.dtype}, size={self.size()})"


# ---------------------------------------------------------------------------------------
# The adapter between storages and the core's tensors.
# ---------------------------------------------------------------------------------------


def dtype_name(dtype: Any) -> str:
    """``rtorch.float32`` -> ``'float32'``."""
    return repr(dtype).rsplit(".", 1)[1]


def tensor_storage_bytes(t: Any) -> memoryview:
    """A zero-copy byte view of the whole storage behind CPU tensor ``t``."""
    return memoryview(t.untyped_storage()).cast("B")


def _buffer_address(buffer: Any) -> int:
    import numpy as np

    return np.frombuffer(buffer, dtype=np.uint8).ctypes.data


def tensor_from_bytes(buffer: Any, dtype: Any) -> Any:
    """A 1-D CPU tensor of ``dtype`` over the bytes of writable ``buffer``, sharing its
    memory (``rtorch.frombuffer``); the length must be a whole number of elements."""
    nbytes = len(buffer)
    itemsize = dtype.itemsize
    if nbytes % itemsize:
        raise RuntimeError(f"storage of {nbytes} bytes is not a whole number of {dtype} elements")
    if nbytes == 0:
        return _C.empty(0, dtype=dtype)
    if dtype == _C.bool:
        _check_bool_bytes(buffer)
    # A fresh bytearray is malloc-aligned (16 bytes); views into a mapped file may not be.
    if itemsize > 1 and not isinstance(buffer, bytearray) and _buffer_address(buffer) % itemsize:
        # Misaligned data (a crafted file): the kernels need aligned elements, so copy.
        buffer = bytearray(buffer)
    return _C.frombuffer(buffer, dtype=dtype)


def _check_bool_bytes(buffer: Any) -> None:
    """A bool storage must hold only 0 and 1: any other byte is undefined behaviour in the
    core (Rust's bool), so a corrupt file is refused here."""
    import numpy as np

    if (np.frombuffer(buffer, dtype=np.uint8) > 1).any():
        raise RuntimeError("corrupt checkpoint: a bool storage holds bytes other than 0 and 1")


def _required_elements(size: tuple, stride: tuple, offset: int) -> int:
    if any(s == 0 for s in size):
        return 0
    return offset + 1 + sum((s - 1) * st for s, st in zip(size, stride))


def check_view_bounds(size: Any, stride: Any, offset: Any, numel: int, itemsize: int) -> None:
    """Refuse a (size, stride, offset) that reaches outside a storage of ``numel`` elements."""
    for name, seq in (("size", size), ("stride", stride)):
        if not isinstance(seq, (tuple, list)) or not all(type(v) is int and v >= 0 for v in seq):
            raise RuntimeError(f"invalid {name} {seq!r} in a serialized tensor")
    if type(offset) is not int or offset < 0:
        raise RuntimeError(f"invalid storage offset {offset!r} in a serialized tensor")
    if len(size) != len(stride):
        raise RuntimeError(
            f"mismatch in length of strides and shape: {len(stride)} strides for "
            f"{len(size)} dimensions"
        )
    n = 1
    for s in size:
        n *= s
    if n >= 2**63:
        raise RuntimeError(f"serialized tensor of size {list(size)} has too many elements")
    need = _required_elements(tuple(size), tuple(stride), offset)
    if need > numel:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset "
            f"{offset}, and itemsize {itemsize} requiring a storage size of "
            f"{need * itemsize} are out of bounds for storage of size {numel * itemsize}"
        )


def strided_view(base: Any, size: tuple, stride: tuple, offset: int) -> Any:
    """The view ``(size, stride, offset)`` of 1-D tensor ``base``, sharing its memory.

    The bounds must already have been checked with :func:`check_view_bounds`.
    """
    return base.as_strided(tuple(size), tuple(stride), offset)
