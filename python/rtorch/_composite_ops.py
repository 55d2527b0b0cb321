"""Ops written as compositions of core ops (their gradients come from the composition).

Each is exposed as ``rtorch.<name>`` and, where PyTorch has one, as a Tensor method.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Union

from . import _C
from ._C import Tensor
from ._size import Size

_ShapeLike = Union[int, Sequence[int]]


def _sizes(args: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both name the shape (2, 3)."""
    if len(args) == 1 and not isinstance(args[0], int):
        return tuple(args[0])
    return tuple(args)


def broadcast_shapes(*shapes: _ShapeLike) -> Size:
    """The shape that tensors of the given shapes broadcast to, as ``torch.broadcast_shapes``."""
    dims = [(s,) if isinstance(s, int) else tuple(s) for s in shapes]
    ndim = max((len(d) for d in dims), default=0)
    out = [1] * ndim
    for index, d in enumerate(dims):
        for i, size in enumerate(reversed(d)):
            if not isinstance(size, int):
                raise TypeError(f"broadcast_shapes: expected ints, got {type(size).__name__}")
            if size < 0:
                raise RuntimeError(
                    f"Trying to create tensor with negative dimension {size}: {list(d)}"
                )
            j = ndim - 1 - i
            if out[j] == 1:
                out[j] = size
            elif size != 1 and size != out[j]:
                raise RuntimeError(
                    f"Attempting to broadcast a dimension of length {size} at {-1 - i}! "
                    f"Mismatching argument at index {index} had {d}; but expected shape "
                    f"should be broadcastable to {out}"
                )
    return Size(out)


def broadcast_to(input: Tensor, size: _ShapeLike) -> Tensor:
    """``input`` expanded (as a view) to ``size``."""
    return input.expand(size)


def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None) -> Tensor:
    """Gathers values of ``input`` at ``indices`` along ``dim``, broadcasting the other dims."""
    if dim is None:
        return input.reshape(-1).gather(0, indices.reshape(-1))
    nd = input.dim()
    if indices.dim() != nd:
        raise RuntimeError(
            "torch.take_along_dim(): input and indices should have the same number of "
            f"dimensions, but got {nd} dimensions for input, and {indices.dim()} "
            "dimensions for indices"
        )
    d = dim % nd if nd else 0
    in_shape = list(input.shape)
    idx_shape = list(indices.shape)
    in_shape[d] = idx_shape[d] = 1
    common = list(broadcast_shapes(in_shape, idx_shape))
    input_size = common.copy()
    input_size[d] = input.shape[d]
    index_size = common.copy()
    index_size[d] = indices.shape[d]
    return input.expand(input_size).gather(d, indices.expand(index_size))


def inner(input: Tensor, other: Tensor) -> Tensor:
    """Dot products over the last dimension of both inputs, as ``torch.inner``."""
    if input.dim() == 0 or other.dim() == 0:
        return input * other
    k = input.shape[-1]
    if other.shape[-1] != k:
        raise RuntimeError(
            "inner() the last dimension must match on both input tensors but got shapes "
            f"{list(input.shape)} and {list(other.shape)}"
        )
    out = input.reshape(-1, k).matmul(other.reshape(-1, k).t())
    return out.reshape(tuple(input.shape[:-1]) + tuple(other.shape[:-1]))


