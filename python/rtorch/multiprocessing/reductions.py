"""Tensors cross process boundaries through POSIX shared memory.

The sender copies a tensor's elements into a fresh shared-memory segment and pickles only
its name, dtype and shape. The receiver maps the segment, wraps it as a tensor without a
copy and unlinks the name at once: the mapping stays valid for as long as the tensor
lives, and nothing is left in /dev/shm even if either process dies later.

A tensor whose storage is already shared (``Tensor.share_memory_()``) travels as its
storage's file descriptor instead, so that both processes see the same memory.

A message that is pickled but never unpickled leaves its segment behind; the DataLoader
gives its workers a segment-name prefix of their own and removes any such leftovers when
it shuts them down (see :func:`remove_segments`).
"""

from __future__ import annotations

import _posixshmem
import mmap
import os
import secrets
import sys
from multiprocessing.reduction import DupFd, ForkingPickler
from typing import Any

import numpy as np

import rtorch

__all__ = ["empty_shared", "init_reductions", "remove_segments", "set_segment_prefix"]

_SHM_DIR = "/dev/shm"

# Segment names are "<prefix><random>"; None means "rtorch_<pid>_" of the sending process.
_segment_prefix: str | None = None

_NUMPY_DTYPES = {
    rtorch.bool: np.bool_,
    rtorch.uint8: np.uint8,
    rtorch.int8: np.int8,
    rtorch.int16: np.int16,
    rtorch.int32: np.int32,
    rtorch.int64: np.int64,
    rtorch.float16: np.float16,
    rtorch.float32: np.float32,
    rtorch.float64: np.float64,
}


def set_segment_prefix(prefix: str | None) -> None:
    """Name the segments this process creates ``prefix + <random>`` (None: the default)."""
    global _segment_prefix
    _segment_prefix = prefix


def remove_segments(prefix: str) -> None:
    """Unlink every shared-memory segment whose name starts with ``prefix``."""
    try:
        names = os.listdir(_SHM_DIR)
    except OSError:
        return
    for name in names:
        if name.startswith(prefix):
            try:
                _posixshmem.shm_unlink("/" + name)
            except OSError:
                pass


def _create_segment(nbytes: int) -> tuple[str, mmap.mmap]:
    prefix = _segment_prefix if _segment_prefix is not None else f"rtorch_{os.getpid()}_"
    name = prefix + secrets.token_hex(8)
    fd = _posixshmem.shm_open("/" + name, os.O_CREAT | os.O_EXCL | os.O_RDWR, mode=0o600)
    try:
        os.ftruncate(fd, nbytes)
        return name, mmap.mmap(fd, nbytes)
    except BaseException:
        _posixshmem.shm_unlink("/" + name)
        raise
    finally:
        os.close(fd)


def _attach_segment(name: str, nbytes: int) -> mmap.mmap:
    fd = _posixshmem.shm_open("/" + name, os.O_RDWR, mode=0o600)
    try:
        return mmap.mmap(fd, nbytes)
    finally:
        os.close(fd)
        # The mapping keeps the memory alive; the name is not needed any more.
        _posixshmem.shm_unlink("/" + name)


def _tensor_over_buffer(buffer: mmap.mmap, dtype: rtorch.dtype, numel: int) -> rtorch.Tensor:
    """A 1-D tensor of ``numel`` elements viewing ``buffer`` without a copy.

    The tensor keeps ``buffer`` alive. This is the one place that knows how a buffer
    becomes a tensor.
    """
    frombuffer = getattr(rtorch, "frombuffer", None)
    if frombuffer is not None:
        return frombuffer(buffer, dtype=dtype, count=numel)
    return rtorch.from_numpy(np.frombuffer(buffer, dtype=_NUMPY_DTYPES[dtype], count=numel))


def _wire_dtype(dtype: rtorch.dtype) -> rtorch.dtype:
    # Without rtorch.frombuffer, bfloat16 (no numpy twin) travels as exact float32.
    if dtype == rtorch.bfloat16 and not hasattr(rtorch, "frombuffer"):
        return rtorch.float32
    return dtype


def _dtype_name(dtype: rtorch.dtype) -> str:
    return str(dtype).split(".")[1]


def rebuild_tensor(
    name: str | None, nbytes: int, dtype_name: str, shape: tuple, requires_grad: bool
) -> rtorch.Tensor:
    """Unpickling side of :func:`reduce_tensor`."""
    dtype = getattr(rtorch, dtype_name)
    if name is None:
        tensor = rtorch.empty(shape, dtype=dtype)
    else:
        wire = _wire_dtype(dtype)
        numel = 1
        for size in shape:
            numel *= size
        tensor = _tensor_over_buffer(_attach_segment(name, nbytes), wire, numel).view(shape)
        if wire != dtype:
            tensor = tensor.to(dtype)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _copy_to_segment(tensor: rtorch.Tensor) -> tuple[str | None, int]:
    numel = tensor.numel()
    if numel == 0:
        return None, 0
    wire = _wire_dtype(tensor.dtype)
    source = tensor.detach()
    if wire != tensor.dtype:
        source = source.to(wire)
    nbytes = numel * source.element_size()
    name, buffer = _create_segment(nbytes)
    try:
        _tensor_over_buffer(buffer, wire, numel).view(tuple(tensor.shape)).copy_(source)
    except BaseException:
        _posixshmem.shm_unlink("/" + name)
        raise
    return name, nbytes


