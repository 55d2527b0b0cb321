"""PyTorch 2.15's rules for bool operands of subtraction, integer clamp bounds outside
the dtype's range, and the order statistics it does not define on bool (each checked
against PyTorch itself)."""

from __future__ import annotations

import pytest

import rtorch

A_BOOL = "with a bool tensor is not supported"
TWO_BOOL = "with two bool tensors is not supported"


def test_subtraction_with_any_bool_operand_is_not_implemented():
    b = rtorch.tensor([True, False])
    u = rtorch.tensor([148, 10], dtype=rtorch.uint8)
    f = rtorch.tensor([1.5, 2.0])
    for fn, msg in [
        (lambda: u - b, A_BOOL),
        (lambda: b - u, A_BOOL),
        (lambda: f - b, A_BOOL),
        (lambda: b - 3, A_BOOL),
        (lambda: 3 - b, A_BOOL),
        (lambda: u - True, A_BOOL),
        (lambda: True - u, A_BOOL),
        (lambda: rtorch.sub(f, b, alpha=2), A_BOOL),
        (lambda: u.clone().sub_(b), A_BOOL),
        (lambda: b - b, TWO_BOOL),
        (lambda: b - True, TWO_BOOL),
    ]:
        with pytest.raises(NotImplementedError, match=msg):
            fn()
    # Addition with bools is fine.
    assert (u + b).tolist() == [149, 10] and (b + True).tolist() == [True, True]


def test_integer_clamp_bounds_beyond_the_dtype():
    u = rtorch.tensor([148, 10], dtype=rtorch.uint8)
    assert u.clamp(min=-2).tolist() == [148, 10]
    assert u.clamp(max=1000).tolist() == [148, 10]
    assert u.clamp(-2, 300 - 200).tolist() == [100, 10]
    assert rtorch.tensor([5, -3], dtype=rtorch.int8).clamp(min=-200, max=200).tolist() == [5, -3]
    with pytest.raises(
        RuntimeError, match="Clamp min value 300 is outside the representable range of Byte"
    ):
        u.clamp(min=300)
    with pytest.raises(
        RuntimeError, match="Clamp max value -1 is outside the representable range of Byte"
    ):
        u.clamp(max=-1)
    with pytest.raises(
        RuntimeError, match="Clamp max value -129 is outside the representable range of Char"
    ):
        rtorch.tensor([1], dtype=rtorch.int8).clamp(max=-129)
    # In place too, and a float bound promotes instead.
    v = u.clone()
    v.clamp_(min=-5)
    assert v.tolist() == [148, 10]
    assert u.clamp(min=0.5).dtype == rtorch.float32


def test_order_statistics_refuse_bool():
    b = rtorch.tensor([True, False, True])
    with pytest.raises(NotImplementedError, match=r"argmax\(\): does not support bool input"):
        b.argmax()
    with pytest.raises(NotImplementedError, match=r"argmin\(\): does not support bool input"):
        b.argmin(0)
    with pytest.raises(NotImplementedError, match="\"median_cpu\" not implemented for 'Bool'"):
        b.median()
    with pytest.raises(NotImplementedError, match="\"median_out\" not implemented for 'Bool'"):
        b.median(0)
    with pytest.raises(NotImplementedError, match="\"kthvalue_cpu\" not implemented for 'Bool'"):
        b.kthvalue(1)
    # max, sort and mode are defined on bool.
    assert b.max().item() is True and b.sort().values.tolist() == [False, True, True]
    assert b.mode().values.item() is True


def test_sign_of_nan_and_negative_zero_is_zero():
    nan = float("nan")
    for dtype in (rtorch.float32, rtorch.float64, rtorch.float16, rtorch.bfloat16):
        s = rtorch.tensor([nan, -0.0, 0.0, -2.5, 3.0], dtype=dtype).sign()
        # (0 < x) - (x < 0): NaN compares false both ways; -0.0 gives +0.0.
        assert s.tolist() == [0.0, 0.0, 0.0, -1.0, 1.0]
        assert str(s[1].item()) == "0.0"
    assert rtorch.sgn(rtorch.tensor([nan])).tolist() == [0.0]
    assert rtorch.tensor([-3, 0, 7], dtype=rtorch.int8).sign().tolist() == [-1, 0, 1]


def test_unique_keeps_every_nan():
    nan = float("nan")
    v, inv, cnt = rtorch.unique(
        rtorch.tensor([nan, 1.0, nan, 1.0]), return_inverse=True, return_counts=True
    )
    assert str(v.tolist()) == "[1.0, nan, nan]"
    assert inv.tolist() == [1, 0, 2, 0] and cnt.tolist() == [2, 1, 1]


def test_digamma_at_signed_zeros():
    d = rtorch.tensor([0.0, -0.0, -1.0]).digamma().tolist()
    assert d[0] == float("-inf") and d[1] == float("inf") and d[2] != d[2]


def test_linalg_cross_and_narrow_copy():
    a = rtorch.tensor([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    b = rtorch.tensor([[0.0, 1.0, 0.0]])
    assert rtorch.linalg.cross(a, b).tolist() == [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    with pytest.raises(RuntimeError, match="same number of dimensions"):
        rtorch.linalg.cross(a, b[0])
    with pytest.raises(RuntimeError, match="must have length 3"):
        rtorch.linalg.cross(a.t(), a.t())
    x = rtorch.arange(6).view(2, 3)
    y = x.narrow_copy(1, 1, 2)
    assert y.tolist() == [[1, 2], [4, 5]] and y.is_contiguous()
    y[0, 0] = 9
    assert x[0, 1].item() == 1  # a copy, not a view
    assert rtorch.narrow_copy(x, 0, 1, 1).tolist() == [[3, 4, 5]]
