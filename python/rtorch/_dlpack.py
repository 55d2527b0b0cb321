"""DLPack exchange (``Tensor.__dlpack__``, ``__dlpack_device__``, ``torch.from_dlpack``)
for CPU tensors, through numpy's DLPack support: a tensor is exported as the numpy array
that shares its memory (the capsule keeps the array, and so the tensor, alive), and a
capsule is imported as the numpy array numpy builds over it, wrapped by ``from_numpy``.
Either way no element is copied.

numpy has no bfloat16: a bfloat16 tensor travels as int16 with the capsule's type code
rewritten (``kDLBfloat`` on export, ``kDLInt`` on import), which is the same 16 bits.
Tensors on other devices are refused with ``BufferError`` (rtorch's CUDA tensors do not
take part in DLPack yet)."""

from __future__ import annotations

import enum
import functools
import types
import warnings
from typing import Any

from . import _C
from ._C import Tensor


class DLDeviceType(enum.IntEnum):
    """DLPack's device codes (``torch.utils.dlpack.DLDeviceType``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17


_KDL_INT, _KDL_BFLOAT = 0, 4
_READ_ONLY_FLAG = 1
_CAPSULE_NAMES = (b"dltensor", b"dltensor_versioned")


@functools.cache
def _c() -> Any:
    """The C structs of dlpack.h (v1.x), as far as this module reads or patches them, and
    the capsule API; built on first use so that ``import rtorch`` does not load ctypes."""
    import ctypes

    class DLDevice(ctypes.Structure):
        _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]

    class DLDataType(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]

    class DLTensor(ctypes.Structure):
        _fields_ = [
            ("data", ctypes.c_void_p),
            ("device", DLDevice),
            ("ndim", ctypes.c_int32),
            ("dtype", DLDataType),
            ("shape", ctypes.POINTER(ctypes.c_int64)),
            ("strides", ctypes.POINTER(ctypes.c_int64)),
            ("byte_offset", ctypes.c_uint64),
        ]

    class DLManagedTensor(ctypes.Structure):
        _fields_ = [
            ("dl_tensor", DLTensor),
            ("manager_ctx", ctypes.c_void_p),
            ("deleter", ctypes.c_void_p),
        ]

    class DLManagedTensorVersioned(ctypes.Structure):
        _fields_ = [
            ("major", ctypes.c_uint32),
            ("minor", ctypes.c_uint32),
            ("manager_ctx", ctypes.c_void_p),
            ("deleter", ctypes.c_void_p),
            ("flags", ctypes.c_uint64),
            ("dl_tensor", DLTensor),
        ]

    api = ctypes.pythonapi
    api.PyCapsule_IsValid.restype = ctypes.c_int
    api.PyCapsule_IsValid.argtypes = [ctypes.py_object, ctypes.c_char_p]
    api.PyCapsule_GetPointer.restype = ctypes.c_void_p
    api.PyCapsule_GetPointer.argtypes = [ctypes.py_object, ctypes.c_char_p]
    return types.SimpleNamespace(
        api=api, managed=DLManagedTensor, versioned=DLManagedTensorVersioned
    )


def _capsule_tensor(capsule: Any) -> tuple[Any, Any] | None:
    """The DLTensor inside an unconsumed DLPack capsule (and the managed struct holding
    it), or None when ``capsule`` is not one."""
    c = _c()
    for name in _CAPSULE_NAMES:
        if c.api.PyCapsule_IsValid(capsule, name):
            ptr = c.api.PyCapsule_GetPointer(capsule, name)
            struct = c.managed if name == b"dltensor" else c.versioned
            managed = struct.from_address(ptr)
            return managed.dl_tensor, managed
    return None


def _export_checks(tensor: Tensor, dl_device: Any) -> None:
    if tensor.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if tensor.device.type != "cpu":
        raise BufferError(
            f"rtorch exports only CPU tensors through DLPack, got a tensor on {tensor.device}"
        )
    if dl_device is not None and tuple(int(v) for v in dl_device) != (DLDeviceType.kDLCPU, 0):
        raise BufferError(f"Unsupported device {tuple(dl_device)} requested for a CPU tensor")


def __dlpack__(
    self: Tensor,
    *,
    stream: Any = -1,
    max_version: tuple[int, int] | None = None,
    dl_device: Any = None,
    copy: bool | None = None,
    read_only: bool = False,
) -> Any:
    """A DLPack capsule for this CPU tensor, sharing its memory (a copy when ``copy``).

    Args:
        stream: ignored for CPU tensors (DLPack's protocol argument).
        max_version: the highest DLPack version the consumer understands; (1, 0) or
            above gives a versioned capsule (``"dltensor_versioned"``).
        dl_device: the device the consumer wants; only ``(kDLCPU, 0)``.
        copy: True exports a copy of the tensor's values.
        read_only: mark a versioned capsule read-only.
    """
    _export_checks(self, dl_device)
    tensor = self.clone() if copy else self
    bf16 = tensor.dtype == _C.bfloat16
    if bf16:
        tensor = tensor.view(_C.int16)
    array = tensor.numpy()
    versioned = max_version is not None and tuple(max_version) >= (1, 0)
    capsule = array.__dlpack__(max_version=(1, 0)) if versioned else array.__dlpack__()
    if bf16 or (read_only and versioned):
        found = _capsule_tensor(capsule)
        if found is None:
            raise BufferError("numpy returned an invalid DLPack capsule")
        dl_tensor, managed = found
        if bf16:
            dl_tensor.dtype.code = _KDL_BFLOAT
        if read_only and versioned:
            managed.flags |= _READ_ONLY_FLAG
    return capsule


def __dlpack_device__(self: Tensor) -> tuple[DLDeviceType, int]:
    """``(device type, device index)`` in DLPack's codes."""
    if self.device.type == "cuda":
        return DLDeviceType.kDLCUDA, int(self.device.index or 0)
    return DLDeviceType.kDLCPU, 0


class _CapsuleHolder:
    """Presents an already-made CPU capsule to numpy's ``from_dlpack``."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **_: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return DLDeviceType.kDLCPU, 0


def _from_capsule(capsule: Any) -> Tensor:
    import numpy as np

    found = _capsule_tensor(capsule)
    if found is None:
        raise RuntimeError(
            "from_dlpack received an invalid capsule. Note that DLTensor capsules can be "
            "consumed only once, so you might have already constructed a tensor from it once."
        )
    dl_tensor, _ = found
    if dl_tensor.device.device_type != DLDeviceType.kDLCPU:
        raise BufferError(
            "rtorch imports only CPU tensors through DLPack, got device type "
            f"{dl_tensor.device.device_type}"
        )
    bf16 = dl_tensor.dtype.code == _KDL_BFLOAT and dl_tensor.dtype.bits == 16
    if bf16:
        dl_tensor.dtype.code = _KDL_INT
    array = np.from_dlpack(_CapsuleHolder(capsule))
    with warnings.catch_warnings():
        # A producer's read-only flag makes numpy's array read-only, which from_numpy
        # warns about; DLPack shares memory under the producer's terms anyway.
        warnings.simplefilter("ignore", UserWarning)
        tensor = _C.from_numpy(array)
    return tensor.view(_C.bfloat16) if bf16 else tensor


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor``: an object with ``__dlpack__`` (a
    numpy array, another library's CPU tensor) or a DLPack capsule (consumed).

    Args:
        ext_tensor: the object or capsule to import.
        device: where the result lives; only the CPU.
        copy: True returns a copy instead of sharing memory.
    """
    if device is not None and _C.device(device).type != "cpu":
        raise BufferError(f"rtorch imports DLPack tensors to the CPU only, got device={device}")
    if isinstance(ext_tensor, Tensor):
        _export_checks(ext_tensor, None)
        result = ext_tensor.detach()
    elif hasattr(ext_tensor, "__dlpack__"):
        kind, _ = ext_tensor.__dlpack_device__()
        if int(kind) != DLDeviceType.kDLCPU:
            raise BufferError(
                f"rtorch imports only CPU tensors through DLPack, got device type {int(kind)}"
            )
        try:
            capsule = ext_tensor.__dlpack__(stream=None, max_version=(1, 0))
        except TypeError:
            capsule = ext_tensor.__dlpack__()
        result = _from_capsule(capsule)
    else:
        result = _from_capsule(ext_tensor)
    return result.clone() if copy else result


def to_dlpack(tensor: Tensor) -> Any:
    """``torch.utils.dlpack.to_dlpack``: an unversioned DLPack capsule of ``tensor``."""
    return __dlpack__(tensor)


FUNCTIONS: dict[str, Any] = {"from_dlpack": from_dlpack, "to_dlpack": to_dlpack}
METHODS: dict[str, Any] = {"__dlpack__": __dlpack__, "__dlpack_device__": __dlpack_device__}
