"""Pointwise binary/ternary math: pow, remainder/fmod, atan2, maximum/minimum,
fmax/fmin, hypot, lerp, addcmul/addcdiv, clamp."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck


def f64(a, requires_grad=True):
    return rtorch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def _check(t, ref):
    if t.dtype in (rtorch.float16, rtorch.bfloat16):
        r = 1e-2 if t.dtype == rtorch.float16 else 5e-2
        assert_np_close(t, ref, rtol=r, atol=r)
    else:
        assert_np_close(t, ref)


# ----- pow -----


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_pow_float(dtype):
    a = np.array([[0.5, 1.0, 2.0], [3.0, 0.25, 1.5]])
    b = np.array([2.0, -1.0, 0.5])
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    _check(x**y, to_np(x) ** to_np(y))
    _check(rtorch.pow(x, y), to_np(x) ** to_np(y))
    _check(x.pow(2), to_np(x) ** 2)
    _check(x**0.5, np.sqrt(to_np(x)))
    _check(2**x, 2 ** to_np(x))
    _check(rtorch.pow(2.5, x), 2.5 ** to_np(x))
    _check(x.t() ** y.reshape(3, 1), to_np(x).T ** to_np(y).reshape(3, 1))
    z = x.clone()
    z **= 2
    _check(z, to_np(x) ** 2)
    z = x.clone()
    z.pow_(y)
    _check(z, to_np(x) ** to_np(y))


def test_pow_int_rules():
    i = rtorch.tensor([-3, 0, 5])
    assert (i**2).tolist() == [9, 0, 25]
    assert (i**2).dtype == rtorch.int64
    assert (i ** i.abs()).tolist() == [-27, 1, 3125]
    assert (2 ** i.abs()).tolist() == [8, 1, 32]
    assert (2 ** i.abs()).dtype == rtorch.int64
    assert (2.0**i).dtype == rtorch.float32
    assert (i**-1.0).tolist() == pytest.approx([-1 / 3, math.inf, 0.2])
    assert (i**-1.0).dtype == rtorch.float32
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        i**-1
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        i.pow(-2)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed."):
        i.pow_(-2)
    assert (rtorch.tensor([0, 2, 1, -1]) ** rtorch.tensor([-1, 2, -3, -3])).tolist() == [
        0,
        4,
        1,
        -1,
    ]
    assert (rtorch.tensor([True, False]) ** 2).dtype == rtorch.int64
    u = rtorch.tensor([16], dtype=rtorch.uint8)
    assert (u**2).tolist() == [0]
    j = rtorch.tensor([2, 3])
    j **= 2
    assert j.tolist() == [4, 9]
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        j **= 2.5
    assert rtorch.tensor([0.0]).pow(0.0).tolist() == [1.0]


def test_float_power():
    i = rtorch.tensor([1, 2, 3])
    out = i.float_power(2)
    assert out.dtype == rtorch.float64
    assert out.tolist() == [1.0, 4.0, 9.0]
    assert rtorch.float_power(2, i).dtype == rtorch.float64
    assert rtorch.float_power(rtorch.tensor([2.0]), rtorch.tensor([0.5])).tolist() == pytest.approx(
        [math.sqrt(2)]
    )
    # A number exponent takes pow's special cases in float64 (x ** 2 is the product,
    # x ** 0.5 the square root: bit for bit numpy's), and PowBackward0.
    a = np.random.default_rng(3).uniform(0.1, 3.0, 1000).astype(np.float32)
    x = rtorch.from_numpy(a).requires_grad_(True)
    a64 = a.astype(np.float64)
    np.testing.assert_array_equal(to_np(rtorch.float_power(x, 2)), a64 * a64)
    np.testing.assert_array_equal(to_np(x.float_power(0.5)), np.sqrt(a64))
    np.testing.assert_allclose(to_np(x.float_power(2.5)), a64**2.5, rtol=1e-15)
    y = x.float_power(3)
    assert y.grad_fn.name() == "PowBackward0"
    y.sum().backward()
    np.testing.assert_allclose(to_np(x.grad), 3 * a64**2, rtol=1e-6)


def test_pow_grads():
    x = f64([[0.5, 1.2, 2.0], [1.5, 0.7, 3.0]])
    y = f64([1.5, -0.5, 2.0])
    assert gradcheck(lambda a, b: a**b, (x, y))
    assert gradgradcheck(lambda a, b: a**b, (x, y))
    assert gradcheck(lambda a: a**3, (x,))
    assert gradgradcheck(lambda a: a**2.5, (x,))
    assert gradcheck(lambda b: 2.0**b, (y,))
    assert gradgradcheck(lambda b: 2.0**b, (y,))
    # Exponent 0: zero gradient, and d/db at a == 0 is 0 (not NaN).
    z = f64([0.0, 1.0])
    (z**0).sum().backward()
    assert z.grad.tolist() == [0.0, 0.0]
    a = f64([0.0, 2.0])
    b = f64([2.0, 1.0])
    (a**b).sum().backward()
    assert b.grad.tolist()[0] == 0.0
    assert b.grad.tolist()[1] == pytest.approx(2 * math.log(2))


# ----- remainder / fmod -----


@pytest.mark.parametrize(
    "dtype", [rtorch.int32, rtorch.int64, rtorch.int8, rtorch.float32, rtorch.float64], ids=str
)
def test_remainder_fmod_signs(dtype):
    a = np.array([-7, -3, 0, 5, 7])
    b = np.array([3, -2, 4, -3, 2])
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    assert to_np(x % y).tolist() == np.remainder(a, b).astype(to_np(x).dtype).tolist()
    assert to_np(rtorch.remainder(x, y)).tolist() == np.remainder(a, b).tolist()
    assert to_np(rtorch.fmod(x, y)).tolist() == np.fmod(a, b).tolist()
    assert to_np(x.fmod(-2)).tolist() == np.fmod(a, -2).tolist()
    assert to_np(x.remainder(3)).tolist() == np.remainder(a, 3).tolist()
    z = x.clone()
    z %= 3
    assert to_np(z).tolist() == np.remainder(a, 3).tolist()
    w = x.clone()
    w.fmod_(y)
    assert to_np(w).tolist() == np.fmod(a, b).tolist()


def test_remainder_special():
    i = rtorch.tensor([-3, 0, 5])
    assert (i % 2).tolist() == [1, 0, 1]
    assert (-7 % rtorch.tensor([3])).tolist() == [2]
    assert rtorch.remainder(-7, rtorch.tensor([3])).tolist() == [2]
    assert rtorch.remainder(i, 2.5).tolist() == [2.0, 0.0, 0.0]
    assert rtorch.remainder(i, 2.5).dtype == rtorch.float32
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i % 0
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        rtorch.remainder(i, rtorch.tensor([0, 1, 1]))
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i.fmod(0)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        i // rtorch.tensor([1, 0, 1]).expand(2, 3)
    f = rtorch.tensor([1.0, -1.0])
    assert all(math.isnan(v) for v in (f % 0).tolist())
    assert (rtorch.tensor([5.5, -5.5]) % rtorch.tensor([2.0, 2.0])).tolist() == [1.5, 0.5]


def test_remainder_fmod_grads():
    a = f64([[2.3, -1.7, 5.1], [0.4, 3.3, -4.2]])
    b = f64([1.5, -2.2, 0.9])
    assert gradcheck(rtorch.remainder, (a, b))
    assert gradcheck(rtorch.fmod, (a, b))
    assert gradcheck(lambda x: x % 1.5, (a,))


# ----- atan2, hypot, maximum, minimum, fmax, fmin -----


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_atan2_hypot(dtype):
    a = np.array([[1.0, -1.0, 0.0], [2.0, -0.5, 3.0]])
    b = np.array([1.0, 2.0, -1.0])
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    _check(rtorch.atan2(x, y), np.arctan2(to_np(x), to_np(y)))
    _check(rtorch.arctan2(x, y), np.arctan2(to_np(x), to_np(y)))
    _check(x.atan2(y), np.arctan2(to_np(x), to_np(y)))
    _check(rtorch.hypot(x, y), np.hypot(to_np(x), to_np(y)))
    z = x.clone()
    z.atan2_(y)
    _check(z, np.arctan2(to_np(x), to_np(y)))
    i = rtorch.tensor([1, -1])
    assert rtorch.atan2(i, i).dtype == rtorch.float32
    with pytest.raises(NotImplementedError, match="hypot_cpu"):
        rtorch.hypot(i, i)


def test_atan2_hypot_grads():
    a, b = f64([[1.0, -1.0, 0.5], [2.0, -0.5, 3.0]]), f64([1.0, 2.0, -1.0])
    assert gradcheck(rtorch.atan2, (a, b))
    assert gradgradcheck(rtorch.atan2, (a, b))
    assert gradcheck(rtorch.hypot, (a, b))


@pytest.mark.parametrize(
    "dtype", FLOAT_DTYPES + [rtorch.int32, rtorch.int64, rtorch.uint8], ids=str
)
def test_maximum_minimum(dtype):
    a = np.array([[1, 5, 3], [0, 2, 8]])
    b = np.array([4, 5, 1])
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    assert to_np(rtorch.maximum(x, y)).tolist() == np.maximum(a, b).tolist()
    assert to_np(rtorch.minimum(x, y)).tolist() == np.minimum(a, b).tolist()
    assert to_np(x.maximum(y)).tolist() == np.maximum(a, b).tolist()
    assert (
        to_np(rtorch.fmax(x.t(), y.reshape(3, 1))).tolist()
        == np.fmax(a.T, b.reshape(3, 1)).tolist()
    )
    assert rtorch.maximum(x, y).dtype == dtype


def test_maximum_nan_and_promotion():
    f = rtorch.tensor([-1.5, 0.0, 2.5])
    n = rtorch.tensor(float("nan"))
    assert all(math.isnan(v) for v in rtorch.maximum(f, n).tolist())
    assert all(math.isnan(v) for v in rtorch.minimum(n, f).tolist())
    assert rtorch.fmax(f, n).tolist() == [-1.5, 0.0, 2.5]
    assert rtorch.fmin(n, f).tolist() == [-1.5, 0.0, 2.5]
    i = rtorch.tensor([-3, 0, 5])
    assert rtorch.maximum(i, f).dtype == rtorch.float32
    assert rtorch.maximum(i, f).tolist() == [-1.5, 0.0, 5.0]
    with pytest.raises(TypeError):
        rtorch.maximum(i, 2)


def test_maximum_grads_split_ties():
    a = f64([1.0, 2.0, 3.0])
    b = f64([2.0, 2.0, 1.0])
    rtorch.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.0, 0.5, 1.0]
    assert b.grad.tolist() == [1.0, 0.5, 0.0]
    a2, b2 = f64([[0.1, 1.3], [2.2, -1.0]]), f64([1.0, 0.0])
    for f in (rtorch.maximum, rtorch.minimum, rtorch.fmax, rtorch.fmin):
        assert gradcheck(f, (a2, b2))
        assert gradgradcheck(f, (a2, b2))


# ----- lerp, addcmul, addcdiv -----


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=str)
def test_lerp(dtype):
    s = np.array([[0.0, 1.0, 2.0], [-1.0, 4.0, 0.5]])
    e = np.array([1.0, 3.0, -2.0])
    w = np.array([[0.25], [0.75]])
    x, y, wt = (rtorch.tensor(v, dtype=dtype) for v in (s, e, w))
    xs, ys, ws = to_np(x), to_np(y), to_np(wt)
    _check(rtorch.lerp(x, y, 0.3), xs + 0.3 * (ys - xs))
    _check(x.lerp(y, wt), xs + ws * (ys - xs))
    z = x.clone()
    z.lerp_(y, 0.9)
    _check(z, xs + 0.9 * (ys - xs))


def test_lerp_errors_and_grads():
    f = rtorch.tensor([1.0])
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        rtorch.lerp(f, f.double(), 0.5)
    with pytest.raises(NotImplementedError, match="lerp_kernel_scalar"):
        rtorch.lerp(rtorch.tensor([1]), rtorch.tensor([2]), 0.5)
    s, e, w = f64([[0.0, 1.0], [2.0, 3.0]]), f64([1.0, -1.0]), f64([[0.2], [0.7]])
    assert gradcheck(rtorch.lerp, (s, e, w))
    assert gradgradcheck(rtorch.lerp, (s, e, w))
    assert gradcheck(lambda a, b: rtorch.lerp(a, b, 0.3), (s, e))


def test_addcmul_addcdiv():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    b = np.array([2.0, -1.0])
    c = np.array([[0.5], [4.0]])
    x, y, z = (rtorch.tensor(v) for v in (a, b, c))
    assert_np_close(rtorch.addcmul(x, y, z), a + b * c)
    assert_np_close(rtorch.addcmul(x, y, z, value=0.5), a + 0.5 * b * c)
    assert_np_close(x.addcdiv(y, z, value=2), a + 2 * b / c)
    w = x.clone()
    w.addcmul_(y, z, value=-1)
    assert_np_close(w, a - b * c)
    w = x.clone()
    w.addcdiv_(y, z)
    assert_np_close(w, a + b / c)
    i = rtorch.tensor([-3, 0, 5])
    assert rtorch.addcmul(i, i, i, value=2).tolist() == [15, 0, 55]
    assert rtorch.addcmul(i, i, i, value=2).dtype == rtorch.int64
    with pytest.raises(RuntimeError, match="Integer division with addcdiv is no longer supported"):
        rtorch.addcdiv(i, i, i)
    p, q, r = f64([[1.0, 2.0], [3.0, 4.0]]), f64([2.0, -1.0]), f64([[0.5], [4.0]])
    assert gradcheck(lambda u, v, s: rtorch.addcmul(u, v, s, value=0.3), (p, q, r))
    assert gradcheck(lambda u, v, s: rtorch.addcdiv(u, v, s, value=2), (p, q, r))
    assert gradgradcheck(lambda u, v, s: rtorch.addcdiv(u, v, s), (p, q, r))


# ----- clamp -----


@pytest.mark.parametrize("dtype", FLOAT_DTYPES + [rtorch.int32, rtorch.int64, rtorch.int8], ids=str)
def test_clamp_scalars(dtype):
    a = np.array([[-5, -1, 0], [2, 4, 9]])
    x = rtorch.tensor(a, dtype=dtype)
    assert to_np(x.clamp(-1, 4)).tolist() == np.clip(a, -1, 4).tolist()
    assert to_np(rtorch.clamp(x, min=0)).tolist() == np.maximum(a, 0).tolist()
    assert to_np(rtorch.clip(x, max=3)).tolist() == np.minimum(a, 3).tolist()
    assert to_np(x.t().clamp(0, 2)).tolist() == np.clip(a.T, 0, 2).tolist()
    assert x.clamp(0, 1).dtype == dtype
    y = x.clone()
    y.clamp_(0, 2)
    assert to_np(y).tolist() == np.clip(a, 0, 2).tolist()
    y = x.clone()
    y.clip_(max=1)
    assert to_np(y).tolist() == np.minimum(a, 1).tolist()


def test_clamp_rules():
    i = rtorch.tensor([-3, 0, 5])
    assert i.clamp(2.5).dtype == rtorch.float32
    assert i.clamp(2.5).tolist() == [2.5, 2.5, 5.0]
    assert i.clamp(1).tolist() == [1, 1, 5]
    assert i.clamp(min=rtorch.tensor(1.5)).tolist() == [1.5, 1.5, 5.0]
    assert i.clamp(2, 1).tolist() == [1, 1, 1]
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max' must not be None"):
        i.clamp()
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        i.clamp_(0.5)
    f = rtorch.tensor([-1.5, 0.0, 2.5])
    m = f.clamp(max=rtorch.tensor([0.0, 0.0, 0.0], dtype=rtorch.float64))
    assert m.dtype == rtorch.float64
    assert m.tolist() == [-1.5, 0.0, 0.0]
    lo, hi = rtorch.tensor([[-1.0], [0.5]]), rtorch.tensor([1.0, 2.0, 0.0])
    assert_np_close(
        f.clamp(lo, hi), np.minimum(np.maximum([-1.5, 0.0, 2.5], [[-1.0], [0.5]]), [1.0, 2.0, 0.0])
    )
    n = rtorch.tensor([float("nan"), 1.0])
    assert math.isnan(n.clamp(0, 0.5).tolist()[0])
    assert rtorch.tensor([True, False]).clamp(0, 1).dtype == rtorch.int64
    assert rtorch.tensor([300, -300], dtype=rtorch.int16).clamp(max=200).tolist() == [200, -300]
    assert rtorch.tensor([1, 200], dtype=rtorch.uint8).clamp(min=100).tolist() == [100, 200]


@pytest.mark.parametrize("dtype", [rtorch.float32, rtorch.float64, rtorch.int32], ids=str)
def test_clamp_number_bounds_large_and_strided(dtype):
    # Number (and one-element tensor) bounds take the unary map: above the parallel
    # grain size, contiguous and transposed, NaN inputs and NaN bounds propagating.
    v = np.random.default_rng(6).uniform(-100, 100, (300, 200))
    if dtype != rtorch.int32:
        v[::17, ::13] = np.nan
    x = rtorch.tensor(v, dtype=dtype)
    ref = to_np(x)
    np.testing.assert_array_equal(to_np(x.clamp(-20, 30)), np.clip(ref, -20, 30))
    np.testing.assert_array_equal(to_np(x.t().clamp(min=5)), np.maximum(ref.T, 5))
    # A one-element bound of more dims broadcasts the result to them.
    got = x.clamp(max=rtorch.tensor([[[7]]], dtype=dtype))
    assert tuple(got.shape) == (1, 300, 200)
    np.testing.assert_array_equal(to_np(got)[0], np.minimum(ref, 7))
    if dtype != rtorch.int32:
        assert np.isnan(to_np(x.clamp(min=float("nan")))).all()


def test_clamp_grads():
    x = rtorch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0], requires_grad=True)
    x.clamp(-1, 1).sum().backward()
    # PyTorch 2.15: number bounds pass the gradient only strictly inside them.
    assert x.grad.tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    a = f64([[-2.0, 0.3, 1.7], [0.9, -0.4, 2.5]])
    lo, hi = f64([-1.0, 0.5, 0.0]), f64([[1.0], [2.0]])
    assert gradcheck(lambda u: u.clamp(-0.5, 1.0), (a,))
    assert gradcheck(lambda u, v, w: rtorch.clamp(u, v, w), (a, lo, hi))
    assert gradcheck(lambda u, v: rtorch.clamp(u, min=v), (a, lo))
    assert gradcheck(lambda u, w: rtorch.clamp(u, max=w), (a, hi))
    assert gradgradcheck(lambda u: u.clamp(-0.5, 1.0), (a,))


def test_empty_and_zero_dim_pointwise():
    e = rtorch.tensor([])
    assert (e**2).shape == (0,)
    assert rtorch.maximum(e, rtorch.tensor(1.0)).shape == (0,)
    assert e.clamp(0, 1).shape == (0,)
    assert (
        rtorch.tensor([], dtype=rtorch.int64) % rtorch.tensor([], dtype=rtorch.int64)
    ).shape == (0,)
    s = rtorch.tensor(3.0)
    assert (s**2).shape == ()
    assert (s**2).item() == 9.0
    assert rtorch.atan2(s, s).item() == pytest.approx(math.pi / 4)
