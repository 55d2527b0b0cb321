"""`Tensor.view(dtype)`: the same bytes read as another dtype (numpy's `ndarray.view`
is the reference), PyTorch's layout rules and errors."""

import numpy as np
import pytest

import rtorch

RNG = np.random.default_rng(7)

SAME_SIZE = [
    (np.float32, rtorch.int32, np.int32),
    (np.int32, rtorch.float32, np.float32),
    (np.float64, rtorch.int64, np.int64),
    (np.int16, rtorch.float16, np.float16),
    (np.uint8, rtorch.int8, np.int8),
    (np.bool_, rtorch.uint8, np.uint8),
]
OTHER_SIZE = [
    (np.float32, rtorch.float64, np.float64),
    (np.float32, rtorch.int16, np.int16),
    (np.float64, rtorch.uint8, np.uint8),
    (np.int8, rtorch.int32, np.int32),
    (np.float16, rtorch.float32, np.float32),
]


def _array(dtype, shape):
    if dtype is np.bool_:
        return RNG.integers(0, 2, shape).astype(np.bool_)
    return (RNG.standard_normal(shape) * 100).astype(dtype)


@pytest.mark.parametrize("src,dst,np_dst", SAME_SIZE + OTHER_SIZE)
def test_view_reads_the_same_bytes(src, dst, np_dst):
    a = _array(src, (3, 8))
    t = rtorch.from_numpy(a.copy())
    v = t.view(dst)
    want = a.view(np_dst)
    assert v.dtype == dst and tuple(v.shape) == want.shape
    np.testing.assert_array_equal(v.numpy().view(np.uint8), want.view(np.uint8))
    assert v.data_ptr() == t.data_ptr()


@pytest.mark.parametrize("src,dst,np_dst", OTHER_SIZE)
def test_view_of_a_strided_tensor_with_a_contiguous_last_dim(src, dst, np_dst):
    a = _array(src, (4, 16))
    t = rtorch.from_numpy(a.copy())[1:, 8:]
    want = a[1:, 8:].view(np_dst)
    v = t.view(dst)
    assert tuple(v.shape) == want.shape
    ratio = np.dtype(src).itemsize / np.dtype(np_dst).itemsize
    assert v.stride(0) == int(t.stride(0) * ratio) and v.stride(1) == 1
    np.testing.assert_array_equal(v.numpy().view(np.uint8), want.view(np.uint8))


def test_view_shares_memory_and_has_no_history():
    x = rtorch.ones(4, requires_grad=True)
    for d in (rtorch.float32, rtorch.int32, rtorch.float16):
        v = x.view(d)
        assert not v.requires_grad and v.grad_fn is None and v is not x
    t = rtorch.zeros(2, 2)
    t.view(rtorch.int32)[0, 1] = 0x3F800000  # the bits of 1.0f
    assert t.tolist() == [[0.0, 1.0], [0.0, 0.0]]
    h = rtorch.tensor([1.0, 2.0]).view(rtorch.bfloat16)
    assert h.shape == (4,) and h.dtype == rtorch.bfloat16
    # bfloat16 is the high half of a float32 (little-endian): 1.0f -> 0x3F80.
    assert h.view(rtorch.int16).tolist()[1] == 0x3F80
    m = rtorch.empty(2, 4, device="meta").view(rtorch.float64)
    assert m.is_meta and m.shape == (2, 2)


def test_view_errors_are_pytorchs():
    a = rtorch.arange(6, dtype=rtorch.float32).view(2, 3)
    cases = [
        (lambda: a.view(rtorch.float64), "self.size(-1) must be divisible by 2 to view Float as Double (different element sizes), but got 3"),
        (lambda: a.t().view(rtorch.float16), "self.stride(-1) must be 1 to view Float as Half (different element sizes), but got 3"),
        (lambda: rtorch.tensor(1.0).view(rtorch.float16), "self.dim() cannot be 0 to view Float as Half (different element sizes)"),
        (lambda: rtorch.arange(8, dtype=rtorch.int8)[1:7].view(rtorch.int16), "self.storage_offset() must be divisible by 2 to view Char as Short (different element sizes), but got 1"),
        (lambda: rtorch.arange(8.0).view(4, 2)[:, :1].view(rtorch.int64), "self.size(-1) must be divisible by 2 to view Float as Long (different element sizes), but got 1"),
    ]  # fmt: skip
    for f, msg in cases:
        with pytest.raises(RuntimeError) as e:
            f()
        assert str(e.value) == msg
    assert rtorch.tensor(1.0).view(rtorch.int32).item() == 0x3F800000
    with pytest.raises(NotImplementedError, match="bool"):
        rtorch.tensor([2], dtype=rtorch.uint8).view(rtorch.bool)
