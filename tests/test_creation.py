"""Creation functions: arange, range, linspace, logspace, eye, empty_strided; dtype
inference, keywords and errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import ALL_DTYPES, FLOAT_DTYPES, assert_np_close, to_np, with_threads

import rtorch


@pytest.mark.parametrize(
    "args,dtype",
    [
        ((5,), rtorch.int64),
        ((5.0,), rtorch.float32),
        ((1, 7, 2), rtorch.int64),
        ((0, 1, 0.25), rtorch.float32),
        ((1.5, 4), rtorch.float32),
        ((10, 0, -3), rtorch.int64),
        ((0, -1, -0.3), rtorch.float32),
    ],
)
def test_arange_values_and_dtype(args, dtype):
    t = rtorch.arange(*args)
    assert t.dtype == dtype
    assert_np_close(t, np.arange(*args))


def test_arange_default_dtype_follows_set_default_dtype():
    old = rtorch.get_default_dtype()
    try:
        rtorch.set_default_dtype(rtorch.float64)
        assert rtorch.arange(0.5, 2).dtype == rtorch.float64
        assert rtorch.arange(3).dtype == rtorch.int64
    finally:
        rtorch.set_default_dtype(old)


def test_arange_length_and_keywords():
    assert rtorch.arange(0, 1, 0.1).shape == (10,)
    assert rtorch.arange(0, 10, 3).tolist() == [0, 3, 6, 9]
    assert rtorch.arange(end=4).tolist() == [0, 1, 2, 3]
    assert rtorch.arange(2, end=4).tolist() == [2, 3]
    assert rtorch.arange(start=1, end=7, step=3).tolist() == [1, 4]
    assert rtorch.arange(0).shape == (0,)
    t = rtorch.arange(4, dtype=rtorch.float64, requires_grad=True, device="cpu")
    assert t.dtype == rtorch.float64 and t.requires_grad
    assert rtorch.arange(0.5, 5, 1.5, dtype=rtorch.int64).tolist() == [0, 1, 2]
    assert rtorch.arange(rtorch.tensor(3)).tolist() == [0, 1, 2]


@pytest.mark.parametrize("dtype", ALL_DTYPES[:-1])
def test_arange_dtypes(dtype):
    t = rtorch.arange(0, 6, 2, dtype=dtype)
    assert t.dtype == dtype
    assert to_np(t).tolist() == [0, 2, 4]


@pytest.mark.parametrize("threads", [1, 2])
def test_long_creations_are_exact_on_any_thread_count(threads):
    """arange, linspace and eye above the parallel grain (chunks over the threads): each
    value from its index alone, as numpy computes it in float64 and rounds once."""
    n = 100_003
    i = np.arange(n, dtype=np.float64)

    def build():
        return (
            rtorch.arange(n),
            rtorch.arange(-7, 3 * n - 7, 3),
            rtorch.arange(n, dtype=rtorch.float32),
            rtorch.arange(0.5, n * 0.25 + 0.5, 0.25),
            rtorch.arange(1.0, -1e4, -0.1, dtype=rtorch.float64),
            rtorch.linspace(-3.0, 5.0, n),
            rtorch.eye(400, 300),
        )

    got = with_threads(threads, build)
    assert got[0].numpy().tolist() == list(range(n))
    assert got[1].numpy().tolist() == list(range(-7, 3 * n - 7, 3))
    np.testing.assert_array_equal(got[2].numpy(), i.astype(np.float32))
    np.testing.assert_array_equal(got[3].numpy(), (0.5 + i * 0.25).astype(np.float32))
    m = int(np.ceil((-1e4 - 1.0) / -0.1))  # PyTorch's (and numpy's) length
    assert got[4].dtype == rtorch.float64 and got[4].shape == (m,)
    np.testing.assert_array_equal(got[4].numpy(), 1.0 + np.arange(m, dtype=np.float64) * -0.1)
    np.testing.assert_allclose(got[5].numpy(), np.linspace(-3.0, 5.0, n), rtol=1.3e-6, atol=1e-5)
    np.testing.assert_array_equal(got[6].numpy(), np.eye(400, 300, dtype=np.float32))


def test_arange_errors():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        rtorch.arange(0, 10, 0)
    with pytest.raises(
        RuntimeError, match="upper bound and lower bound inconsistent with step sign"
    ):
        rtorch.arange(10, 0, 1)
    with pytest.raises(
        RuntimeError, match="upper bound and lower bound inconsistent with step sign"
    ):
        rtorch.arange(0, 10, -1)
    with pytest.raises(TypeError):
        rtorch.arange("a")


def test_range_inclusive_and_deprecated():
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        t = rtorch.range(0, 1, 0.25)
    assert any("deprecated" in str(x.message) for x in w)
    assert t.dtype == rtorch.float32
    assert_np_close(t, [0, 0.25, 0.5, 0.75, 1.0])


@pytest.mark.parametrize(
    "start,end,steps", [(0, 1, 5), (-2.5, 3, 7), (3, -1, 4), (1, 1, 1), (0, 1, 0), (0, 10, 2)]
)
def test_linspace(start, end, steps):
    t = rtorch.linspace(start, end, steps)
    assert t.dtype == rtorch.float32
    assert_np_close(t, np.linspace(start, end, steps), rtol=1e-6, atol=1e-6)
    d = rtorch.linspace(start, end, steps, dtype=rtorch.float64)
    assert_np_close(d, np.linspace(start, end, steps), rtol=1e-12, atol=1e-12)


def test_linspace_int_dtype_and_errors():
    assert rtorch.linspace(0, 10, 4, dtype=rtorch.int64).tolist() == [0, 3, 6, 10]
    assert rtorch.linspace(0, 1, 3).tolist()[-1] == 1.0  # end is exact
    with pytest.raises(RuntimeError, match="number of steps must be non-negative"):
        rtorch.linspace(0, 10, -1)
    with pytest.raises(TypeError):
        rtorch.linspace(0, 10)


def test_logspace():
    assert_np_close(rtorch.logspace(0, 2, 3), [1, 10, 100])
    assert_np_close(rtorch.logspace(0, 2, 3, base=2), [1, 2, 4])
    assert_np_close(rtorch.logspace(-1, 1, 5, dtype=rtorch.float64), np.logspace(-1, 1, 5))
    assert rtorch.logspace(0, 1, 0).shape == (0,)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [rtorch.int64, rtorch.bool])
def test_eye(dtype):
    assert_np_close(rtorch.eye(3, dtype=dtype), np.eye(3))
    e = rtorch.eye(2, 4, dtype=dtype)
    assert e.dtype == dtype
    assert_np_close(e, np.eye(2, 4))
    assert rtorch.eye(0).shape == (0, 0)
    assert rtorch.eye(3).dtype == rtorch.float32
    assert rtorch.eye(2, requires_grad=True).requires_grad


def test_eye_errors():
    with pytest.raises(RuntimeError, match="n must be greater or equal to 0, got -1"):
        rtorch.eye(-1)
    with pytest.raises(RuntimeError, match="m must be greater or equal to 0, got -2"):
        rtorch.eye(2, -2)


def test_empty_strided():
    t = rtorch.empty_strided((2, 3), (1, 2))
    assert t.shape == (2, 3) and t.stride() == (1, 2)
    assert not t.is_contiguous()
    assert rtorch.empty_strided((2, 0), (1, 1), dtype=rtorch.int32).dtype == rtorch.int32


def test_device_keyword_errors():
    with pytest.raises(RuntimeError):
        rtorch.arange(3, device="cuda")
