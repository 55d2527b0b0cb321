"""The fused softmax / log_softmax kernels (rust cpu/softmax.rs) on the shapes they
special-case: SIMD tail lengths, rows above the parallel threshold (and bitwise equality
across thread counts), a middle dim without a transposing copy, non-contiguous and
expanded inputs, empty tensors, -inf / nan rows, every float dtype, the fused backward
kernels, and double backward through them."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

RNG = np.random.default_rng(11)
TAILS = [1, 7, 15, 16, 17, 31, 33, 1000, 1025]


def ref_log_softmax(a: np.ndarray, dim: int) -> np.ndarray:
    m = a.max(axis=dim, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=dim, keepdims=True))


def _t(a: np.ndarray, dtype=rtorch.float32) -> rtorch.Tensor:
    return rtorch.from_numpy(np.ascontiguousarray(a)).to(dtype)


@pytest.mark.parametrize("n", TAILS)
@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64])
def test_tail_lengths_last_dim(n, dtype):
    a = RNG.standard_normal((4, n)) * 5
    t = _t(a, dtype)
    a = to_np(t)
    ref = ref_log_softmax(a, 1)
    assert_np_close(t.log_softmax(1), ref)
    assert_np_close(t.softmax(-1), np.exp(ref))


@pytest.mark.parametrize("n", TAILS)
def test_tail_lengths_middle_dim(n):
    a = RNG.standard_normal((2, n, 19))
    t = _t(a)
    a = to_np(t)
    assert_np_close(t.softmax(1), np.exp(ref_log_softmax(a, 1)))
    assert_np_close(t.log_softmax(1), ref_log_softmax(a, 1))
    assert_np_close(t.log_softmax(0), ref_log_softmax(a, 0))


@pytest.mark.parametrize("shape,dim", [((64, 1024), 1), ((8, 1024, 70), 1), ((3000, 40), 0)])
def test_parallel_rows_and_thread_count_invariance(shape, dim):
    a = RNG.standard_normal(shape)
    t = _t(a)
    a = to_np(t)
    before = rtorch.get_num_threads()
    try:
        rtorch.set_num_threads(1)
        one = [t.softmax(dim).numpy(), t.log_softmax(dim).numpy()]
        rtorch.set_num_threads(2)
        two = [t.softmax(dim).numpy(), t.log_softmax(dim).numpy()]
    finally:
        rtorch.set_num_threads(before)
    np.testing.assert_array_equal(one[0], two[0])
    np.testing.assert_array_equal(one[1], two[1])
    ref = ref_log_softmax(a, dim)
    np.testing.assert_allclose(two[1], ref, 1.3e-6, 1e-5)
    np.testing.assert_allclose(two[0], np.exp(ref), 1.3e-6, 1e-5)


def test_non_contiguous_and_expanded_inputs():
    a = RNG.standard_normal((33, 17))
    t = _t(a).t()  # (17, 33), non-contiguous
    assert not t.is_contiguous()
    assert_np_close(t.softmax(1), np.exp(ref_log_softmax(to_np(t), 1)))
    assert_np_close(t.log_softmax(0), ref_log_softmax(to_np(t), 0))
    row = _t(RNG.standard_normal((1, 31)))
    e = row.expand(5, 31)
    assert_np_close(e.log_softmax(1), np.repeat(ref_log_softmax(to_np(row), 1), 5, 0))
    s = _t(RNG.standard_normal((6, 40)))[:, ::3]
    assert_np_close(s.softmax(1), np.exp(ref_log_softmax(to_np(s), 1)))


def test_empty_and_zero_dim():
    for shape, dim in [((0, 5), 1), ((3, 0), 1), ((3, 0, 4), 1), ((0, 4, 2), 1)]:
        t = rtorch.zeros(*shape)
        assert tuple(t.softmax(dim).shape) == shape
        assert tuple(t.log_softmax(dim).shape) == shape
    z = rtorch.tensor(3.5)
    assert z.softmax(0).item() == 1.0
    assert z.log_softmax(0).item() == 0.0


def test_inf_and_nan_rows():
    inf, nan = float("inf"), float("nan")
    for n in [3, 17, 40]:
        t = rtorch.zeros(4, n)
        t[0, 0] = -inf
        t[1, :] = -inf
        t[2, 1] = nan
        t[3, 2] = inf
        s = t.softmax(1).numpy()
        ls = t.log_softmax(1).numpy()
        assert s[0, 0] == 0.0 and ls[0, 0] == -inf
        np.testing.assert_allclose(s[0, 1:], 1.0 / (n - 1), 1e-6)
        assert np.isnan(s[1:]).all() and np.isnan(ls[1:]).all()
        tm = t.t().contiguous()  # the same rows as columns of a middle dim
        sm = tm.unsqueeze(0).softmax(1)[0].t().numpy()
        np.testing.assert_array_equal(np.isnan(sm), np.isnan(s))
        np.testing.assert_allclose(sm[0], s[0], 1e-6)


@pytest.mark.parametrize("dtype", [rtorch.float16, rtorch.bfloat16])
def test_half_types_compute_in_float32(dtype):
    t = _t(RNG.standard_normal((3, 33)) * 3, dtype)
    a = to_np(t)
    # The f32 result rounded once to the half type.
    want = _t(np.exp(ref_log_softmax(a, 1)), rtorch.float32).to(dtype).float().numpy()
    s = t.softmax(1)
    assert s.dtype == dtype
    np.testing.assert_array_equal(s.float().numpy(), want)
    tm = _t(RNG.standard_normal((3, 9, 5)), dtype)
    assert_np_close(tm.log_softmax(1), ref_log_softmax(to_np(tm), 1), rtol=2e-2, atol=2e-2)


@pytest.mark.parametrize("dim,shape", [(1, (3, 17)), (1, (2, 7, 5)), (0, (6, 3))])
def test_backward_kernels_match_closed_form(dim, shape):
    a = RNG.standard_normal(shape)
    g = RNG.standard_normal(shape)
    x = _t(a, rtorch.float64).requires_grad_(True)
    y = np.exp(ref_log_softmax(a, dim))
    (gx,) = rtorch.autograd.grad(x.softmax(dim), x, _t(g, rtorch.float64))
    assert_np_close(gx, y * (g - (g * y).sum(dim, keepdims=True)))
    (gx,) = rtorch.autograd.grad(x.log_softmax(dim), x, _t(g, rtorch.float64))
    assert_np_close(gx, g - y * g.sum(dim, keepdims=True))
    xf = _t(a).requires_grad_(True)
    (gx,) = rtorch.autograd.grad(xf.log_softmax(dim), xf, _t(g))
    assert_np_close(gx, g - y * g.sum(dim, keepdims=True), rtol=1e-5, atol=1e-5)


def test_backward_with_expanded_gradient():
    x = _t(RNG.standard_normal((4, 33)), rtorch.float64).requires_grad_(True)
    x.softmax(1).sum().backward()  # the incoming gradient is an expanded 1
    np.testing.assert_allclose(x.grad.numpy(), 0.0, atol=1e-15)


@pytest.mark.parametrize("dim,shape", [(1, (3, 17)), (1, (2, 5, 3)), (0, (4, 3))])
def test_gradcheck_and_double_backward(dim, shape):
    x = _t(RNG.standard_normal(shape), rtorch.float64).requires_grad_(True)
    for f in (lambda v: v.softmax(dim), lambda v: v.log_softmax(dim)):
        assert gradcheck(f, (x,))
        assert gradgradcheck(f, (x,))
