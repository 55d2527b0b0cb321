"""``Tensor.storage()``: the legacy typed view of a tensor's ``UntypedStorage``.

PyTorch 2.x returns a (deprecated) ``TypedStorage``: the storage's bytes seen as
elements of the tensor's dtype, sharing memory with the tensor. This is that object,
with the methods programs use (size, data_ptr, indexing, tolist, fill_, copy_, …).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

from . import _C
from ._C import Tensor

_DEPRECATION = (
    "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
    "the only storage class. This should only matter to you if you are using storages "
    "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
    "tensor.storage()"
)


class TypedStorage:
    """The elements of an ``UntypedStorage`` as ``dtype`` values (``torch.TypedStorage``)."""

    is_sparse = False

    def __init__(self, *, wrap_storage: Any, dtype: Any) -> None:
        self._untyped_storage = wrap_storage
        self.dtype = dtype

    def _flat(self) -> Tensor:
        """A 1-D tensor over the whole storage (shares memory)."""
        n = self.size()
        return _C.empty(0, dtype=self.dtype).set_(self._untyped_storage, 0, (n,), (1,))

    @property
    def device(self) -> Any:
        return self._untyped_storage.device

    def untyped(self) -> Any:
        return self._untyped_storage

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.element_size()

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def is_shared(self) -> bool:
        return self._untyped_storage.is_shared()

    def share_memory_(self) -> TypedStorage:
        self._untyped_storage.share_memory_()
        return self

    def type(self, dtype: Any = None) -> Any:
        if dtype is None:
            from .storage import LEGACY_STORAGE_CLASSES

            for cls in LEGACY_STORAGE_CLASSES.values():
                if cls.dtype == self.dtype:
                    return f"torch.{cls.__name__}"
        raise NotImplementedError("TypedStorage.type(dtype) conversion is not supported")

    def tolist(self) -> list:
        return self._flat().tolist()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.tolist())

    def __getitem__(self, idx: Any) -> Any:
        value = self._flat()[idx]
        return (
            value.item()
            if value.dim() == 0
            else TypedStorage(wrap_storage=value.clone().untyped_storage(), dtype=self.dtype)
        )

    def __setitem__(self, idx: Any, value: Any) -> None:
        self._flat()[idx] = value

    def fill_(self, value: Any) -> TypedStorage:
        self._flat().fill_(value)
        return self

    def copy_(self, source: Any, non_blocking: bool | None = None) -> TypedStorage:
        src = source._flat() if isinstance(source, TypedStorage) else source
        self._flat().copy_(src.reshape(-1) if isinstance(src, Tensor) else src)
        return self

    def clone(self) -> TypedStorage:
        return TypedStorage(wrap_storage=self._flat().clone().untyped_storage(), dtype=self.dtype)

    def cpu(self) -> TypedStorage:
        return self

    def pickle_storage_type(self) -> str:
        from .storage import dtype_name

        return dtype_name(self.dtype)

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = f"[torch.storage.TypedStorage(dtype={self.dtype}, device={self.device}) of size {self.size()}]"
        return f"{body}\n{head}" if body else head


def _storage(self: Tensor) -> TypedStorage:
    warnings.warn(_DEPRECATION, UserWarning, stacklevel=2)
    return TypedStorage(wrap_storage=self.untyped_storage(), dtype=self.dtype)


def _storage_type(self: Tensor) -> type:
    from .storage import LEGACY_STORAGE_CLASSES

    for cls in LEGACY_STORAGE_CLASSES.values():
        if cls.dtype == self.dtype:
            return cls
    raise RuntimeError(f"no storage type for {self.dtype}")


FUNCTIONS: dict[str, Any] = {"TypedStorage": TypedStorage}
METHODS: dict[str, Any] = {"storage": _storage, "storage_type": _storage_type}
