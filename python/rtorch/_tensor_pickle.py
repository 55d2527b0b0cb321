"""Plain ``pickle`` and ``copy.deepcopy`` support for tensors.

``Tensor.__reduce_ex__`` gives ``_rebuild_tensor_v2(storage, offset, size, stride,
requires_grad, hooks)`` as PyTorch does, with the storage pickled by value. Within one
pickle (or one deepcopy), all views of a storage reduce to the same storage object, so
they share memory again after unpickling.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from typing import Any

from . import _C, _utils
from .storage import StorageBytes, TypedStorage, dtype_name, tensor_storage_bytes

__all__: list[str] = []


class _PickledStorage:
    """The storage of a tensor being pickled; reduces to its bytes."""

    __slots__ = ("__weakref__", "tensor")

    def __init__(self, tensor: Any) -> None:
        self.tensor = tensor  # keeps the storage (and its id) alive while referenced

    def __reduce__(self) -> tuple:
        t = self.tensor
        data = bytes(tensor_storage_bytes(t))
        return (_storage_from_bytes, (data, dtype_name(t.dtype), str(t.device)))


# storage id -> the _PickledStorage of the pickle in progress. Weak values: an entry lives
# exactly as long as a pickler's (or deepcopy's) memo holds it, and while it lives its
# tensor keeps the storage alive, so a storage id cannot be reused under it.
_live: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _storage_from_bytes(data: bytes, dtype: str, device: str) -> TypedStorage:
    """Unpickle a storage saved by :class:`_PickledStorage`."""
    untyped = StorageBytes(bytearray(data), "cpu")
    if device != "cpu":
        untyped = untyped.to(_C.device(device))
    return TypedStorage(wrap_storage=untyped, dtype=getattr(_C, dtype))


def _pickled_storage(t: Any) -> tuple[_PickledStorage, int, tuple]:
    if t.device.type != "cpu":
        return _PickledStorage(t.detach().contiguous()), 0, _contiguous_stride(t.shape)
    key = t._storage_id()
    storage = _live.get(key)
    if storage is None:
        storage = _PickledStorage(t.detach())
        _live[key] = storage
    return storage, t.storage_offset(), tuple(t.stride())


def _contiguous_stride(shape: Any) -> tuple:
    stride = []
    acc = 1
    for s in reversed(tuple(shape)):
        stride.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(stride))


def _tensor_reduce_ex(self: Any, protocol: int) -> tuple:
    if type(self) is not _C.Tensor:
        from .nn.parameter import Parameter

        if isinstance(self, Parameter):
            return Parameter.__reduce_ex__(self, protocol)
    storage, offset, stride = _pickled_storage(self)
    return (
        _utils._rebuild_tensor_v2,
        (storage, offset, tuple(self.shape), stride, self.requires_grad, OrderedDict()),
    )


def _tensor_deepcopy(self: Any, memo: dict) -> Any:
    """``copy.deepcopy`` as PyTorch's: leaves only; views of one storage share one copied
    storage; ``requires_grad``, ``.grad`` and Python attributes are copied too."""
    if not self.is_leaf:
        raise RuntimeError(
            "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
            "protocol at the moment.  If you were attempting to deepcopy a module, this may "
            "be because of a torch.nn.utils.weight_norm usage, see "
            "https://github.com/pytorch/pytorch/pull/103001"
        )
    if id(self) in memo:
        return memo[id(self)]
    if self.device.type == "cpu":
        key = ("rtorch.storage", self._storage_id())  # one copy per storage, per deepcopy
        base = memo.get(key)
        if base is None:
            data = bytearray(tensor_storage_bytes(self))
            base = _C.frombuffer(data, dtype=self.dtype) if data else _C.empty(0, dtype=self.dtype)
            memo[key] = base
        new = base.as_strided(tuple(self.shape), tuple(self.stride()), self.storage_offset())
    else:
        new = self.detach().clone()
    if self.requires_grad:
        new.requires_grad_(True)
    if self.grad is not None:
        new.grad = _tensor_deepcopy(self.grad, memo)
    state = getattr(self, "__dict__", None)
    if state:
        import copy

        for name, value in state.items():
            setattr(new, name, copy.deepcopy(value, memo))
    memo[id(self)] = new
    return new


_C.Tensor.__reduce_ex__ = _tensor_reduce_ex
_C.Tensor.__deepcopy__ = _tensor_deepcopy
