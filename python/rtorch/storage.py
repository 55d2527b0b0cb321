"""Storages as checkpoints see them: the raw bytes behind one or more tensors.

rtorch tensors own their memory in the Rust core; this module only needs two things from
it, gathered in two adapter functions so that the rest of serialization never touches the
core's internals:

* :func:`tensor_storage_bytes` -- a zero-copy byte view of the whole storage of a tensor
  (what ``torch.save`` writes as one ``data/<key>`` record);
* :func:`tensor_from_bytes` -- a 1-D tensor over a writable byte buffer (what a loaded
  record becomes), zero-copy where the core allows it.

Views are then built on that 1-D base with :func:`strided_view`, so that every tensor
which shared a storage when saved shares one again after loading.

The classes here (``UntypedStorage``, ``TypedStorage`` and the legacy ``FloatStorage``
family) exist so that PyTorch's pickles, which name them, have something to resolve to.
"""

from __future__ import annotations

import ctypes
from typing import Any

from . import _C

__all__ = [
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


class UntypedStorage:
    """A device-less byte buffer read from a checkpoint (``torch.UntypedStorage``'s role).

    ``buffer`` is a writable buffer (``bytearray``, a slice of a private ``mmap``); tensors
    built from it alias its memory.
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

    def cpu(self) -> UntypedStorage:
        return UntypedStorage(self._buffer, "cpu")

    def cuda(self, device: Any = None) -> UntypedStorage:
        index = 0 if device is None else device
        target = index if not isinstance(index, int) else f"cuda:{index}"
        return UntypedStorage(
            self._buffer, _C.device(target) if isinstance(target, str) else target
        )

    def to(self, device: Any) -> UntypedStorage:
        return UntypedStorage(
            self._buffer, _C.device(device) if isinstance(device, str) else device
        )

    def __repr__(self) -> str:
        return f"rtorch.storage.UntypedStorage(nbytes={self.nbytes()}, device={self.device})"


class TypedStorage:
    """An :class:`UntypedStorage` seen as elements of ``dtype`` (``torch.TypedStorage``).

    Caches the 1-D tensor over the whole storage, so views rebuilt from the same storage
    share memory.
    """

    __slots__ = ("_base", "_untyped_storage", "dtype")

    def __init__(self, *, wrap_storage: UntypedStorage, dtype: Any) -> None:
        self._untyped_storage = wrap_storage
        self.dtype = dtype
        self._base = None

    @property
    def device(self) -> Any:
        return self._untyped_storage.device

    def untyped(self) -> UntypedStorage:
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

_NUMPY_DTYPE_NAMES = {
    "float32": "float32",
    "float64": "float64",
    "float16": "float16",
    "int64": "int64",
    "int32": "int32",
    "int16": "int16",
    "int8": "int8",
    "uint8": "uint8",
    "bool": "bool",
}


def dtype_name(dtype: Any) -> str:
    """``rtorch.float32`` -> ``'float32'``."""
    return repr(dtype).rsplit(".", 1)[1]


def tensor_storage_bytes(t: Any) -> memoryview:
    """A read-only, zero-copy byte view of the whole storage behind CPU tensor ``t``.

    The view aliases the tensor's memory: the caller keeps ``t`` alive while using it.
    """
    if hasattr(t, "untyped_storage"):
        return memoryview(t.untyped_storage()).cast("B")
    nbytes = t._storage_nbytes()
    if nbytes == 0:
        return memoryview(b"")
    start = t.data_ptr() - t.storage_offset() * t.dtype.itemsize
    return memoryview((ctypes.c_char * nbytes).from_address(start)).cast("B").toreadonly()


def _buffer_address(buffer: Any) -> int:
    import numpy as np

    return np.frombuffer(buffer, dtype=np.uint8).ctypes.data


def tensor_from_bytes(buffer: Any, dtype: Any) -> Any:
    """A 1-D CPU tensor of ``dtype`` over the bytes of ``buffer``, sharing its memory.

    ``buffer`` must be writable and its length a multiple of the element size. bfloat16
    (which numpy cannot describe) is copied when the core lacks ``rtorch.frombuffer``.
    """
    nbytes = len(buffer)
    itemsize = dtype.itemsize
    if nbytes % itemsize:
        raise RuntimeError(f"storage of {nbytes} bytes is not a whole number of {dtype} elements")
    if nbytes == 0:
        return _C.empty(0, dtype=dtype)
    name = dtype_name(dtype)
    if name == "bool":
        _check_bool_bytes(buffer)
    if itemsize > 1 and _buffer_address(buffer) % itemsize:
        # Misaligned data (a crafted file): the kernels need aligned elements, so copy.
        buffer = bytearray(buffer)
    frombuffer = getattr(_C, "frombuffer", None)
    if frombuffer is not None:
        return frombuffer(buffer, dtype=dtype)
    np_name = _NUMPY_DTYPE_NAMES.get(name)
    if np_name is None:
        # No numpy dtype (bfloat16): one copy into a fresh tensor of that dtype.
        out = _C.empty(nbytes // itemsize, dtype=dtype)
        ctypes.memmove(out.data_ptr(), _buffer_address(buffer), nbytes)
        return out
    import numpy as np

    return _C.from_numpy(np.frombuffer(buffer, dtype=np_name))


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
    size = tuple(size)
    stride = tuple(stride)
    if hasattr(base, "as_strided"):
        return base.as_strided(size, stride, offset)
    numel = 1
    for s in size:
        numel *= s
    contiguous = []
    acc = 1
    for s in reversed(size):
        contiguous.append(acc)
        acc *= s
    if numel == 0:
        return _C.empty(size, dtype=base.dtype)
    if stride == tuple(reversed(contiguous)) or numel == 1:
        view = base[offset : offset + numel] if (offset or numel != base.numel()) else base
        return view.reshape(size) if size != (numel,) else view
    return _view_by_unfolding(base, size, stride, offset)


def _view_by_unfolding(base: Any, size: tuple, stride: tuple, offset: int) -> Any:
    """A strided view of 1-D ``base`` composed of view ops (until the core has as_strided).

    Dimensions are taken outermost (largest stride) first: ``unfold(d, span, stride)``
    splits the last dimension into windows ``stride`` apart, each as long as the span the
    inner dimensions still need, and ``narrow`` keeps ``size`` of them. Stride-0 dims are
    expanded at the end; size-1 dims are unsqueezed (their stride is meaningless).
    """
    dims = [d for d in range(len(size)) if size[d] != 1 and stride[d] != 0]
    dims.sort(key=lambda d: -stride[d])
    view = base[offset:] if dims else base[offset : offset + 1].reshape(())
    for i, d in enumerate(dims):
        inner_span = 1 + sum((size[e] - 1) * stride[e] for e in dims[i + 1 :])
        view = view.unfold(view.dim() - 1, inner_span, stride[d]).narrow(view.dim() - 1, 0, size[d])
    if dims:
        view = view.reshape(view.shape[:-1])  # the last window is one element long
    # `view` has the dims of `dims`, in that order; put every dim at its place.
    order = sorted(range(len(dims)), key=lambda i: dims[i])
    view = view.permute(*order) if len(order) > 1 else view
    for d in range(len(size)):
        if size[d] == 1 or stride[d] == 0:
            view = view.unsqueeze(d)
    if any(st == 0 and sz != 1 for sz, st in zip(size, stride)):
        view = view.expand(*size)
    return view
