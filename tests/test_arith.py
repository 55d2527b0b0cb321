"""add/sub/mul/div: dtypes, promotion, layouts, in-place fast paths, errors, grads."""

from __future__ import annotations

import operator

import numpy as np
import pytest
from conftest import FLOAT_DTYPES, INT_DTYPES, assert_np_close, to_np

import rtorch
from rtorch.autograd import gradcheck, gradgradcheck

OPS = [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul)]


@pytest.mark.parametrize("name,op", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES, ids=str)
def test_arith_dtypes_and_layouts(name, op, dtype):
    a = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    b = np.array([3, 1, 2, 5])
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    xs, ys = to_np(x), to_np(y)
    wrap = (lambda v: v) if dtype.is_floating_point else (lambda v: v.astype(xs.dtype))
    if dtype == rtorch.uint8:
        wrap = lambda v: (v % 256).astype(np.int64)
    exp = wrap(op(xs.astype(np.float64), ys))
    out = op(x, y)
    assert out.dtype == dtype
    assert_np_close(out, exp)
    assert_np_close(getattr(rtorch, name)(x, y), exp)
    # Transposed and expanded operands.
    assert_np_close(op(x.t(), y.reshape(4, 1)), wrap(op(xs.T.astype(np.float64), ys.reshape(4, 1))))
    assert_np_close(
        op(y.expand(3, 4), x), wrap(op(np.broadcast_to(ys, (3, 4)).astype(np.float64), xs))
    )
    # In place, also into a non-contiguous destination.
    z = x.clone()
    getattr(z, name + "_")(y)
    assert_np_close(z, exp)
    w = x.clone().t()
    getattr(w, name + "_")(y.reshape(4, 1))
    assert_np_close(w, wrap(op(xs.T.astype(np.float64), ys.reshape(4, 1))))


def test_large_contiguous_add_mul_match_numpy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(200_001).astype(np.float32)
    b = rng.standard_normal(200_001).astype(np.float32)
    x, y = rtorch.tensor(a), rtorch.tensor(b)
    assert np.array_equal(to_np(x + y), (a + b).astype(np.float64))
    assert np.array_equal(to_np(x * y), (a * b).astype(np.float64))
    z = x.clone()
    z += y
    assert np.array_equal(to_np(z), (a + b).astype(np.float64))
    z = x.clone()
    z.add_(z)
    assert np.array_equal(to_np(z), (a + a).astype(np.float64))
    z = x.clone()
    z.mul_(2.0)
    assert np.array_equal(to_np(z), (a * 2).astype(np.float64))
    z = x.clone()
    z.add_(y, alpha=-2)
    np.testing.assert_allclose(to_np(z), a.astype(np.float64) - 2 * b, rtol=1e-6, atol=1e-6)


def test_promotion():
    i = rtorch.tensor([1, 2], dtype=rtorch.int32)
    assert (i * 2.5).dtype == rtorch.float32
    assert (i * 2.5).tolist() == [2.5, 5.0]
    assert (i / i).dtype == rtorch.float32
    assert (i + rtorch.tensor(1)).dtype == rtorch.int32
    assert (rtorch.tensor([3], dtype=rtorch.uint8) - 5).tolist() == [254]
    assert (rtorch.tensor([200], dtype=rtorch.uint8) * 2).tolist() == [144]
    assert (
        rtorch.tensor([1], dtype=rtorch.uint8) + rtorch.tensor([1], dtype=rtorch.int8)
    ).dtype == rtorch.int16
    b = rtorch.tensor([True, False])
    assert (b + b).dtype == rtorch.bool
    assert (b * 2).dtype == rtorch.int64
    f = rtorch.tensor([1.0])
    assert (f + rtorch.tensor(1.0, dtype=rtorch.float64)).dtype == rtorch.float32
    assert (f.half() + 1.5).dtype == rtorch.float16
    assert (f.half() + rtorch.tensor([1.0], dtype=rtorch.bfloat16)).dtype == rtorch.float32
    assert (2 - i).tolist() == [1, 0]
    assert (3 / rtorch.tensor([2])).tolist() == [1.5]


