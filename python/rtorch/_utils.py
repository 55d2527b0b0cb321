"""The rebuild functions that PyTorch's pickles call, under rtorch's names.

A tensor in a ``torch.save`` pickle is ``torch._utils._rebuild_tensor_v2(storage, offset,
size, stride, requires_grad, backward_hooks)``; loading maps ``torch._utils`` to this
module, and saving writes ``torch._utils`` names so that PyTorch can read rtorch's files.
"""

from __future__ import annotations

from typing import Any

from . import _C
from .storage import StorageBytes, TypedStorage, check_view_bounds, strided_view

__all__ = [
    "_rebuild_device_tensor_from_cpu_tensor",
    "_rebuild_from_type_v2",
    "_rebuild_meta_tensor_no_storage",
    "_rebuild_parameter",
    "_rebuild_parameter_with_state",
    "_rebuild_tensor",
    "_rebuild_tensor_v2",
    "_rebuild_tensor_v3",
]


def _as_typed(storage: Any, dtype: Any = None) -> TypedStorage:
    if isinstance(storage, TypedStorage):
        if dtype is not None and dtype != storage.dtype:
            return TypedStorage(wrap_storage=storage.untyped(), dtype=dtype)
        return storage
    if isinstance(storage, StorageBytes):
        return TypedStorage(wrap_storage=storage, dtype=dtype if dtype is not None else _C.uint8)
    raise RuntimeError(f"expected a storage to rebuild a tensor from, got {type(storage).__name__}")


def _rebuild_tensor(
    storage: Any, storage_offset: int, size: Any, stride: Any, dtype: Any = None
) -> Any:
    """The tensor ``(size, stride, storage_offset)`` over ``storage``, sharing its memory."""
    if isinstance(storage, _C.UntypedStorage):  # the core's storage (untyped storages)
        dtype = dtype if dtype is not None else _C.uint8
        check_view_bounds(
            size, stride, storage_offset, storage.nbytes() // dtype.itemsize, dtype.itemsize
        )
        t = _C.empty(0, dtype=dtype, device=storage.device)
        return t.set_(storage, storage_offset, tuple(size), tuple(stride))
    typed = _as_typed(storage, dtype)
    numel = typed.size()
    check_view_bounds(size, stride, storage_offset, numel, typed.dtype.itemsize)
    base = typed.base_tensor()
    return strided_view(base, tuple(size), tuple(stride), storage_offset)


def _set_requires_grad(t: Any, requires_grad: Any) -> Any:
    if requires_grad is True:
        t.requires_grad_(True)
    elif requires_grad is not False:
        raise RuntimeError(f"invalid requires_grad {requires_grad!r} in a serialized tensor")
    return t


def _rebuild_tensor_v2(
    storage: Any,
    storage_offset: int,
    size: Any,
    stride: Any,
    requires_grad: bool,
    backward_hooks: Any,
    metadata: Any = None,
) -> Any:
    """PyTorch's ``torch._utils._rebuild_tensor_v2``. Backward hooks are not restored
    (PyTorch does not save them either; it always writes an empty OrderedDict)."""
    t = _rebuild_tensor(storage, storage_offset, size, stride)
    return _set_requires_grad(t, requires_grad)


def _rebuild_tensor_v3(
    storage: Any,
    storage_offset: int,
    size: Any,
    stride: Any,
    requires_grad: bool,
    backward_hooks: Any,
    dtype: Any,
    metadata: Any = None,
) -> Any:
    """Like v2, with the dtype given explicitly (storage saved untyped)."""
    if not isinstance(dtype, _C.dtype):
        # A corrupt file, not a caller's type mistake: RuntimeError as for other bad data.
        raise RuntimeError(f"invalid dtype {dtype!r} in a serialized tensor")  # noqa: TRY004
    t = _rebuild_tensor(storage, storage_offset, size, stride, dtype)
    return _set_requires_grad(t, requires_grad)


def _parameter_class() -> type:
    from .nn.parameter import Parameter

    return Parameter


def _rebuild_parameter(data: Any, requires_grad: bool, backward_hooks: Any) -> Any:
    """PyTorch's ``torch._utils._rebuild_parameter``."""
    if not isinstance(data, _C.Tensor):
        raise RuntimeError(  # noqa: TRY004 (a corrupt file)
            f"a serialized Parameter must wrap a tensor, got {type(data).__name__}"
        )
    return _parameter_class()(data, bool(requires_grad))


def _rebuild_parameter_with_state(
    data: Any, requires_grad: bool, backward_hooks: Any, state: Any
) -> Any:
    """A Parameter (or subclass) with extra Python attributes in ``state``."""
    param = _rebuild_parameter(data, requires_grad, backward_hooks)
    if state:
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise RuntimeError("invalid Parameter state in a serialized tensor")
        for key, value in state.items():
            setattr(param, key, value)
    return param


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Any:
    """``torch._tensor._rebuild_from_type_v2``: rebuild with ``func(*args)``, then give the
    result ``new_type`` and ``state``. rtorch rebuilds plain tensors and Parameters."""
    if func not in (_rebuild_tensor, _rebuild_tensor_v2, _rebuild_tensor_v3, _rebuild_parameter):
        raise RuntimeError(f"_rebuild_from_type_v2 cannot rebuild with {func!r}")
    if not isinstance(args, tuple):
        raise RuntimeError("_rebuild_from_type_v2 arguments must be a tuple")  # noqa: TRY004
    ret = func(*args)
    if new_type is not _C.Tensor and type(ret) is not new_type:
        if new_type is _parameter_class():
            ret = _parameter_class()(ret, ret.requires_grad)
        else:
            raise RuntimeError(
                f"rtorch cannot rebuild a tensor of subclass {new_type!r} from a checkpoint"
            )
    if state:
        if not isinstance(state, dict):
            raise RuntimeError("invalid tensor state in a serialized tensor")
        for key, value in state.items():
            setattr(ret, key, value)
    return ret


def _rebuild_device_tensor_from_cpu_tensor(
    data: Any, dtype: Any, device: Any, requires_grad: bool
) -> Any:
    """A CPU tensor moved to ``device`` (PyTorch uses it for some device tensors)."""
    if not isinstance(data, _C.Tensor) or not isinstance(dtype, _C.dtype):
        raise RuntimeError("invalid arguments to _rebuild_device_tensor_from_cpu_tensor")  # noqa: TRY004
    # The copy must not be larger than the data in the file (an expanded view of a tiny
    # storage would otherwise make a checkpoint allocate arbitrary amounts of memory).
    if data.numel() * data.dtype.itemsize > data._storage_nbytes():
        raise RuntimeError("refusing to materialize an expanded tensor from a checkpoint")
    t = data.to(device=device, dtype=dtype)
    return _set_requires_grad(t, requires_grad)


def _rebuild_meta_tensor_no_storage(dtype: Any, size: Any, stride: Any, requires_grad: bool) -> Any:
    """A tensor on the meta device (shape and dtype, no data)."""
    check_view_bounds(size, stride, 0, 2**62, 1)
    t = _C.empty_strided(tuple(size), tuple(stride), dtype=dtype, device="meta")
    return _set_requires_grad(t, requires_grad)