def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a matrix (integer inputs sum to int64)."""
    if input.dim() != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input.dim()}")
    return input.diagonal().sum()


def _repeat_indices(repeats: Tensor) -> Tensor:
    """``repeat_interleave(repeats)``: i repeated ``repeats[i]`` times, via a cumulative sum."""
    if repeats.dim() != 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    if repeats.dtype not in (_C.int64, _C.int32):
        raise RuntimeError("repeats has to be Long or Int tensor")
    if repeats.numel() and int(repeats.min()) < 0:
        raise RuntimeError("repeats can not be negative")
    repeats = repeats.to(_C.int64)
    total = int(repeats.sum())
    starts = repeats.cumsum(0)[:-1]
    # One marker where each next index starts; zero repeats stack markers on one spot.
    markers = _C.zeros(total + 1, dtype=_C.int64).index_add(
        0, starts, _C.ones(starts.shape, dtype=_C.int64)
    )
    return markers[:total].cumsum(0)


def repeat_interleave(
    input: Tensor,
    repeats: Tensor | int | None = None,
    dim: int | None = None,
    *,
    output_size: int | None = None,
) -> Tensor:
    """Repeats each element (or slice along ``dim``) of ``input``, as ``torch.repeat_interleave``."""
    if repeats is None:
        return _repeat_indices(input)
    if dim is None:
        input = input.reshape(-1)
        dim = 0
    dim = dim % max(input.dim(), 1)
    if isinstance(repeats, Tensor) and repeats.numel() == 1 and repeats.dim() <= 1:
        repeats = int(repeats.item())
    if isinstance(repeats, int):
        if repeats < 0:
            raise RuntimeError("repeats can not be negative")
        if input.dim() == 0:
            return input.reshape(1).expand(repeats).clone()
        shape = list(input.shape)
        expanded = input.unsqueeze(dim + 1).expand(*shape[: dim + 1], repeats, *shape[dim + 1 :])
        shape[dim] *= repeats
        return expanded.reshape(shape)
    if repeats.dim() == 1 and repeats.shape[0] != input.shape[dim]:
        raise RuntimeError(
            "repeats must have the same size as input along dim, but got "
            f"repeats.size(0) = {repeats.shape[0]} and input.size({dim}) = {input.shape[dim]}"
        )
    return input.index_select(dim, _repeat_indices(repeats))


# --- Tensor.new_*: new tensors with this tensor's dtype and device by default -------------


def _new_options(self: Tensor, dtype: Any, device: Any) -> dict:
    return {"dtype": self.dtype if dtype is None else dtype, "device": device or self.device}


def _new_zeros(self: Tensor, *size: Any, dtype=None, device=None, requires_grad=False, **_kw):
    opts = _new_options(self, dtype, device)
    return _C.zeros(_sizes(size), **opts).requires_grad_(requires_grad)


def _new_ones(self: Tensor, *size: Any, dtype=None, device=None, requires_grad=False, **_kw):
    opts = _new_options(self, dtype, device)
    return _C.ones(_sizes(size), **opts).requires_grad_(requires_grad)


def _new_empty(self: Tensor, *size: Any, dtype=None, device=None, requires_grad=False, **_kw):
    opts = _new_options(self, dtype, device)
    return _C.empty(_sizes(size), **opts).requires_grad_(requires_grad)


def _new_full(
    self: Tensor, size: Any, fill_value: Any, *, dtype=None, device=None, requires_grad=False, **_kw
):
    opts = _new_options(self, dtype, device)
    return _C.full(tuple(size), fill_value, **opts).requires_grad_(requires_grad)


def _new_tensor(self: Tensor, data: Any, *, dtype=None, device=None, requires_grad=False, **_kw):
    opts = _new_options(self, dtype, device)
    if isinstance(data, Tensor):
        warnings.warn(
            "To copy construct from a tensor, it is recommended to use "
            "sourceTensor.detach().clone() or "
            "sourceTensor.detach().clone().requires_grad_(True), rather than "
            "tensor.new_tensor(sourceTensor).",
            UserWarning,
            stacklevel=2,
        )
        return data.detach().to(**opts).clone().requires_grad_(requires_grad)
    return _C.tensor(data, requires_grad=requires_grad, **opts)


def broadcast_tensors(*tensors: Tensor) -> tuple[Tensor, ...]:
    """Views of the tensors expanded to their common broadcast shape."""
    shape = broadcast_shapes(*(tuple(t.shape) for t in tensors))
    return tuple(t.expand(shape) for t in tensors)


def meshgrid(*tensors: Tensor | Sequence[Tensor], indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors, as ``torch.meshgrid`` (views, no copies).

    Like PyTorch, ``indexing`` defaults to ``'ij'`` with a warning when omitted.
    """
    if len(tensors) == 1 and not isinstance(tensors[0], Tensor):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the "
            "indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(
            f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}'
        )
    for t in tensors:
        if t.dim() > 1:
            raise RuntimeError(
                f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: {t}"
            )
    swap = indexing == "xy" and len(tensors) >= 2
    ordered = list(tensors)
    if swap:
        ordered[0], ordered[1] = ordered[1], ordered[0]
    shape = [t.numel() for t in ordered]
    grids = []
    for i, t in enumerate(ordered):
        view = [1] * len(ordered)
        view[i] = -1
        grids.append(t.reshape(view).expand(shape))
    if swap:  # 'xy': the first two inputs vary along columns and rows respectively
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` that records its history (``torch.clone``)."""
    if memory_format is None:
        return input.clone()
    return input.clone(memory_format=memory_format)


def _get_device(self: Tensor) -> int:
    """The device index: -1 for a CPU tensor, as PyTorch."""
    return -1 if self.device.type == "cpu" else (self.device.index or 0)


FUNCTIONS = {
    "broadcast_shapes": broadcast_shapes,
    "broadcast_to": broadcast_to,
    "take_along_dim": take_along_dim,
    "inner": inner,
    "trace": trace,
    "repeat_interleave": repeat_interleave,
    "broadcast_tensors": broadcast_tensors,
    "meshgrid": meshgrid,
    "clone": clone,
}

METHODS = {
    "broadcast_to": broadcast_to,
    "take_along_dim": take_along_dim,
    "inner": inner,
    "trace": trace,
    "repeat_interleave": repeat_interleave,
    "new_zeros": _new_zeros,
    "new_ones": _new_ones,
    "new_empty": _new_empty,
    "new_full": _new_full,
    "new_tensor": _new_tensor,
    "get_device": _get_device,
}


def install() -> None:
    """Adds the methods to Tensor (without replacing any the core already has)."""
    from . import _special_ops

    for name, fn in {**_special_ops.METHODS, **METHODS}.items():
        if not hasattr(Tensor, name):
            setattr(Tensor, name, fn)
    core_type = Tensor.type

    def type(self: Tensor, dtype: Any = None, non_blocking: bool = False, **kwargs: Any):
        # Legacy types (torch.DoubleTensor) name a dtype: PyTorch accepts them here.
        return core_type(self, getattr(dtype, "dtype", dtype), non_blocking, **kwargs)

    type.__doc__ = core_type.__doc__
    Tensor.type = type