def test_aliases():
    a, b = rtorch.tensor([6.0, 3.0]), rtorch.tensor([2.0, 4.0])
    assert rtorch.subtract(a, b, alpha=2).tolist() == [2.0, -5.0]
    assert rtorch.multiply(a, b).tolist() == [12.0, 12.0]
    assert rtorch.divide(a, b, rounding_mode="floor").tolist() == [3.0, 0.0]
    assert rtorch.true_divide(a, b).tolist() == [3.0, 0.75]
    assert rtorch.negative(a).tolist() == [-6.0, -3.0]


def test_division_modes():
    a = rtorch.tensor([-7, 7, 6])
    b = rtorch.tensor([2, -2, 3])
    assert (a // b).tolist() == [-4, -4, 2]
    assert rtorch.div(a, b, rounding_mode="trunc").tolist() == [-3, -3, 2]
    assert rtorch.div(a, b).tolist() == [-3.5, -3.5, 2.0]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        a // rtorch.tensor([1, 0, 1])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        rtorch.div(a, rtorch.tensor([0]).expand(3), rounding_mode="floor")
    assert (rtorch.tensor([1.0, -1.0]) / 0).tolist() == [float("inf"), float("-inf")]


def test_errors():
    b = rtorch.tensor([True, False])
    with pytest.raises(RuntimeError, match="Subtraction, the `-` operator, with two bool tensors"):
        b - b
    with pytest.raises(NotImplementedError, match="Negation, the `-` operator, on a bool tensor"):
        _ = -b
    i = rtorch.tensor([1, 2])
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        i += 1.5
    with pytest.raises(RuntimeError, match="must match the size"):
        i + rtorch.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        i.add_(rtorch.tensor([[1], [2]]))
    with pytest.raises(RuntimeError, match="argument alpha must not be a floating point number"):
        i.add(i, alpha=0.5)
    x = rtorch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        x.add_(1)


@pytest.mark.parametrize("name,op", OPS, ids=[o[0] for o in OPS])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES + INT_DTYPES + [rtorch.bool], ids=str)
@pytest.mark.parametrize("shape", [(), (0,), (4,), (3, 5), (70_001,)], ids=str)
def test_same_dtype_and_shape_operands(name, op, dtype, shape):
    # Two tensors of one dtype and shape without autograd take a shortcut past type
    # promotion and broadcasting: same values and dtype as numpy in float64 (integers
    # wrap, bool: or / and), contiguous or not, and a fresh result.
    if name == "sub" and dtype == rtorch.bool:
        with pytest.raises(RuntimeError, match="two bool tensors is not supported"):
            op(rtorch.ones(shape, dtype=dtype), rtorch.ones(shape, dtype=dtype))
        return
    rng = np.random.default_rng(len(shape))
    a = rng.integers(-20, 20, size=shape)
    b = rng.integers(-20, 20, size=shape)
    if dtype == rtorch.bool:
        a, b = a > 0, b > 0
    x, y = rtorch.tensor(a, dtype=dtype), rtorch.tensor(b, dtype=dtype)
    xs, ys = to_np(x), to_np(y)

    def expected(u, v):
        e = op(u, v)
        if dtype == rtorch.uint8:
            return e % 256
        if dtype == rtorch.int8:
            return (e + 128) % 256 - 128
        return e

    for u, v, e in [
        (x, y, expected(xs, ys)),
        (x.t(), y.t(), expected(xs.T, ys.T)),
        (y, y, expected(ys, ys)),
    ]:
        out = op(u, v)
        assert out.dtype == dtype and out.shape == u.shape
        assert out.numel() == 0 or out.data_ptr() not in (u.data_ptr(), v.data_ptr())
        assert_np_close(out, e)
    if dtype.is_floating_point:
        # With a gradient wanted the op is recorded, as always.
        xg = x.detach().requires_grad_()
        out = op(xg, y)
        assert out.grad_fn is not None
        out.sum().backward()
        assert_np_close(xg.grad, ys if name == "mul" else np.ones(shape))


def test_empty_and_zero_dim():
    e = rtorch.tensor([])
    assert (e + e).shape == (0,)
    assert (e * 2).shape == (0,)
    assert (rtorch.zeros(0, 3) + rtorch.ones(3)).shape == (0, 3)
    s = rtorch.tensor(2.0)
    assert (s * s).shape == ()
    assert (s + rtorch.ones(2)).tolist() == [3.0, 3.0]