def rebuild_shared_tensor(
    fd_holder: Any,
    nbytes: int,
    dtype_name: str,
    shape: tuple,
    stride: tuple,
    offset: int,
    requires_grad: bool,
) -> rtorch.Tensor:
    """Unpickling side of a tensor whose storage is already shared: map the same pages."""
    dtype = getattr(rtorch, dtype_name)
    fd = fd_holder.detach()
    try:
        buffer = mmap.mmap(fd, nbytes)
    finally:
        os.close(fd)
    element_size = rtorch.empty((), dtype=dtype).element_size()
    storage = _tensor_over_buffer(buffer, dtype, nbytes // element_size)
    tensor = storage.as_strided(shape, stride, offset)
    if requires_grad:
        tensor.requires_grad_(True)
    return tensor


def _reduce_shared(tensor: rtorch.Tensor) -> tuple | None:
    """(rebuild, args) passing the file descriptor of a ``share_memory_()`` storage."""
    storage = tensor.untyped_storage()
    fd = storage._shared_fd()
    if fd is None:
        return None
    args = (
        DupFd(fd),
        storage.nbytes(),
        _dtype_name(tensor.dtype),
        tuple(tensor.shape),
        tuple(tensor.stride()),
        tensor.storage_offset(),
        tensor.requires_grad,
    )
    return rebuild_shared_tensor, args


def empty_shared(shape: tuple, dtype: rtorch.dtype) -> rtorch.Tensor:
    """An uninitialized tensor whose elements live in a fresh named segment.

    Its first pickling sends the segment's name without copying the elements (DataLoader
    workers collate batches straight into such tensors).
    """
    numel = 1
    for size in shape:
        numel *= size
    if numel == 0 or _wire_dtype(dtype) != dtype:
        return rtorch.empty(shape, dtype=dtype)
    nbytes = numel * rtorch.empty((), dtype=dtype).element_size()
    name, buffer = _create_segment(nbytes)
    tensor = _tensor_over_buffer(buffer, dtype, numel).view(shape)
    tensor._rtorch_segment = (name, nbytes)
    return tensor


def _take_own_segment(tensor: rtorch.Tensor) -> tuple | None:
    """The (name, nbytes) of an :func:`empty_shared` tensor, once: a second send copies."""
    return tensor.__dict__.pop("_rtorch_segment", None)


def reduce_tensor(tensor: rtorch.Tensor) -> tuple:
    """Pickle ``tensor`` for another process.

    A tensor whose storage is in shared memory (``share_memory_()``) travels as its
    storage's file descriptor: the receiver maps the same pages, so writes on either side
    are seen by both (what Hogwild training relies on). Any other tensor is copied into a
    fresh named segment that the receiver maps and unlinks.
    """
    if tensor.requires_grad and not tensor.is_leaf:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, "
            "since autograd does not support crossing process boundaries.  "
            "If you just want to transfer the data, call detach() on the tensor "
            "before serializing (e.g., putting it on the queue)."
        )
    if tensor.is_shared():
        shared = _reduce_shared(tensor)
        if shared is not None:
            return shared
    segment = _take_own_segment(tensor)
    if segment is not None and not tensor.requires_grad:
        name, nbytes = segment
    else:
        name, nbytes = _copy_to_segment(tensor)
    args = (name, nbytes, _dtype_name(tensor.dtype), tuple(tensor.shape), tensor.requires_grad)
    return rebuild_tensor, args


def rebuild_parameter(tensor: rtorch.Tensor, requires_grad: bool) -> rtorch.Tensor:
    from rtorch.nn.parameter import Parameter

    return Parameter(tensor.detach(), requires_grad)


def reduce_parameter(param: rtorch.Tensor) -> tuple:
    # The detached data is a plain tensor, which the pickler sends through reduce_tensor.
    return rebuild_parameter, (param.detach(), param.requires_grad)


def init_reductions() -> None:
    """Register the tensor reducers with multiprocessing's pickler (idempotent, cheap).

    The Parameter reducer is registered only once rtorch.nn has been imported (importing
    nn here would slow down every ``import rtorch.multiprocessing``); the DataLoader and
    ``spawn`` call this again before they pickle anything.
    """
    ForkingPickler.register(rtorch.Tensor, reduce_tensor)
    parameter_module = sys.modules.get("rtorch.nn.parameter")
    parameter = getattr(parameter_module, "Parameter", None)
    if parameter is not None:
        ForkingPickler.register(parameter, reduce_parameter)
