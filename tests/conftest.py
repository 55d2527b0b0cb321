"""Shared test helpers: numpy references and optional PyTorch parity."""

from __future__ import annotations

import numpy as np
import pytest

import rtorch

# Tolerances of PyTorch's assert_close by dtype.
TOL = {
    rtorch.float32: (1.3e-6, 1e-5),
    rtorch.float64: (1e-7, 1e-7),
    rtorch.float16: (1e-3, 1e-5),
    rtorch.bfloat16: (1.6e-2, 1e-5),
}

FLOAT_DTYPES = [rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16]
INT_DTYPES = [rtorch.uint8, rtorch.int8, rtorch.int16, rtorch.int32, rtorch.int64]
ALL_DTYPES = FLOAT_DTYPES + INT_DTYPES + [rtorch.bool]


def with_threads(n: int, fn):
    """`fn()` run with `n` threads, the previous count restored after."""
    old = rtorch.get_num_threads()
    rtorch.set_num_threads(n)
    try:
        return fn()
    finally:
        rtorch.set_num_threads(old)


def to_np(t: rtorch.Tensor) -> np.ndarray:
    """The tensor's values as a float64 (or integer/bool) numpy array."""
    if t.dtype == rtorch.bfloat16:
        t = t.float()
    # reshape keeps empty shapes like (0, 4), which tolist() alone loses.
    return np.array(t.tolist()).reshape(tuple(t.shape))


def assert_np_close(t: rtorch.Tensor, expected, rtol=None, atol=None) -> None:
    """Compares a tensor with a numpy reference using the dtype's tolerances."""
    r, a = TOL.get(t.dtype, (0.0, 0.0))
    rtol = r if rtol is None else rtol
    atol = a if atol is None else atol
    got = to_np(t)
    expected = np.asarray(expected)
    assert got.shape == expected.shape, f"shape {got.shape} != {expected.shape}"
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


@pytest.fixture
def torch_ref():
    """Real PyTorch for parity tests; skips where it is not installed."""
    return pytest.importorskip("torch")