def test_arith_grads():
    a = rtorch.tensor(
        [[0.5, -1.2, 2.0], [1.5, 0.7, -3.0]], dtype=rtorch.float64, requires_grad=True
    )
    b = rtorch.tensor([1.5, -0.5, 2.0], dtype=rtorch.float64, requires_grad=True)
    for f in (operator.add, operator.sub, operator.mul, operator.truediv):
        assert gradcheck(f, (a, b))
        assert gradgradcheck(f, (a, b))
    assert gradcheck(lambda u, v: rtorch.add(u, v, alpha=-2.5), (a, b))


@pytest.mark.parametrize(
    "dtype", ["float32", "float64", "int64", "int32", "int16", "int8", "uint8", "float16"]
)
@pytest.mark.parametrize("layout", ["contiguous", "transposed", "expanded", "big"])
def test_ops_with_a_number_match_numpy(dtype, layout):
    # `t op number` keeps t's dtype here and runs with the number in a register: the
    # same values as numpy with the number converted to the dtype first (integers wrap).
    rng = np.random.default_rng(3)
    shape = (70, 600) if layout == "big" else (5, 7)
    a = (rng.standard_normal(shape) * 50).astype(getattr(np, dtype))
    t = rtorch.tensor(a)
    if layout == "transposed":
        t, a = t.t(), a.T
    elif layout == "expanded":
        t, a = t[:1].expand(5, 7), np.broadcast_to(a[:1], (5, 7))
    for number in (3, -2, 1000):
        c = np.array(number).astype(a.dtype) if dtype != "uint8" else np.uint8(number % 256)
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal((t + number).numpy(), a + c)
            np.testing.assert_array_equal((t - number).numpy(), a - c)
            np.testing.assert_array_equal((number + t).numpy(), c + a)
            np.testing.assert_array_equal((t * number).numpy(), a * c)
            np.testing.assert_array_equal((-t).numpy(), -a)
        assert (t + number).dtype == t.dtype
    if dtype in ("float32", "float64"):
        for number in (2.5, 3, -0.1):
            c = np.array(number, dtype=a.dtype)
            np.testing.assert_array_equal((t / number).numpy(), a / c)
            np.testing.assert_array_equal((t * number).numpy(), a * c)
            np.testing.assert_array_equal((t + number).numpy(), a + c)


def test_ops_with_a_number_keep_autograd_and_meta():
    x = rtorch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = ((x + 1) * 2 - 3) / 4
    assert y.grad_fn.name() == "DivBackward0"
    y.sum().backward()
    assert x.grad.tolist() == [0.5, 0.5, 0.5]
    (-x).sum().backward()
    assert x.grad.tolist() == [-0.5, -0.5, -0.5]
    m = rtorch.empty(2, 3, device="meta")
    for r in (m + 1, m * 2.0, m / 3, -m, 1 - m):
        assert r.is_meta and r.shape == (2, 3) and r.dtype == rtorch.float32


def test_rsub_with_a_number_promotes_and_scales():
    # (Values and dtypes as PyTorch 2.x gives them.)
    x = rtorch.tensor([1, 2])
    for alpha, want in ((1, [0.5, -0.5]), (2, [-0.5, -2.5])):
        got = rtorch.rsub(x, 1.5, alpha=alpha)
        assert got.dtype == rtorch.float32 and got.tolist() == want
    got = rtorch.rsub(x, 3, alpha=2)
    assert got.dtype == rtorch.int64 and got.tolist() == [1, -1]
    y = rtorch.tensor([1.0, 2.0], requires_grad=True)
    z = rtorch.rsub(y, 1)
    assert z.tolist() == [0.0, -1.0] and z.grad_fn.name() == "RsubBackward1"
    z.sum().backward()
    assert y.grad.tolist() == [-1.0, -1.0]
    big = rtorch.randn(40_000)
    assert np.array_equal(rtorch.rsub(big, 0.25).numpy(), np.float32(0.25) - big.numpy())


def test_three_argument_pow_is_a_type_error():
    # PyTorch has no modular power: Python's TypeError (the modulus used to be ignored).
    with pytest.raises(TypeError, match="unsupported operand"):
        pow(rtorch.tensor(2), 3, 5)
    with pytest.raises(TypeError, match="unsupported operand"):
        pow(3, rtorch.tensor(2), 5)
    assert pow(rtorch.tensor(2), 3).item() == 8 and (3 ** rtorch.tensor(2)).item() == 9
