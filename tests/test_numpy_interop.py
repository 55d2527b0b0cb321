"""numpy interop: from_numpy / numpy() share memory, dtype mapping, strides, errors.

Behaviour checked against PyTorch 2.x.
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys

import numpy as np
import pytest

import rtorch

PAIRS = [
    (np.bool_, rtorch.bool),
    (np.uint8, rtorch.uint8),
    (np.int8, rtorch.int8),
    (np.int16, rtorch.int16),
    (np.int32, rtorch.int32),
    (np.int64, rtorch.int64),
    (np.float16, rtorch.float16),
    (np.float32, rtorch.float32),
    (np.float64, rtorch.float64),
]


@pytest.mark.parametrize("np_dtype,dtype", PAIRS, ids=[p[0].__name__ for p in PAIRS])
def test_dtype_mapping_both_ways(np_dtype, dtype) -> None:
    a = np.array([1, 0, 1], dtype=np_dtype)
    t = rtorch.from_numpy(a)
    assert t.dtype is dtype
    assert t.tolist() == a.tolist()
    back = rtorch.ones(3, dtype=dtype).numpy()
    assert back.dtype == np.dtype(np_dtype)
    assert rtorch.tensor(a).dtype is dtype
    assert np.asarray(rtorch.zeros(2, dtype=dtype)).dtype == np.dtype(np_dtype)


def test_from_numpy_shares_memory_both_ways() -> None:
    a = np.arange(4.0)
    t = rtorch.from_numpy(a)
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]
    t.add_(1)
    assert a.tolist() == [10.0, 2.0, 3.0, 4.0]
    t.mul_(2)
    assert a.tolist() == [20.0, 4.0, 6.0, 8.0]


def test_numpy_shares_memory_both_ways() -> None:
    x = rtorch.zeros(3)
    n = x.numpy()
    n[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0]
    x.add_(1)
    assert n.tolist() == [1.0, 6.0, 1.0]
    assert np.shares_memory(n, x.numpy())


def test_numpy_of_views_keeps_strides() -> None:
    x = rtorch.tensor([[1.0, 2.0], [3.0, 4.0]])
    nt = x.t().numpy()
    assert nt.strides == (4, 8)
    assert nt.tolist() == [[1.0, 3.0], [2.0, 4.0]]
    nt[0, 1] = 30.0
    assert x.tolist() == [[1.0, 2.0], [30.0, 4.0]]
    row = x.select(0, 1).numpy()
    assert row.tolist() == [30.0, 4.0]
    col = x.narrow(1, 1, 1).numpy()
    assert col.shape == (2, 1) and col.tolist() == [[2.0], [4.0]]


def test_zero_dim_and_empty() -> None:
    t = rtorch.from_numpy(np.array(3.5))
    assert t.shape == () and t.item() == 3.5
    assert rtorch.tensor(3.5).numpy().shape == ()
    e = rtorch.from_numpy(np.zeros((0, 3)))
    assert e.shape == (0, 3) and e.dtype is rtorch.float64
    assert rtorch.zeros(0, 3).numpy().shape == (0, 3)


def test_bfloat16_numpy_raises_type_error() -> None:
    with pytest.raises(TypeError, match="Got unsupported ScalarType BFloat16"):
        rtorch.zeros(2, dtype=rtorch.bfloat16).numpy()


def test_requires_grad_numpy_raises() -> None:
    x = rtorch.zeros(2, requires_grad=True)
    with pytest.raises(
        RuntimeError,
        match=r"Can't call numpy\(\) on Tensor that requires grad\. "
        r"Use tensor\.detach\(\)\.numpy\(\) instead\.",
    ):
        x.numpy()
    assert x.detach().numpy().tolist() == [0.0, 0.0]
    assert x.numpy(force=True).tolist() == [0.0, 0.0]


def test_noncontiguous_numpy_arrays() -> None:
    a = np.arange(10.0)[::2]
    t = rtorch.from_numpy(a)
    assert t.stride() == (2,) and not t.is_contiguous()
    assert t.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]
    t.add_(1)  # writes through to the strided base
    assert a.tolist() == [1.0, 3.0, 5.0, 7.0, 9.0]
    b = np.arange(6.0).reshape(2, 3).T
    tb = rtorch.from_numpy(b)
    assert tb.stride() == (1, 3) and tb.tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    tf = rtorch.from_numpy(f)
    assert tf.stride() == (1, 2) and tf.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    assert (tf + 1).tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]


def test_negative_strides_raise_value_error() -> None:
    msg = "At least one stride in the given numpy array is negative"
    with pytest.raises(ValueError, match=msg):
        rtorch.from_numpy(np.arange(4.0)[::-1])
    with pytest.raises(ValueError, match=msg):
        rtorch.tensor(np.arange(6.0)[::-2])


def test_unsupported_inputs() -> None:
    # PyTorch names the array's scalar type as numpy spells it.
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type numpy\.complex64\. "):
        rtorch.from_numpy(np.zeros(2, dtype=np.complex64))
    with pytest.raises(TypeError, match=r"can't convert np.ndarray of type numpy\.object_\. "):
        rtorch.from_numpy(np.zeros(2, dtype=object))
    with pytest.raises(TypeError, match=r"of type numpy\.uint16\. "):
        rtorch.tensor(np.zeros(2, dtype=np.uint16))
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        rtorch.from_numpy([1, 2])
    with pytest.raises(ValueError, match="byte order different from the native byte order"):
        rtorch.from_numpy(np.zeros(2, dtype=">f4"))


def test_tensor_copies_as_tensor_shares() -> None:
    a = np.zeros(2)
    copied = rtorch.tensor(a)
    shared = rtorch.as_tensor(a)
    converted = rtorch.as_tensor(a, dtype=rtorch.float32)
    a[0] = 9.0
    assert copied.tolist() == [0.0, 0.0]
    assert shared.tolist() == [9.0, 0.0] and shared.dtype is rtorch.float64
    assert converted.tolist() == [0.0, 0.0] and converted.dtype is rtorch.float32


def test_np_asarray_and_array_dtype() -> None:
    assert np.asarray(rtorch.tensor([1.0, 2.0])).dtype == np.float32
    assert np.asarray(rtorch.tensor([1, 2])).tolist() == [1, 2]
    assert np.asarray(rtorch.tensor([1, 2]), dtype=np.float64).tolist() == [1.0, 2.0]
    assert rtorch.tensor([1.5], dtype=rtorch.float16).numpy().tolist() == [1.5]
    assert rtorch.tensor([True, False]).numpy().dtype == np.bool_


def test_numpy_scalars_in_arithmetic() -> None:
    assert (rtorch.tensor([1.0]) * np.float64(2.0)).dtype is rtorch.float32
    assert rtorch.tensor(np.array([1, 2], dtype=np.int32)).dtype is rtorch.int32
    assert rtorch.tensor(np.array([True])).dtype is rtorch.bool


def test_readonly_array_is_readable() -> None:
    buf = np.frombuffer(b"\x00\x00\x80\x3f", dtype=np.float32)
    assert rtorch.from_numpy(buf).tolist() == [1.0]


class _Sub(np.ndarray):
    pass


def test_ndarray_subclasses_are_arrays(tmp_path) -> None:
    # PyTorch accepts any ndarray (PyArray_Check): subclasses and np.memmap share too.
    a = np.arange(3.0).view(_Sub)
    t = rtorch.from_numpy(a)
    t[0] = 5.0
    assert a.tolist() == [5.0, 1.0, 2.0]
    assert rtorch.tensor(a).tolist() == [5.0, 1.0, 2.0]
    assert rtorch.as_tensor(a).dtype is rtorch.float64
    m = np.memmap(tmp_path / "m.bin", dtype=np.float32, mode="w+", shape=(2, 2))
    tm = rtorch.from_numpy(m)
    tm.fill_(2.5)
    assert m.tolist() == [[2.5, 2.5], [2.5, 2.5]]
    assert rtorch.tensor([1.0, 2.0, 3.0])[np.array([0, 2]).view(_Sub)].tolist() == [1.0, 3.0]


def test_numpy_of_expanded_tensor_shares_memory() -> None:
    x = rtorch.tensor([1.0, 2.0])
    n = x.expand(3, 2).numpy()
    assert n.strides == (0, 4) and n.flags.writeable
    assert n.tolist() == [[1.0, 2.0]] * 3
    x.mul_(10)
    assert n.tolist() == [[10.0, 20.0]] * 3


def test_numpy_array_outlives_the_tensor() -> None:
    n = rtorch.arange(6.0).reshape(2, 3)[:, 1:].numpy()
    gc.collect()
    assert n.tolist() == [[1.0, 2.0], [4.0, 5.0]]
    assert n.base is not None


def _run(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_numpy_is_imported_only_when_used() -> None:
    code = (
        "import sys, rtorch\n"
        "x = rtorch.tensor([[1.0, 2.0]]); x[[0]]; x[0, [1]]; rtorch.as_tensor([1, 2])\n"
        "print('numpy' in sys.modules)\n"
        "x.numpy(); print('numpy' in sys.modules)\n"
    )
    assert _run(code).split() == ["False", "True"]


def test_without_numpy_numpy_raises_runtime_error() -> None:
    code = (
        "import sys; sys.modules['numpy'] = None\n"
        "import rtorch\n"
        "x = rtorch.tensor([1.0, 2.0]); assert x[[1]].tolist() == [2.0]\n"
        "try:\n    x.numpy()\nexcept RuntimeError as e:\n    print(e)\n"
    )
    assert _run(code) == "Numpy is not available"
