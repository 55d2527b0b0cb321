"""softmax / log_softmax: values against numpy float64, stability, dtype=, layouts,
empty/0-dim inputs, errors, gradcheck and gradgradcheck."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(3)


def ref_log_softmax(a: np.ndarray, dim: int) -> np.ndarray:
    m = a.max(axis=dim, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=dim, keepdims=True))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_values(dtype, dim):
    t = rtorch.tensor(RNG.standard_normal((3, 5)).tolist(), dtype=dtype)
    a = to_np(t)
    tol = {"rtol": 2e-2, "atol": 2e-2} if dtype in (rtorch.float16, rtorch.bfloat16) else {}
    s = t.softmax(dim)
    assert s.dtype == dtype
    assert_np_close(s, np.exp(ref_log_softmax(a, dim)), **tol)
    assert_np_close(rtorch.log_softmax(t, dim), ref_log_softmax(a, dim), **tol)


def test_stable_dtype_layouts():
    big = rtorch.tensor([1000.0, 1001.0, 1002.0])
    assert_np_close(big.softmax(0), np.exp(ref_log_softmax(np.array([0.0, 1, 2]), 0)))
    assert_np_close(big.log_softmax(0), ref_log_softmax(np.array([0.0, 1, 2]), 0))
    t = rtorch.tensor(RNG.standard_normal((4, 3)).tolist())
    a = to_np(t)
    assert t.softmax(1, dtype=rtorch.float64).dtype == rtorch.float64
    assert rtorch.softmax(rtorch.tensor([1, 2]), 0, dtype=rtorch.float32).dtype == rtorch.float32
    assert_np_close(t.t().softmax(0), np.exp(ref_log_softmax(a.T, 0)))
    assert_np_close(t.t().log_softmax(1), ref_log_softmax(a.T, 1))
    e = t.narrow(0, 0, 1).expand(2, 3)
    assert_np_close(e.softmax(1), np.exp(ref_log_softmax(np.repeat(a[:1], 2, 0), 1)))
    inf = rtorch.tensor([-float("inf"), 0.0])
    assert inf.softmax(0).tolist() == [0.0, 1.0]


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_non_finite_rows_are_nan_as_in_pytorch(fn, dtype):
    inf, nan = float("inf"), float("nan")
    for row in ([inf, 1.0, 2.0], [-inf, -inf, -inf], [nan, 1.0, 2.0]):
        out = getattr(rtorch.tensor(row, dtype=dtype), fn)(0)
        assert np.isnan(to_np(out)).all(), (row, out)


def test_long_rows_match_float64_reference():
    # Rows longer than one vector block, odd lengths, and every dim of a 3-D tensor.
    x = RNG.standard_normal((3, 1037, 5)) * 10
    t = rtorch.tensor(x, dtype=rtorch.float32)
    for d in range(3):
        assert_np_close(t.softmax(d), np.exp(ref_log_softmax(x, d)), atol=1e-6, rtol=1e-5)
        assert_np_close(t.log_softmax(d), ref_log_softmax(x, d), atol=1e-4, rtol=1e-5)


def test_empty_scalar_errors():
    assert rtorch.zeros(0, 3).softmax(1).shape == (0, 3)
    assert rtorch.tensor(2.0).softmax(0).item() == 1.0
    assert rtorch.tensor(2.0).log_softmax(-1).item() == 0.0
    with pytest.raises(
        NotImplementedError, match="\"softmax_lastdim_kernel_impl\" not implemented for 'Long'"
    ):
        rtorch.tensor([1, 2]).softmax(0)
    with pytest.raises(IndexError, match="Dimension out of range"):
        rtorch.ones(3).softmax(5)
    with pytest.raises(TypeError):
        rtorch.ones(3).softmax()


@pytest.mark.parametrize("dtype", [rtorch.int64, rtorch.int32, rtorch.bool])
def test_integer_inputs_name_the_kernel_unless_empty(dtype):
    # PyTorch 2.15: the kernel named in the error depends on log and on the dim being
    # the last; empty integer inputs come back empty, in their dtype, before the check.
    x = rtorch.zeros(2, 3, dtype=dtype)
    for fn, name in [(rtorch.softmax, "softmax"), (rtorch.log_softmax, "log_softmax")]:
        with pytest.raises(NotImplementedError, match=f'"{name}_lastdim_kernel_impl"'):
            fn(x, 1)
        with pytest.raises(NotImplementedError, match=f'"{name}_kernel_impl"'):
            fn(x, 0)
        for shape, dim in [((0,), 0), ((2, 0), 1), ((0, 3), 0)]:
            out = fn(rtorch.zeros(shape, dtype=dtype), dim)
            assert (out.dtype, tuple(out.shape)) == (dtype, shape)
    out = rtorch.softmax(rtorch.zeros(0, 3, dtype=dtype), 1, dtype=rtorch.float32)
    assert (out.dtype, tuple(out.shape)) == (rtorch.float32, (0, 3))


def test_grads():
    x = rtorch.tensor(
        RNG.standard_normal((3, 4)).tolist(), dtype=rtorch.float64, requires_grad=True
    )
    w = rtorch.tensor(RNG.standard_normal((3, 4)).tolist(), dtype=rtorch.float64)
    for dim in (0, 1):
        assert gradcheck(lambda t, dim=dim: t.softmax(dim) * w, (x,))
        assert gradcheck(lambda t, dim=dim: t.log_softmax(dim) * w, (x,))
        assert gradgradcheck(lambda t, dim=dim: t.softmax(dim) * w, (x,))
        assert gradgradcheck(lambda t, dim=dim: t.log_softmax(dim) * w, (x,))
