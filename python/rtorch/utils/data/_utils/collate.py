"""default_collate and default_convert: turning lists of samples into batches, as PyTorch."""

from __future__ import annotations

import collections.abc
import copy
import re
from collections.abc import Callable
from typing import Any

import rtorch

from .worker import get_worker_info

__all__ = ["collate", "default_collate", "default_convert"]

# numpy dtypes that hold strings or Python objects: never turned into tensors.
_NP_STR_OBJ = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_numpy_type(cls: type) -> bool:
    return cls.__module__ == "numpy" and cls.__name__ not in ("str_", "bytes_", "string_")


def default_convert(data: Any) -> Any:
    """Turn numpy arrays inside ``data`` into tensors, leaving everything else as it is.

    Used by the DataLoader when automatic batching is off (``batch_size=None``).
    Containers are rebuilt with converted elements; tuples become lists, as in PyTorch.
    """
    cls = type(data)
    if isinstance(data, rtorch.Tensor):
        return data
    if _is_numpy_type(cls):
        if cls.__name__ == "ndarray" and _NP_STR_OBJ.search(data.dtype.str) is not None:
            return data
        return rtorch.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        converted = {key: default_convert(data[key]) for key in data}
        return _rebuild_mapping(data, converted)
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return cls(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(original: Any, values: dict) -> Any:
    """A mapping of ``original``'s type holding ``values`` (a plain dict if it cannot be built)."""
    if isinstance(original, collections.abc.MutableMapping):
        clone = copy.copy(original)
        clone.update(values)
        return clone
    try:
        return type(original)(values)
    except TypeError:
        return values


def _rebuild_sequence(original: Any, values: list) -> Any:
    if isinstance(original, list):
        return values
    if isinstance(original, collections.abc.MutableSequence):
        clone = copy.copy(original)
        for i, v in enumerate(values):
            clone[i] = v
        return clone
    try:
        return type(original)(values)
    except TypeError:
        return values


def collate_tensor_fn(batch: list, **_: Any) -> rtorch.Tensor:
    elem = batch[0]
    if get_worker_info() is not None:
        shape, dtype = elem.shape, elem.dtype
        if all(t.shape == shape and t.dtype == dtype and not t.requires_grad for t in batch):
            # In a worker, stack straight into shared memory: the batch then crosses to
            # the main process without another copy.
            from rtorch.multiprocessing.reductions import empty_shared

            out = empty_shared((len(batch), *shape), dtype)
            for dst, src in zip(out.unbind(0), batch):
                dst.copy_(src)
            return out
    return rtorch.stack(batch, 0)


def collate_numpy_array_fn(batch: list, **kwargs: Any) -> rtorch.Tensor:
    elem = batch[0]
    if _NP_STR_OBJ.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([rtorch.as_tensor(b) for b in batch], **kwargs)


def collate_numpy_scalar_fn(batch: list, **_: Any) -> rtorch.Tensor:
    import numpy as np

    return rtorch.as_tensor(np.array(batch))


def collate_float_fn(batch: list, **_: Any) -> rtorch.Tensor:
    return rtorch.tensor(batch, dtype=rtorch.float64)


def collate_int_fn(batch: list, **_: Any) -> rtorch.Tensor:
    # bools stay bool (torch.tensor([True, False]) is a bool tensor), other ints int64.
    return rtorch.tensor(batch)


def collate_str_fn(batch: list, **_: Any) -> list:
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    rtorch.Tensor: collate_tensor_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def collate(
    batch: list,
    *,
    collate_fn_map: dict[type | tuple[type, ...], Callable] | None = None,
) -> Any:
    """Collate a batch, dispatching on the first element's type through ``collate_fn_map``.

    Containers are handled here: mappings collate key by key, namedtuples field by field,
    other sequences are transposed (a tuple sample gives a list of batched fields).
    """
    elem = batch[0]
    cls = type(elem)
    if collate_fn_map is not None:
        fn = collate_fn_map.get(cls)
        if fn is not None:
            return fn(batch, collate_fn_map=collate_fn_map)
    if _is_numpy_type(cls):
        # Before the isinstance scan: numpy.float64 is a float, but keeps numpy's dtype.
        if cls.__name__ in ("ndarray", "memmap"):
            return collate_numpy_array_fn(batch, collate_fn_map=collate_fn_map)
        if getattr(elem, "shape", None) == ():
            return collate_numpy_scalar_fn(batch)
    if collate_fn_map is not None:
        for key, fn in collate_fn_map.items():
            if isinstance(elem, key):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        values = {
            key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem
        }
        return _rebuild_mapping(elem, values)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return cls(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if not all(len(e) == size for e in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return fields
        return _rebuild_sequence(elem, fields)
    raise TypeError(default_collate_err_msg_format.format(cls))


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, PyTorch's default ``collate_fn``.

    Tensors are stacked on a new first dimension; numpy arrays and numbers become tensors
    (Python floats float64, ints int64, bools bool); strings stay a list; dicts, namedtuples
    and sequences are collated field by field.

    Example:
        >>> default_collate([(0, "a"), (1, "b")])
        [tensor([0, 1]), ['a', 'b']]
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
