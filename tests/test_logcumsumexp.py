"""logcumsumexp: a running log-add-exp (rust ops/scan.rs). References: numpy's
``logaddexp.accumulate`` in float64, closed forms for the infinities, and central
differences in float64 for the gradient."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import with_threads

import rtorch


def _ref(x: np.ndarray, axis: int) -> np.ndarray:
    return np.logaddexp.accumulate(x.astype(np.float64), axis=axis)


def test_no_element_underflows_against_a_later_larger_one() -> None:
    # A maximum-shifted cumsum of exponentials gave -inf for -200 here (exp(-200) is 0 in
    # float32), and the same for float64 at -1000.
    x = rtorch.tensor([-200.0, 0.0, -300.0, 5.0])
    assert x.logcumsumexp(0).tolist() == pytest.approx(list(_ref(x.numpy(), 0)), rel=1e-6)
    assert rtorch.logcumsumexp(x, 0)[0].item() == -200.0
    y = rtorch.tensor([-1000.0, 0.0, 1000.0], dtype=rtorch.float64) * 5
    assert rtorch.logcumsumexp(y, 0).tolist() == [-5000.0, 0.0, 5000.0]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
@pytest.mark.parametrize("threads", [1, 2])
def test_matches_float64_reference_along_each_dim(dtype, threads) -> None:
    rng = np.random.default_rng(3)
    # 300 x 257 is above the parallel grain; dim 0 reads strided lanes.
    base = (rng.standard_normal((300, 257)) * 30).astype(np.float64)
    x = rtorch.tensor(base, dtype=dtype)
    src = x.to(rtorch.float64).numpy()
    rel = 1e-6 if dtype == rtorch.float32 else 1e-12
    for dim in (0, 1, -1):
        got = with_threads(threads, lambda d=dim: rtorch.logcumsumexp(x, d))
        assert got.dtype == dtype and got.shape == x.shape
        np.testing.assert_allclose(got.to(rtorch.float64).numpy(), _ref(src, dim), rtol=rel)
    # A transposed (non-contiguous) input.
    t = x.t()
    np.testing.assert_allclose(
        rtorch.logcumsumexp(t, 1).to(rtorch.float64).numpy(), _ref(src.T, 1), rtol=rel
    )


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
def test_half_types_accumulate_in_float32_and_round_once(dtype) -> None:
    rng = np.random.default_rng(4)
    x = rtorch.tensor(rng.standard_normal(3000) * 3, dtype=dtype)
    src = x.to(rtorch.float64).numpy()
    # The float32 running value, each step rounded to float32 as PyTorch's acc_type keeps it.
    acc = np.float32(-np.inf)
    want = np.empty(src.size, dtype=np.float32)
    for i, v in enumerate(src.astype(np.float32)):
        hi, lo = max(acc, v), min(acc, v)
        acc = np.float32(hi + np.log1p(np.exp(np.float32(lo - hi), dtype=np.float32)))
        want[i] = acc
    got = rtorch.logcumsumexp(x, 0)
    assert got.dtype == dtype
    expect = rtorch.tensor(want).to(dtype).to(rtorch.float32).numpy()
    # float32 exp/log1p of numpy and of Rust may differ in the last float32 bit, which
    # moves a rounding to the half type in rare ties: allow a handful.
    assert int((got.to(rtorch.float32).numpy() != expect).sum()) <= 3


def test_infinities_nan_and_edge_shapes() -> None:
    inf, nan = math.inf, math.nan
    got = rtorch.logcumsumexp(rtorch.tensor([-inf, 1.0, inf, 2.0, -inf]), 0).tolist()
    assert got == [-inf, 1.0, inf, inf, inf]
    assert rtorch.logcumsumexp(rtorch.tensor([-inf, -inf]), 0).tolist() == [-inf, -inf]
    got = rtorch.logcumsumexp(rtorch.tensor([1.0, nan, 2.0]), 0).tolist()
    assert got[0] == 1.0 and math.isnan(got[1]) and math.isnan(got[2])
    assert rtorch.logcumsumexp(rtorch.tensor(3.0), 0).item() == 3.0
    assert rtorch.logcumsumexp(rtorch.empty(0, 3), 0).shape == (0, 3)
    with pytest.raises(IndexError):
        rtorch.logcumsumexp(rtorch.tensor([1.0]), 1)
    with pytest.raises(NotImplementedError, match="logcumsumexp_out_cpu.*'Long'"):
        rtorch.logcumsumexp(rtorch.tensor([1, 2]), 0)


def test_gradient_matches_central_differences() -> None:
    rng = np.random.default_rng(5)
    base = rng.standard_normal((3, 5)) * 4
    g = rtorch.tensor(rng.standard_normal((3, 5)), dtype=rtorch.float64)
    for dim in (0, 1):
        x = rtorch.tensor(base, dtype=rtorch.float64, requires_grad=True)
        y = rtorch.logcumsumexp(x, dim)
        assert y.grad_fn.name() == "LogcumsumexpBackward0"
        y.backward(g)
        gn = g.numpy()
        num = np.zeros_like(base)
        h = 1e-6
        for idx in np.ndindex(base.shape):
            xp, xm = base.copy(), base.copy()
            xp[idx] += h
            xm[idx] -= h
            num[idx] = ((_ref(xp, dim) - _ref(xm, dim)) * gn).sum() / (2 * h)
        np.testing.assert_allclose(x.grad.numpy(), num, rtol=1e-6, atol=1e-8)
    # Large gaps: the log-space backward stays finite (the gradient of -1000 is ~0).
    x = rtorch.tensor([-1000.0, 0.0, 2.0], dtype=rtorch.float64, requires_grad=True)
    rtorch.logcumsumexp(x, 0).sum().backward()
    want = [
        sum(math.exp(-1000.0 - o) for o in _ref(np.array([-1000.0, 0.0, 2.0]), 0)),
        sum(math.exp(0.0 - o) for o in _ref(np.array([-1000.0, 0.0, 2.0]), 0)[1:]),
        math.exp(2.0 - _ref(np.array([-1000.0, 0.0, 2.0]), 0)[2]),
    ]
    assert x.grad.tolist() == pytest.approx(want, rel=1e-12)


def test_double_backward_by_gradcheck() -> None:
    x = rtorch.randn(2, 4, dtype=rtorch.float64, requires_grad=True)
    assert rtorch.autograd.gradgradcheck(lambda t: rtorch.logcumsumexp(t, 1), (x,))
