"""DLPack exchange (python/rtorch/_dlpack.py): memory shared both ways with numpy (no
copy: writes show through), strides, every dtype including bfloat16's rewritten type
code, versioned capsules and their read-only flag, lifetimes, PyTorch's errors, and
exchange with PyTorch itself where it is installed."""

from __future__ import annotations

import ctypes
import gc

import numpy as np
import pytest

import rtorch
from rtorch.utils.dlpack import DLDeviceType, from_dlpack, to_dlpack

_NUMPY_DTYPES = [
    (rtorch.bool, np.bool_),
    (rtorch.uint8, np.uint8),
    (rtorch.int8, np.int8),
    (rtorch.int16, np.int16),
    (rtorch.int32, np.int32),
    (rtorch.int64, np.int64),
    (rtorch.float16, np.float16),
    (rtorch.float32, np.float32),
    (rtorch.float64, np.float64),
]


@pytest.mark.parametrize(("dtype", "np_dtype"), _NUMPY_DTYPES)
def test_numpy_reads_and_writes_the_tensor_memory(dtype, np_dtype) -> None:
    t = (rtorch.arange(12) % 3).to(dtype).reshape(3, 4)
    a = np.from_dlpack(t)
    assert a.dtype == np_dtype and a.shape == (3, 4)
    np.testing.assert_array_equal(a, (np.arange(12) % 3).astype(np_dtype).reshape(3, 4))
    a[0, 0] = 1
    assert t[0, 0].item() == 1
    # Strided views travel with their strides (bytes in numpy).
    at = np.from_dlpack(t.T)
    assert at.strides == (a.itemsize, 4 * a.itemsize)
    at[3, 2] = 0
    assert t[2, 3].item() == 0


@pytest.mark.parametrize(("dtype", "np_dtype"), _NUMPY_DTYPES)
def test_from_dlpack_shares_numpy_memory(dtype, np_dtype) -> None:
    a = (np.arange(10) % 2).astype(np_dtype)
    t = rtorch.from_dlpack(a)
    assert t.dtype == dtype and tuple(t.shape) == (10,)
    assert t.tolist() == a.tolist()
    a[3] = 0
    assert t[3].item() == 0
    # A strided numpy view: rtorch strides in elements.
    m = np.zeros((4, 6), dtype=np_dtype)
    v = rtorch.from_dlpack(m[:, ::3])
    assert v.stride() == (6, 3) and tuple(v.shape) == (4, 2)


def test_bfloat16_round_trip_keeps_bits() -> None:
    t = rtorch.tensor([1.5, -2.0, 3.0e38, 1.0e-40, float("inf")], dtype=rtorch.bfloat16)
    back = rtorch.from_dlpack(t.__dlpack__())
    assert back.dtype == rtorch.bfloat16
    assert back.view(rtorch.int16).tolist() == t.view(rtorch.int16).tolist()
    # The capsule names DLPack's bfloat16 (code 4, 16 bits).
    cap = t.__dlpack__()
    ptr = ctypes.pythonapi.PyCapsule_GetPointer
    ptr.restype, ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    base = ptr(cap, b"dltensor")
    # DLTensor: data (8), device (8), ndim (4), then the dtype's code and bits bytes.
    code, bits = (
        ctypes.c_uint8.from_address(base + 20).value,
        ctypes.c_uint8.from_address(base + 21).value,
    )
    assert (code, bits) == (4, 16)
    del cap  # an unconsumed capsule frees itself


def test_versioned_capsule_and_read_only_flag() -> None:
    t = rtorch.arange(4.0)
    assert str(t.__dlpack__()).startswith('<capsule object "dltensor"')
    cap = t.__dlpack__(max_version=(1, 0), read_only=True)
    assert str(cap).startswith('<capsule object "dltensor_versioned"')
    ptr = ctypes.pythonapi.PyCapsule_GetPointer
    ptr.restype, ptr.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    base = ptr(cap, b"dltensor_versioned")
    # DLManagedTensorVersioned: version (8), manager_ctx (8), deleter (8), flags (8).
    assert ctypes.c_uint64.from_address(base + 24).value & 1 == 1
    assert rtorch.from_dlpack(cap).tolist() == [0.0, 1.0, 2.0, 3.0]


def test_device_copy_and_empty_shapes() -> None:
    t = rtorch.ones(2, 3)
    assert t.__dlpack_device__() == (DLDeviceType.kDLCPU, 0)
    c = rtorch.from_dlpack(t.__dlpack__(copy=True))
    c.add_(1)
    assert t.sum().item() == 6.0
    shared = rtorch.from_dlpack(t)
    shared.add_(1)
    assert t.sum().item() == 12.0
    copied = rtorch.from_dlpack(np.ones(3), copy=True)
    assert copied.tolist() == [1.0, 1.0, 1.0]
    assert tuple(rtorch.from_dlpack(np.ones((2, 0))).shape) == (2, 0)
    assert rtorch.from_dlpack(np.array(3.5)).item() == 3.5
    assert rtorch.from_dlpack(to_dlpack(rtorch.zeros(0))).numel() == 0


def test_lifetimes() -> None:
    t = rtorch.arange(1000.0)
    a = np.from_dlpack(t)
    del t
    gc.collect()
    assert a[999] == 999.0
    arr = np.arange(1000.0)
    r = rtorch.from_dlpack(arr)
    del arr
    gc.collect()
    assert r[999].item() == 999.0


def test_errors_as_pytorch() -> None:
    with pytest.raises(BufferError, match="Can't export tensors that require gradient"):
        rtorch.ones(2, requires_grad=True).__dlpack__()
    with pytest.raises(BufferError, match="Unsupported device"):
        rtorch.ones(2).__dlpack__(dl_device=(2, 0))
    cap = to_dlpack(rtorch.ones(2))
    assert from_dlpack(cap).tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="can be consumed only once"):
        from_dlpack(cap)
    with pytest.raises(RuntimeError, match="invalid capsule"):
        rtorch.from_dlpack(5)
    with pytest.raises(BufferError):
        rtorch.from_dlpack(np.ones(2), device="meta")


def test_exchange_with_torch(torch_ref) -> None:
    torch = torch_ref
    for dtype in (
        "bool",
        "uint8",
        "int8",
        "int16",
        "int32",
        "int64",
        "float16",
        "bfloat16",
        "float32",
        "float64",
    ):
        src = (torch.arange(12) % 3).to(getattr(torch, dtype)).reshape(3, 4).T
        got = rtorch.from_dlpack(src)
        assert str(got.dtype) == str(src.dtype) and got.stride() == src.stride()
        assert got.float().tolist() == src.float().tolist()
        mine = (rtorch.arange(12) % 3).to(getattr(rtorch, dtype)).reshape(3, 4)[:, 1:]
        theirs = torch.from_dlpack(mine)
        assert str(theirs.dtype) == str(mine.dtype) and theirs.stride() == mine.stride()
        assert theirs.float().tolist() == mine.float().tolist()
    shared = torch.from_dlpack(rtorch.zeros(3))
    x = rtorch.from_dlpack(shared)
    x.fill_(2.0)
    assert shared.tolist() == [2.0, 2.0, 2.0]
    legacy = rtorch.from_dlpack(torch.utils.dlpack.to_dlpack(torch.ones(2)))
    assert legacy.tolist() == [1.0, 1.0]
