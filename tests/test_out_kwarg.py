"""`out=` on module functions, with PyTorch 2.15's rules (checked case by case)."""

from __future__ import annotations

import warnings

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
