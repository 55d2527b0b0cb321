"""`out=` on module functions, with PyTorch 2.15's rules (checked case by case)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rtorch

RESIZED = "An output with one or more elements was resized since it had shape [2], which does not match the required output shape [3]."


def test_out_is_returned_and_written() -> None:
    o = rtorch.zeros(3)
    r = rtorch.add(rtorch.ones(3), 1, out=o)
    assert r is o and o.tolist() == [2.0, 2.0, 2.0]
    assert rtorch.mul(rtorch.ones(3), 3, out=o) is o and o.tolist() == [3.0] * 3
    rtorch.sub(rtorch.ones(3), rtorch.ones(3), alpha=2, out=o)
    assert o.tolist() == [-1.0] * 3
    rtorch.div(rtorch.ones(3), 4, out=o)
    assert o.tolist() == [0.25] * 3
    rtorch.exp(rtorch.zeros(3), out=o)
    assert o.tolist() == [1.0] * 3
    rtorch.neg(rtorch.ones(3), out=o)
    assert o.tolist() == [-1.0] * 3
    rtorch.maximum(rtorch.tensor([1.0, 5.0, 2.0]), rtorch.tensor([3.0, 0.0, 2.0]), out=o)
    assert o.tolist() == [3.0, 5.0, 2.0]
    rtorch.clamp(rtorch.tensor([-2.0, 0.5, 3.0]), -1, 1, out=o)
    assert o.tolist() == [-1.0, 0.5, 1.0]
    rtorch.pow(rtorch.tensor([1.0, 2.0, 3.0]), 2, out=o)
    assert o.tolist() == [1.0, 4.0, 9.0]


def test_cat_and_stack_out() -> None:
    o = rtorch.zeros(2, 3)
    assert rtorch.cat([rtorch.ones(1, 3), rtorch.zeros(1, 3)], out=o) is o
    assert o.tolist() == [[1.0] * 3, [0.0] * 3]
    rtorch.stack([rtorch.zeros(3), rtorch.ones(3)], out=o)
    assert o.tolist() == [[0.0] * 3, [1.0] * 3]


def test_out_dtype_rules() -> None:
    o = rtorch.zeros(3, dtype=rtorch.int64)
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Long"
    ):
        rtorch.add(rtorch.ones(3, dtype=rtorch.int64), 1.5, out=o)
    with pytest.raises(
        RuntimeError, match="result type Float can't be cast to the desired output type Int"
    ):
        rtorch.exp(rtorch.ones(3), out=rtorch.zeros(3, dtype=rtorch.int32))
    up = rtorch.zeros(3, dtype=rtorch.float64)
    rtorch.add(rtorch.ones(3), 1, out=up)
    assert up.dtype == rtorch.float64 and up.tolist() == [2.0] * 3
    down = rtorch.zeros(3)
    rtorch.add(rtorch.ones(3, dtype=rtorch.float64), 1, out=down)
    assert down.dtype == rtorch.float32 and down.tolist() == [2.0] * 3


def test_out_resize_warns_unless_empty() -> None:
    o = rtorch.zeros(2)
    with pytest.warns(UserWarning) as rec:
        r = rtorch.add(rtorch.ones(3), 1, out=o)
    assert RESIZED in str(rec[0].message)
    assert r is o and o.shape == (3,) and o.tolist() == [2.0] * 3
    e = rtorch.zeros(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rtorch.add(rtorch.ones(3), 1, out=e)
    assert e.tolist() == [2.0] * 3


def test_out_and_autograd() -> None:
    x = rtorch.ones(3, requires_grad=True)
    msg = r"add\(\): functions with out=... arguments don't support automatic differentiation"
    with pytest.raises(RuntimeError, match=msg):
        rtorch.add(x, 1, out=rtorch.zeros(3))
    with pytest.raises(RuntimeError, match=msg):
        rtorch.add(rtorch.ones(3), 1, out=rtorch.zeros(3, requires_grad=True))
    with rtorch.no_grad():
        o = rtorch.zeros(3)
        rtorch.add(x, 1, out=o)
    assert o.tolist() == [2.0] * 3 and not o.requires_grad


def test_out_keeps_its_strides() -> None:
    o = rtorch.zeros(3, 3).t()
    rtorch.add(rtorch.ones(3, 3), rtorch.arange(3.0), out=o)
    assert o.stride() == (1, 3)
    assert o.tolist() == [[1.0, 2.0, 3.0]] * 3


def test_out_overlap_rules() -> None:
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        rtorch.add(rtorch.ones(3, 4), 1, out=rtorch.zeros(4).expand(3, 4))
    with pytest.raises(RuntimeError, match="more than one element of the written-to tensor"):
        rtorch.cat([rtorch.ones(3), rtorch.ones(3)], out=rtorch.zeros(1).expand(6))
    a = rtorch.arange(5.0)
    with pytest.raises(
        RuntimeError, match="some elements of the input tensor and the written-to tensor"
    ):
        rtorch.add(a[:-1], 1, out=a[1:])
    with pytest.raises(
        RuntimeError, match="some elements of the input tensor and the written-to tensor"
    ):
        rtorch.neg(a[:-1], out=a[1:])
    assert a.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    b = rtorch.arange(6.0)
    with pytest.raises(
        RuntimeError, match="some elements of the input tensor and the written-to tensor"
    ):
        rtorch.cat([b[:3], b[:3]], out=b)
    # The very same tensor as input and output is fine.
    rtorch.add(a, 1, out=a)
    assert a.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_out_must_be_a_tensor() -> None:
    with pytest.raises(TypeError, match="argument 'out' must be Tensor"):
        rtorch.add(rtorch.ones(1), 1, out=[0.0])


def _np(t: rtorch.Tensor) -> np.ndarray:
    return t.numpy().astype(np.float64)


def _operands(seed: int, n: int) -> tuple[np.ndarray, np.ndarray, rtorch.Tensor, rtorch.Tensor]:
    """Two float32 normal vectors, as numpy arrays and as tensors."""
    rng = np.random.default_rng(seed)
    xn = rng.standard_normal(n).astype(np.float32)
    yn = rng.standard_normal(n).astype(np.float32)
    return xn, yn, rtorch.from_numpy(xn), rtorch.from_numpy(yn)


def test_out_written_directly_has_the_results_of_the_op() -> None:
    # A contiguous `out` at offset 0 that shares no memory with the inputs receives the
    # result without a temporary; everything else is copied. Each case against numpy.
    xn, yn, x, y = _operands(0, 70_000)
    o = rtorch.empty(70_000)
    v = o._version
    assert rtorch.add(x, y, out=o) is o
    np.testing.assert_array_equal(o.numpy(), xn + yn)
    assert o._version > v
    rtorch.exp(x, out=o)
    np.testing.assert_allclose(_np(o), np.exp(xn.astype(np.float64)), rtol=3e-7)
    # Composite ops whose intermediates have the output's shape.
    w = rtorch.from_numpy(np.random.default_rng(3).random(70_000).astype(np.float32))
    rtorch.lerp(x, y, w, out=o)
    want = xn.astype(np.float64) + w.numpy() * (yn.astype(np.float64) - xn)
    np.testing.assert_allclose(_np(o), want, rtol=1e-5, atol=1e-6)
    rtorch.addcmul(x, x, y, value=0.5, out=o)
    np.testing.assert_allclose(_np(o), xn + 0.5 * xn.astype(np.float64) * yn, rtol=1e-5, atol=1e-6)


def test_out_views_and_aliases_stay_correct() -> None:
    xn, yn, x, y = _operands(1, 1000)
    # The front of a larger tensor (offset 0): the rest is left alone.
    big = rtorch.zeros(2000)
    rtorch.mul(x, y, out=big[:1000])
    np.testing.assert_array_equal(big[:1000].numpy(), xn * yn)
    assert not big[1000:].numpy().any()
    # At an offset: written through the copy, the front left alone.
    rtorch.sub(x, y, out=big[1000:])
    np.testing.assert_array_equal(big[1000:].numpy(), xn - yn)
    np.testing.assert_array_equal(big[:1000].numpy(), xn * yn)
    # `out` is an input.
    a = x.clone()
    rtorch.add(a, y, out=a)
    np.testing.assert_array_equal(a.numpy(), xn + yn)
    b = y.clone()
    rtorch.lerp(x, b, 0.25, out=b)
    np.testing.assert_allclose(
        _np(b), xn + 0.25 * (yn.astype(np.float64) - xn), rtol=1e-5, atol=1e-6
    )
    # Transposed `out`; inputs whose result is laid out transposed.
    t = rtorch.zeros(20, 50).t()
    rtorch.exp(rtorch.from_numpy(xn.reshape(50, 20)), out=t)
    np.testing.assert_allclose(_np(t), np.exp(xn.reshape(50, 20).astype(np.float64)), rtol=3e-7)
    p, q = x.reshape(40, 25).t(), y.reshape(40, 25).t()
    po = rtorch.empty(25, 40)
    rtorch.add(p, q, out=po)
    np.testing.assert_array_equal(po.numpy(), (xn.reshape(40, 25) + yn.reshape(40, 25)).T)
    assert po.stride() == (40, 1)
    # A wider dtype.
    od = rtorch.empty(1000, dtype=rtorch.float64)
    rtorch.add(x, y, out=od)
    np.testing.assert_array_equal(od.numpy(), (xn + yn).astype(np.float64))


def test_out_left_alone_when_the_op_fails_on_autograd() -> None:
    g = rtorch.randn(10, requires_grad=True)
    o = rtorch.zeros(10)
    with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
        rtorch.exp(g, out=o)
    assert not o.numpy().any()


def test_out_that_is_the_input_matches_numpy() -> None:
    # `out` is the op's first input: computed in place, as PyTorch defines it.
    xn, yn, _, y = _operands(2, 5000)
    cases = [
        (lambda x: rtorch.add(x, y, alpha=2, out=x), xn + np.float32(2) * yn),
        (lambda x: rtorch.mul(x, 3, out=x), xn * np.float32(3)),
        (lambda x: rtorch.clamp(x, -0.5, 0.5, out=x), np.clip(xn, -0.5, 0.5)),
        (lambda x: rtorch.eq(x, x, out=x), np.ones_like(xn)),
        (lambda x: rtorch.lerp(x, y, 0.5, out=x), None),
        (lambda x: rtorch.exp(x, out=x), None),
    ]
    for op, want in cases:
        x = rtorch.from_numpy(xn.copy())
        v = x._version
        assert op(x) is x
        assert x._version > v
        if want is not None:
            np.testing.assert_array_equal(x.numpy(), want)
    x = rtorch.from_numpy(xn.copy())
    rtorch.lerp(x, y, 0.5, out=x)
    want = xn.astype(np.float64) + 0.5 * (yn.astype(np.float64) - xn)
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-6, atol=1e-7)
    x = rtorch.from_numpy(xn.copy())
    rtorch.exp(x, out=x)
    np.testing.assert_allclose(x.numpy(), np.exp(xn.astype(np.float64)), rtol=3e-7)


def test_out_that_is_the_input_keeps_out_rules() -> None:
    x = rtorch.ones(3, 1)
    with pytest.raises(
        RuntimeError, match=r"output with shape \[3, 1\] doesn't match the broadcast shape \[3, 4\]"
    ):
        rtorch.add(x, rtorch.ones(3, 4), out=x)
    xi = rtorch.ones(3, dtype=rtorch.int64)
    with pytest.raises(RuntimeError, match="result type Float can't be cast"):
        rtorch.add(xi, 1.5, out=xi)
    assert xi.tolist() == [1, 1, 1]
    g = rtorch.ones(3, requires_grad=True)
    h = rtorch.ones(3)
    for call in (lambda: rtorch.add(h, g, out=h), lambda: rtorch.add(g, 1, out=g)):
        with pytest.raises(RuntimeError, match="don't support automatic differentiation"):
            call()
    assert h.tolist() == [1.0] * 3 and g.tolist() == [1.0] * 3
    with rtorch.no_grad():
        rtorch.add(g, 1, out=g)
    assert g.tolist() == [2.0] * 3 and g.requires_grad and g.grad_fn is None
    xd = rtorch.ones(3)
    rtorch.add(xd, rtorch.ones(3, dtype=rtorch.float64), out=xd)
    assert xd.dtype == rtorch.float32 and xd.tolist() == [2.0] * 3
